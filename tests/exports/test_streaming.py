"""A large export is streamed: read in chunks, sent in chunks, never held whole in memory."""

import contextlib
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import openpyxl
import orjson
import pytest
from sqlalchemy import Engine, insert
from sqlmodel import Session

from backend.config import Settings
from backend.exports.datasets import DATASETS, Format, Scope
from backend.exports.service import CHUNK, open_export
from backend.exports.views import SLOTS
from backend.positions.models import OfficerPosition
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, person_token

pytestmark = pytest.mark.slow
N = 200_000
T0 = datetime(2024, 11, 27, 0, 0, tzinfo=UTC)
MiB = 1024 * 1024


def _fill(engine: Engine, mini: MiniRegistry) -> None:
    """N position fixes, spread over the mini registry's four officers."""
    per = N // len(mini.officer_ids)
    with Session(engine) as s:
        for officer in mini.officer_ids:
            for start in range(0, per, 20_000):
                s.execute(
                    insert(OfficerPosition),
                    [
                        {
                            "officer_id": officer,
                            "device_time": T0 + timedelta(seconds=i),
                            "lat": -4.3 + i * 1e-6,
                            "lon": 104.3,
                            "received_at": T0 + timedelta(seconds=i, milliseconds=900),
                            "accuracy_m": 5.0,
                            "battery": 50.0,
                            "source": "traccar",
                        }
                        for i in range(start, min(start + 20_000, per))
                    ],
                )
        s.commit()


@pytest.fixture
def big(engine: Engine, mini: MiniRegistry) -> Engine:
    """The mini registry with N position fixes."""
    _fill(engine, mini)
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


def test_exp021_the_api_sends_a_large_export_in_many_chunks(
    big: Engine, mini: MiniRegistry, settings: Settings
) -> None:
    srv: LiveServer = start_server(settings.model_copy(update={"sweep_interval_s": 3600.0}))
    try:
        tok = person_token(big)
        for fmt in ("csv", "geojson"):
            pieces: list[int] = []
            body = bytearray()
            with httpx.stream(
                "GET",
                f"{srv.url}/api/v1/exports/positions.{fmt}",
                headers={"Authorization": f"Bearer {tok}", "Accept-Encoding": "identity"},
                timeout=120,
            ) as r:
                assert r.status_code == 200
                assert "content-length" not in r.headers  # streamed, not buffered first
                for piece in r.iter_raw():
                    pieces.append(len(piece))
                    body += piece
            assert len(pieces) >= N // CHUNK, len(pieces)
            if fmt == "csv":
                assert body.count(b"\r\n") == N + 1
            else:
                assert len(orjson.loads(body)["features"]) == N
        _busy_then_free(srv.url, tok)
    finally:
        srv.stop()


def _busy_then_free(url: str, tok: str) -> None:
    """SLOTS exports held open make the next one a 429; hanging up frees every slot."""
    auth = {"Authorization": f"Bearer {tok}", "Accept-Encoding": "identity"}
    readers: list[Iterator[bytes]] = []  # kept: a dropped iterator closes its connection
    with contextlib.ExitStack() as held:
        for _ in range(SLOTS):
            client = held.enter_context(httpx.Client(timeout=60))
            # GeoJSON: ~74 MB, more than the socket buffers hold (up to 32 + 4 MiB here).
            r = held.enter_context(
                client.stream("GET", f"{url}/api/v1/exports/positions.geojson", headers=auth)
            )
            assert r.status_code == 200
            readers.append(r.iter_raw())
            next(readers[-1])  # started, then not read: the server waits on a full socket
        r = httpx.get(f"{url}/api/v1/exports/tps.csv", headers=auth, timeout=60)
        assert r.status_code == 429 and r.json()["detail"]["field"] == "dataset"
        assert r.headers["retry-after"] == "60"
    # Hung up mid-file: the snapshots are closed and the slots freed (soon after).
    deadline = time.monotonic() + 30
    while (
        r := httpx.get(f"{url}/api/v1/exports/tps.csv", headers=auth, timeout=60)
    ).status_code == 429:
        assert time.monotonic() < deadline, "slots not freed after the readers hung up"
        time.sleep(0.2)
    assert r.status_code == 200
    for _ in range(2 * SLOTS):  # and stay free, however many hang up
        with httpx.stream(
            "GET", f"{url}/api/v1/exports/positions.geojson", headers=auth, timeout=60
        ) as r:
            next(r.iter_raw())
    deadline = time.monotonic() + 30
    while (
        r := httpx.get(f"{url}/api/v1/exports/tps.csv", headers=auth, timeout=60)
    ).status_code == 429:
        assert time.monotonic() < deadline, "slots not freed after the readers hung up"
        time.sleep(0.2)
    assert r.status_code == 200
