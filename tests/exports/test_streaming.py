"""A large export is read and written in chunks, never held whole in memory."""

import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine

from backend.exports.datasets import DATASETS, Format, Scope
from backend.exports.service import CHUNK, open_export
from tests.exports.large import T0, N, fill_positions
from tests.factories import MiniRegistry

pytestmark = pytest.mark.slow(cost_s=60)
MiB = 1024 * 1024


@pytest.fixture
def big(engine: Engine, mini: MiniRegistry) -> Engine:
    """The mini registry with N position fixes."""
    fill_positions(engine, mini)
    return engine


@pytest.mark.timeout(900)
def test_exp020_a_200k_row_export_holds_a_bounded_amount_of_memory(
    big: Engine, tmp_path: Path
) -> None:
    spec = DATASETS["positions"]
    now = datetime.now(UTC)
    # tracemalloc slows every allocation ~10x: CSV over all N rows, GeoJSON and XLSX (the
    # slower writers) over a quarter of them: 50k rows held would be ~60 MiB of Python objects.
    quarter = Scope(until=T0 + timedelta(seconds=N // 16))
    for fmt, scope, rows in (
        (Format.CSV, Scope(), N),
        (Format.GEOJSON, quarter, N // 4),
        (Format.XLSX, quarter, N // 4),
    ):
        export = open_export(
            engine=big, spec=spec, fmt=fmt, scope=scope, actor="t", via="test", now=now
        )
        assert export.rows == rows
        tracemalloc.start()
        try:
            if fmt is Format.XLSX:
                path = tmp_path / "p.xlsx"
                export.write_xlsx(path)
                size = path.stat().st_size
            else:
                size = chunks = 0
                for chunk in export.chunks():
                    size += len(chunk)
                    chunks += 1
                assert chunks >= rows // CHUNK  # one per chunk of rows read
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # The file is MiBs; the export holds a few chunks' worth, whatever the rows.
        assert size > 1 * MiB, (fmt, size)
        assert peak < 12 * MiB, f"{fmt}: peak {peak / MiB:.1f} MiB for a {size / MiB:.0f} MiB file"
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        assert book.worksheets[0].max_row == N // 4 + 1
    finally:
        book.close()
