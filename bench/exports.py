"""Exports: rows/s per format, against a raw SELECT of the same rows in the same run.

    python -m bench.exports [--quick]

A fresh SQLite file (and, when it answers, a fresh PostgreSQL database) holding the mini
registry and N officers' position fixes (200,000; --quick 20,000): the largest dataset of an
election day. Each format is exported whole through `backend.exports.service` (one snapshot,
count, audit, rows read CHUNK at a time), bytes discarded as they come (XLSX: the file
written), best of 3 runs (--quick: 1), and divided by the rows.

Baseline in the same run, on the same database: the export's own SELECT with the same
`yield_per` streaming, every row fetched and nothing written: what reading costs. The ratio
is the share of that speed an export keeps; what is missing is formatting the rows.
"""

import argparse
import contextlib
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert
from sqlmodel import Session

from backend.config import Settings
from backend.db import make_engine
from backend.exports.datasets import DATASETS, Format, Scope
from backend.exports.service import CHUNK, open_export
from backend.migrate import upgrade
from backend.positions.models import OfficerPosition
from bench.figures import Figure
from tests.conftest import TEST_SECRET
from tests.databases import fresh_pg_database, pg_available
from tests.factories import seed_mini

SUITE = "exports"
T0 = datetime(2024, 11, 27, 0, 0, tzinfo=UTC)
# Each format's share of the raw read's speed it must keep (a regression guard, not a claim).
TARGET = {Format.CSV: 0.15, Format.GEOJSON: 0.15, Format.XLSX: 0.02}


def _fill(engine: Engine, n: int) -> None:
    """The mini registry and n fixes over its four officers."""
    fill_positions(engine, seed_mini(engine).officer_ids, n)


def fill_positions(engine: Engine, officer_ids: list[int], n: int) -> None:
    """n position fixes from T0, one a second, spread over the officers (also the tests' data)."""
    per = n // len(officer_ids)
    with Session(engine) as s:
        for officer in officer_ids:
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


@contextlib.contextmanager
def _databases(work: Path) -> Iterator[list[tuple[str, str]]]:
    """(label, URL): SQLite always, PostgreSQL when it answers."""
    urls = [("SQLite", f"sqlite:///{work / 'exports.db'}")]
    with contextlib.ExitStack() as stack:
        if pg_available():
            urls.append(("PostgreSQL", stack.enter_context(fresh_pg_database())))
        yield urls


def _raw(engine: Engine) -> int:
    """The baseline: the export's SELECT, streamed the same way, rows fetched, nothing written."""
    q = DATASETS["positions"].query(Scope())
    n = 0
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(q)
        for part in result.partitions():
            n += len(part)
    return n


def _export(engine: Engine, fmt: Format, work: Path) -> tuple[int, int]:
    """(rows, bytes) of one whole export of the positions."""
    export = open_export(
        engine=engine,
        spec=DATASETS["positions"],
        fmt=fmt,
        scope=Scope(),
        actor="bench",
        via="bench",
        now=datetime.now(UTC),
    )
    if fmt is Format.XLSX:
        path = work / "positions.xlsx"
        export.write_xlsx(path)
        size = path.stat().st_size
        path.unlink()
        return export.rows, size
    return export.rows, sum(len(c) for c in export.chunks())


def _best(runs: int, fn: Any) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def measure(quick: bool) -> list[Figure]:
    """Throughput per format and database, each beside the raw read of the same rows."""
    n = 20_000 if quick else 200_000
    runs = 1 if quick else 3
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as tmp:
        work = Path(tmp)
        with _databases(work) as urls:
            for label, url in urls:
                settings = Settings(_env_file=None, database_url=url, secret_key=TEST_SECRET)  # type: ignore[call-arg]
                engine = make_engine(settings)
                try:
                    upgrade(engine)
                    _fill(engine, n)
                    raw_s, got = _best(runs, lambda e=engine: _raw(e))
                    assert got == n, (got, n)
                    raw_rate = n / raw_s
                    for fmt in Format:
                        secs, (rows, size) = _best(
                            runs, lambda e=engine, f=fmt: _export(e, f, work)
                        )
                        assert rows == n, (fmt, rows)
                        rate = n / secs
                        figures.append(
                            Figure(
                                suite=SUITE,
                                name=f"positions {fmt.value}, {label}",
                                value=rate,
                                unit="rows/s",
                                baseline=f"raw SELECT, same rows (yield_per {CHUNK}), {label}",
                                baseline_value=raw_rate,
                                target=f"≥ {TARGET[fmt]:.2f} x raw read",
                                met=rate >= TARGET[fmt] * raw_rate,
                                note=f"{n:,} rows, {size / n:.0f} B/row, {size / 2**20:.1f} MiB, "
                                f"best of {runs}",
                            )
                        )
                finally:
                    engine.dispose()
    return figures


def run(quick: bool) -> list[Figure]:
    """The suite's entry point for bench/run.py."""
    return measure(quick)


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    for f in run(args.quick):
        ratio = f.value / f.baseline_value if f.baseline_value else float("nan")
        print(
            f"{f.name}: {f.value:,.0f} {f.unit} (raw read {f.baseline_value:,.0f}/s, "
            f"{ratio:.2f} x) {f.note}"
        )


if __name__ == "__main__":
    main()
