"""National scale on PostgreSQL: seed 435,296 TPS with COPY, then time what a national wall asks.

    python -m bench.national [--database-url URL] [--keep]

Without --database-url a fresh database is created on POSKO_BENCH_PG_URL (default: the test
server) and dropped afterwards. Steps: build the registry, write it (COPY), give every TPS a
mid-day state, then time each query (median of 5) directly and through a running node's HTTP
API. Prints markdown for bench/national.md.
"""

import argparse
import random
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
from sqlalchemy import Engine, text
from sqlmodel import Session

from backend.db import make_engine
from backend.migrate import upgrade
from backend.registry.build import Scale, build_registry
from backend.registry.service import write_registry
from backend.tps.index import RegistryIndex
from backend.tps.rollup import check, count_by_area, rebuild
from backend.tps.service import list_views, summary
from bench.prep import bench_settings
from schemas.enums import Role
from tests.conftest import fresh_pg_database
from tests.factories import person_token
from tests.scale.conftest import node_env, start_node

# A plausible 11:00 on election day: most TPS voting, some still preparing, a few in trouble.
MIDDAY = [
    (("pemungutan", "aman"), 0.80),
    (("persiapan", "aman"), 0.08),
    ((None, None), 0.05),
    (("pemungutan", "waspada"), 0.05),
    (("pemungutan", "gangguan"), 0.01),
    (("ditunda", "gangguan"), 0.01),
]


def timed(fn: Callable[[], Any], runs: int = 5) -> float:
    """Median wall time of `runs` calls, in milliseconds."""
    fn()  # warm caches and plans
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def midday(engine: Engine) -> float:
    """Give every TPS a mid-day state, rebuild the rollup; return seconds."""
    t0 = time.perf_counter()
    with engine.begin() as c:
        ids = [r[0] for r in c.execute(text("SELECT tps_id FROM tps_state ORDER BY tps_id"))]
        rng = random.Random(11)
        states = rng.choices([s for s, _ in MIDDAY], weights=[w for _, w in MIDDAY], k=len(ids))
        c.execute(text("CREATE TEMP TABLE mid (tps_id int, phase text, situation text)"))
        dbapi = c.connection.driver_connection
        assert dbapi is not None
        with dbapi.cursor() as cur, cur.copy("COPY mid FROM STDIN") as copy:
            for tps_id, (phase, situation) in zip(ids, states, strict=True):
                copy.write_row((tps_id, phase, situation))
        c.execute(
            text(
                "UPDATE tps_state s SET phase = m.phase, situation = m.situation, "
                "phase_rank = CASE m.phase WHEN 'persiapan' THEN 1 WHEN 'pemungutan' THEN 2 "
                "ELSE -1 END FROM mid m WHERE m.tps_id = s.tps_id"
            )
        )
    with Session(engine) as s:
        rebuild(session=s)
        s.commit()
    with engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE tps_state, tps_rollup")
        )
    return time.perf_counter() - t0


