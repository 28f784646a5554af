"""Live dashboards per node: intake throughput with 0 and with 200 /ws/live subscribers.

One `posko serve` on a copy of the prepared database; the same websocket load runs in windows
that alternate without and with 200 subscribers (in a separate process that reads every frame
and checks that each subscriber saw every sequence number, in order, without a resync).
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import Figure
from bench.intake import WS_SHAPES, Sizes
from bench.load import Run, durability_note, posko_server, python_env, run_load
from bench.prep import copy_sqlite, shared_sqlite
from tests.scale.conftest import REPO

SUBSCRIBERS = 200


def run(quick: bool) -> list[Figure]:
    """Measure intake with and without live subscribers."""
    sizes = Sizes.of(quick)
    name, load = WS_SHAPES[3]  # 200 connections, frames of 20
    prepared = shared_sqlite(sizes.history)
    without: list[Run] = []
    with_subs: list[Run] = []
    subs_out: list[dict[str, int]] = []
    with tempfile.TemporaryDirectory(prefix="posko-bench-") as tmp:
        work = Path(tmp)
        db = copy_sqlite(prepared, work / "subs.db")
        with posko_server(db, work) as node:
            for _ in range(sizes.runs):
                without.append(
                    run_load(
                        node.ws_url,
                        db,
                        prepared.devices_json(),
                        load,
                        seconds=sizes.seconds,
                        warmup=sizes.warmup,
                    )
                )
                cfg = {
                    "url": node.ws_url,
                    "token": prepared.viewer_token,
                    "subscribers": SUBSCRIBERS,
                }
                proc = subprocess.Popen(
                    [sys.executable, "-m", "bench.livesub", json.dumps(cfg)],
                    cwd=REPO,
                    env=python_env(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert proc.stdin is not None and proc.stdout is not None
                try:
                    if proc.stdout.readline().strip() != "ready":
                        raise RuntimeError("live subscribers did not connect")
                    with_subs.append(
                        run_load(
                            node.ws_url,
                            db,
                            prepared.devices_json(),
                            load,
                            seconds=sizes.seconds,
                            warmup=sizes.warmup,
                        )
                    )
                    time.sleep(1.0)  # the last deltas reach the screens
                    proc.stdin.write("stop\n")
                    proc.stdin.flush()
                    subs_out.append(json.loads(proc.stdout.readline()))
                finally:
                    proc.stdin.close()
                    proc.wait(timeout=30)
    base = statistics.median(r.rate for r in without)
    value = statistics.median(r.rate for r in with_subs)
    complete = min(s["complete"] for s in subs_out)
    frames = sum(s["frames"] for s in subs_out)
    gaps = sum(s["gaps"] for s in subs_out)
    resyncs = sum(s["resyncs"] for s in subs_out)
    resynced = max(s["resynced"] for s in subs_out)
    behind = max(s["behind"] for s in subs_out)
    return [
        Figure(
            suite="subscribers",
            name=f"intake with {SUBSCRIBERS} /ws/live subscribers ({name}, SQLite)",
            value=value,
            unit="pings/s",
            baseline="the same load with no subscriber",
            baseline_value=base,
            target="≥ 0.9 x without (within 10 %)",
            met=value >= 0.9 * base,
            note=f"{load.describe()}; 1 subscriber process; windows alternate without/with, "
            f"median of {len(with_subs)}; {durability_note(without + with_subs)}",
        ),
        Figure(
            suite="subscribers",
            name="subscribers with no silent gap (every sequence number, or told to resync)",
            value=float(complete),
            unit=f"of {SUBSCRIBERS}",
            target=f"{SUBSCRIBERS} of {SUBSCRIBERS}",
            met=complete == SUBSCRIBERS,
            note=f"worst window; {frames:,} frames delivered in all; {gaps} silent gaps; "
            f"{resyncs} resyncs (up to {resynced} screens in a window: their queue of "
            "512 frames overflowed, as designed for a screen that reads too slowly); up to "
            f"{behind} screens still behind the last sequence number 1 s after the load",
        ),
    ]
