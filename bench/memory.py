"""Memory: RSS of `posko serve` with 1,012 / 15,000 / 100,000 TPS registered and live.

Each size gets its own SQLite file with the registry written by backend.registry.service
(OKU Timur for 1,012; the national generator's provinces, cut to N TPS, for the larger ones).
The server's RSS is read after startup, then after a window of live load in which phones ping
every TPS in turn (so every TPS has a state in memory and on the wall's stream). Baseline: the
same server with an empty registry, after the same time.
"""

import sqlite3
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from backend.db import make_engine
from backend.migrate import upgrade
from backend.registry.build import build_registry
from backend.registry.records import Registry
from bench.figures import Figure
from bench.load import Load, posko_server, rss_mib, run_load
from bench.prep import bench_settings, prepare_sqlite

# Provinces whose TPS (in the national generator) add up to more than 100,000.
LARGE_PROVINCES = ["32", "35", "33", "36", "31", "34", "16"]


def registry_of(n: int) -> Registry:
    """A registry of exactly n TPS (1,012: OKU Timur as it is)."""
    if n == 1012:
        return build_registry(seed=2024)
    from backend.registry.national import build_national

    provinces = ["16"] if n <= 17_000 else LARGE_PROVINCES
    full = build_national(provinces=provinces)
    if len(full.tps) < n:
        raise RuntimeError(f"only {len(full.tps)} TPS in provinces {provinces}")
    tps = full.tps[:n]
    kept = {t.code for t in tps}
    assignments = tuple(a for a in full.assignments if a.tps_code in kept)
    nrps = {a.nrp for a in assignments}
    officers = tuple(o for o in full.officers if o.nrp in nrps)
    return replace(full, tps=tps, assignments=assignments, officers=officers)


def distinct_tps_pinged(url: str) -> int:
    """TPS that have at least one stored ping."""
    conn = sqlite3.connect(url.split("///", 1)[1], timeout=30)
    try:
        return int(conn.execute("SELECT count(DISTINCT tps_id) FROM ping").fetchone()[0])
    finally:
        conn.close()


def run(quick: bool) -> list[Figure]:
    """RSS after startup and after live load, per registry size."""
    seconds = 2.0 if quick else 60.0
    window = 2.0 if quick else 30.0
    sizes = [1012] if quick else [1012, 15_000, 100_000]
    figs: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="posko-bench-mem-") as tmp:
        work = Path(tmp)
        empty = f"sqlite:///{work / 'empty.db'}"
        engine = make_engine(bench_settings(empty))
        upgrade(engine)
        engine.dispose()
        with posko_server(empty, work) as node:
            base_start = rss_mib(node.proc.pid)
            time.sleep(seconds)
            base = rss_mib(node.proc.pid)
        for n in sizes:
            t0 = time.perf_counter()
            prepared = prepare_sqlite(
                work / f"mem-{n}.db", history=0, registry=registry_of(n), per_kabupaten=True
            )
            build_s = time.perf_counter() - t0
            devices = prepared.devices_json()  # one phone per kabupaten, each on all its TPS
            rejected = 0
            stored = 0
            windows = 0
            durable = True
            with posko_server(prepared.url, work) as node:
                started = rss_mib(node.proc.pid)
                # Windows of live load until every TPS was pinged (first pings of a TPS cost
                # more than later ones: a new state, a transition, an audit record) and at
                # least `seconds` passed, at most 6 windows.
                while True:
                    r = run_load(
                        node.ws_url,
                        prepared.url,
                        devices,
                        Load("ws", "/ws/field", len(devices), 100, 2, 2),
                        seconds=window,
                        warmup=0.0,
                        cycle=True,
                    )
                    stored += r.stored_total
                    rejected += r.rejected
                    durable = durable and r.durable
                    windows += 1
                    pinged = distinct_tps_pinged(prepared.url)
                    if windows >= 6 or (pinged == n and windows * window >= seconds):
                        break
                after = rss_mib(node.proc.pid)
            load_s = windows * window
            every = "every TPS pinged" if pinged == n else f"only {pinged:,} of {n:,} TPS pinged"
            figs.append(
                Figure(
                    suite="memory",
                    name=f"{n:,} TPS, after startup",
                    value=started,
                    unit="MiB",
                    baseline="empty registry, after startup",
                    baseline_value=base_start,
                    note=f"registry built and written in {build_s:.0f} s",
                )
            )
            figs.append(
                Figure(
                    suite="memory",
                    name=f"{n:,} TPS, after ≥ {seconds:.0f} s of live load",
                    value=after,
                    unit="MiB",
                    baseline=f"empty registry, after {seconds:.0f} s",
                    baseline_value=base,
                    note=f"{stored:,} pings stored in {load_s:.0f} s ({stored / load_s:,.0f}/s, "
                    f"{len(devices)} phones (one per kabupaten), frames of 100, each TPS in turn, "
                    f"{rejected} rejected); {every}"
                    + ("; acks = new rows ✓" if durable else "; ACKS != NEW ROWS"),
                )
            )
    return figs