def main() -> None:
    """Seed, measure, print."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url")
    ap.add_argument("--skip-seed", action="store_true", help="reuse a seeded --database-url")
    args = ap.parse_args()
    rows: list[tuple[str, str]] = []
    with ExitStack() as stack:
        url = args.database_url or stack.enter_context(fresh_pg_database())
        engine = make_engine(bench_settings(url))
        stack.callback(engine.dispose)
        upgrade(engine)
        if not args.skip_seed:
            t0 = time.perf_counter()
            registry = build_registry(scale=Scale.NATIONAL)
            t1 = time.perf_counter()
            with Session(engine) as s:
                write_registry(session=s, registry=registry, erase_election_data=True)
            t2 = time.perf_counter()
            n_rows = (
                sum(
                    len(x)
                    for x in (registry.regions, registry.units, registry.tps, registry.officers)
                )
                + len(registry.tps)
                + len(registry.assignments)
            )
            rows.append(("build 435,296 TPS, 128k officers (Python)", f"{t1 - t0:.1f} s"))
            rows.append((f"write {n_rows:,} rows (COPY, one transaction)", f"{t2 - t1:.1f} s"))
            del registry
        rows.append(("mid-day states + rollup rebuild", f"{midday(engine):.1f} s"))

        def direct() -> None:
            with engine.connect() as c:
                c.execute(
                    text(
                        "SELECT t.province_code, s.phase, s.situation, count(*) FROM tps t "
                        "JOIN tps_state s ON s.tps_id = t.id GROUP BY 1, 2, 3"
                    )
                ).all()

        def rollup(level: str, area: str | None) -> Callable[[], object]:
            def run() -> object:
                with Session(engine) as s:
                    return count_by_area(session=s, level=level, area_code=area)

            return run

        def summary_of(area: str | None) -> Callable[[], object]:
            def run() -> object:
                with Session(engine) as s:
                    return summary(session=s, area_code=area)

            return run

        def tps_of(area: str) -> Callable[[], object]:
            def run() -> object:
                with Session(engine) as s:
                    return list_views(session=s, area_code=area)

            return run

        recount = timed(lambda: check(engine), 3)
        rows += [
            ("per province, GROUP BY tps JOIN tps_state (no rollup)", f"{timed(direct):.0f} ms"),
            ("rollup: 38 provinces", f"{timed(rollup('province', None)):.1f} ms"),
            ("rollup: 514 kabupaten", f"{timed(rollup('kabupaten', None)):.1f} ms"),
            ("rollup: kabupaten of Jawa Barat", f"{timed(rollup('kabupaten', '32')):.1f} ms"),
            ("rollup: kecamatan of OKU Timur", f"{timed(rollup('kecamatan', '16.08')):.1f} ms"),
            ("summary: 7,285 kecamatan (national)", f"{timed(summary_of(None)):.0f} ms"),
            ("summary: OKU Timur", f"{timed(summary_of('16.08')):.1f} ms"),
            ("TPS list with state: OKU Timur (1,012)", f"{timed(tps_of('16.08')):.0f} ms"),
            ("rollup check (full recount, leased job)", f"{recount:.0f} ms"),
        ]
        index = RegistryIndex()
        t0 = time.perf_counter()
        with Session(engine) as s:
            index.load(s)
        rows.append(("registry index load (435k TPS)", f"{time.perf_counter() - t0:.1f} s"))
        del index

        logs = Path(stack.enter_context(TemporaryDirectory()))
        t0 = time.perf_counter()
        node = start_node(node_env(url), logs)
        stack.callback(node.stop)
        rss = next(
            int(line.split()[1]) // 1024
            for line in Path(f"/proc/{node.proc.pid}/status").read_text().splitlines()
            if line.startswith("VmRSS")
        )
        rows.append(
            ("node start on the national registry", f"{time.perf_counter() - t0:.1f} s, {rss} MiB")
        )
        national = person_token(engine, Role.VIEWER)
        polres = person_token(engine, Role.VIEWER, area="16.08")

        def get(path: str, token: str) -> Callable[[], object]:
            def run() -> object:
                r = httpx.get(node.url + path, headers={"authorization": f"Bearer {token}"})
                r.raise_for_status()
                return r

            return run

        for path, token in (
            ("/api/v1/rollup", national),
            ("/api/v1/rollup?level=kabupaten", national),
            ("/api/v1/rollup?level=kabupaten&area=32", national),
            ("/api/v1/rollup?level=kecamatan&area=16.08", national),
            ("/api/v1/summary", national),
            ("/api/v1/summary", polres),
            ("/api/v1/snapshot", polres),
            ("/api/v1/tps", polres),
        ):
            who = "national" if token is national else "Polres OKU Timur"
            rows.append((f"GET {path} ({who})", f"{timed(get(path, token)):.0f} ms"))
    print("| step | result |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
