"""The sweeper's read with the boxes on their way: what custody adds to `load_facts`.

    python -m bench.custody [--quick]

A fresh SQLite file holding the OKU Timur registry (1,012 TPS, 298 officers) at the night's
busiest moment: every TPS's boxes somewhere between sealed and handed over (a quarter at each
step, none with its berita acara yet, so every box is still read), each box on the road with an
escort whose tracker sent a fix every 10 s for the last half hour (Traccar Client's default).
The figure is the best of N reads of the sweeper's facts (`alerts/service.py: load_facts`); the
baseline, in the same run, is the same read with the custody facts left out (a sweep's read
before issue 14).
"""

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from backend.alerts import service as alerts
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from backend.registry.build import build_registry
from backend.registry.service import write_registry
from bench.figures import Figure

NOW = datetime(2024, 11, 27, 14, 0, tzinfo=UTC)  # 21:00 WIB
STEPS = ("segel", "berangkat", "tiba", "serah_terima")


def _prepare(db: Path) -> int:
    """The registry and the night's custody steps and escorts' fixes; return the steps."""
    engine = make_engine(Settings(_env_file=None, database_url=f"sqlite:///{db}"))  # type: ignore[call-arg]
    upgrade(engine)
    with Session(engine) as s:
        write_registry(session=s, registry=build_registry(seed=2024))
        s.commit()
    with engine.begin() as c:
        tps = c.execute(
            text(
                "SELECT t.id, t.code, t.kecamatan_code, t.kabupaten_code, t.lat, t.lon, "
                "min(a.officer_id) FROM tps t JOIN assignment a ON a.tps_id = t.id "
                "GROUP BY t.id, t.code, t.kecamatan_code, t.kabupaten_code, t.lat, t.lon"
            )
        ).all()
        nrp = dict(c.execute(text("SELECT id, nrp FROM officer")).all())
        steps, fixes = [], []
        last: dict[int, dict[str, object]] = {}
        for i, (tid, code, kec, kab, lat, lon, oid) in enumerate(tps):
            done = STEPS[: 1 + i % 4]
            for j, step in enumerate(done):
                at = (NOW - timedelta(minutes=60 - 15 * j)).strftime("%Y-%m-%d %H:%M:%S.%f")
                steps.append(
                    {
                        "e": uuid.uuid4().hex,
                        "tid": tid,
                        "code": code,
                        "kec": kec,
                        "kab": kab,
                        "step": step,
                        "at": at,
                        "o": oid,
                        "escorts": f'["{nrp[oid]}"]' if step == "berangkat" else None,
                        "name": "Siti" if step == "serah_terima" else None,
                    }
                )
            if len(done) in (2, 3):  # on the road: the escort's tracker, a fix every 10 s
                for k in range(180):
                    at = (NOW - timedelta(seconds=1800 - 10 * k)).strftime("%Y-%m-%d %H:%M:%S.%f")
                    fixes.append({"o": oid, "at": at, "lat": lat + k * 2e-5, "lon": lon})
                last[oid] = fixes[-1]
        c.execute(
            text(
                "INSERT INTO custody_event (event_id, tps_id, tps_code, kecamatan_code, "
                "kabupaten_code, step, device_time, received_at, officer_id, escort_nrps, "
                "receiver_name, flags, source) VALUES (:e, :tid, :code, :kec, :kab, :step, :at, "
                ":at, :o, :escorts, :name, 0, 'ws')"
            ),
            steps,
        )
        c.execute(
            text(
                "INSERT OR IGNORE INTO officer_position (officer_id, device_time, lat, lon, "
                "received_at, source) VALUES (:o, :at, :lat, :lon, :at, 'traccar')"
            ),
            fixes,
        )
        c.execute(
            text(
                "INSERT OR REPLACE INTO officer_last_fix (officer_id, device_time, received_at, "
                "lat, lon, source) VALUES (:o, :at, :at, :lat, :lon, 'traccar')"
            ),
            list(last.values()),
        )
    engine.dispose()
    return len(steps)


def measure(quick: bool) -> tuple[float, float, int, int]:
    """Best read with and without the custody facts (seconds), steps stored, boxes read."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "posko.db"
        n_steps = _prepare(db)
        engine = make_engine(Settings(_env_file=None, database_url=f"sqlite:///{db}"))  # type: ignore[call-arg]
        real = alerts._custody_facts
        best = {"with": float("inf"), "without": float("inf")}
        boxes = 0
        try:
            with Session(engine) as s:
                for _ in range(5 if quick else 30):
                    for name in best:  # interleaved: both see the same machine
                        alerts._custody_facts = real if name == "with" else (lambda *_: [])  # type: ignore[assignment]
                        started = time.perf_counter()
                        facts = alerts.load_facts(
                            session=s, now=NOW, listening_since=NOW, intake_stalled=False
                        )
                        best[name] = min(best[name], time.perf_counter() - started)
                        boxes = max(boxes, len(facts.custody))
        finally:
            alerts._custody_facts = real
            engine.dispose()
    return best["with"], best["without"], n_steps, boxes


def run(quick: bool) -> list[Figure]:
    """The suite's entry point for bench/run.py."""
    with_c, without, n_steps, boxes = measure(quick)
    return [
        Figure(
            suite="custody",
            name="sweeper's read of the facts, 1,012 TPS, every box in custody",
            value=round(with_c * 1000, 1),
            unit="ms",
            baseline="the same read without the custody facts",
            baseline_value=round(without * 1000, 1),
            note=f"{boxes} boxes, {n_steps} custody steps, escorts' fixes every 10 s; best of "
            f"{5 if quick else 30}, SQLite",
        )
    ]


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    for f in run(args.quick):
        print(f"{f.name}: {f.value} {f.unit} (baseline {f.baseline_value} {f.unit}) {f.note}")


if __name__ == "__main__":
    main()
