"""Replay: seek to a moment of the OKU Timur election day, and the national rollups at a moment.

    python -m bench.replay [--quick] [--national]

The day: a fresh SQLite file with the seeded OKU Timur registry (1,012 TPS, 298 officers), and
the simulator's whole election day (backend/simulate/plan.py, seed 2024: every phone's pings and
incident reports, late buffers and retries) stored through the real intake (`Checker` and
`store_batch`, one group commit per simulated minute at that minute's clock) with the alert
sweep every 5 simulated minutes. `--quick` keeps a tenth of the officers and sweeps every 30
simulated minutes.

- Seek: `state_at` for the kabupaten at random moments of the day (07:00-15:00 WIB), what
  `GET /api/v1/replay/snapshot` does; p50 and p95. Baseline in the same run: the live snapshot's
  reads (`list_views`, open incidents, open alerts). Target: p95 <= 1 s.
- Rollups at a moment: `rollup_at` for the kabupaten (p95), beside the live `summary`.
- National (PostgreSQL on the test server, `POSKO_TEST_PG_URL`): the national registry
  (435,296 TPS, bench/national.py's seed) and three transitions per TPS, then `rollup_at`
  nationally; target <= 5 s. Run by `bench.run` (so `make bench`) whenever that PostgreSQL
  answers and the run is not `--quick`; `--national` asks for it here (`--no-national` not).
"""

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.figures import Figure

SUITE = "replay"
WIB_OFFSET = timedelta(hours=7)
SWEEP_MIN, SWEEP_QUICK_MIN = 5, 30  # simulated minutes between alert sweeps


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def store_day(db: Path, *, quick: bool) -> tuple[Any, int]:
    """The OKU Timur registry and its simulated election day, through the real intake."""
    from sqlmodel import Session, select

    from backend.alerts.service import sweep
    from backend.db import RawDb, make_engine
    from backend.incidents.service import IncidentRules
    from backend.intake.service import store_batch
    from backend.intake.validate import Checker
    from backend.officers.models import Officer
    from backend.simulate.plan import Action, DayPlan, OfficerInfo, TpsInfo
    from backend.tps.index import RegistryIndex
    from backend.tps.service import list_views
    from tests.dashboard.scenario import make_settings, seed

    settings = make_settings(db)
    seed(settings, devices=False)
    engine = make_engine(settings)
    index = RegistryIndex()
    with Session(engine) as s:
        index.load(s)
        views = list_views(session=s)
        officer_ids = {o.nrp: o.id for o in s.exec(select(Officer))}
    assigned: dict[str, list[str]] = {}
    for v in views:
        for nrp in v.officers:
            assigned.setdefault(nrp, []).append(v.code)
    officers = [OfficerInfo(nrp, tuple(codes)) for nrp, codes in sorted(assigned.items())]
    if quick:
        officers = officers[::10]
    plan = DayPlan(
        [TpsInfo(v.code, v.risk, v.lat, v.lon, v.kecamatan_code) for v in views], officers, 2024
    )
    checker = Checker(settings, index)
    rules = IncidentRules()
    raw = RawDb(engine)
    stored = 0
    batch: list[Any] = []
    minute: datetime | None = None
    held: dict[str, list[tuple[datetime, Any]]] = {}
    next_sweep: datetime | None = None
    start = datetime(2024, 11, 26, 23, 0, tzinfo=UTC)  # 06:00 WIB: the sweeper starts listening
    sweep_every = timedelta(minutes=SWEEP_QUICK_MIN if quick else SWEEP_MIN)

    def commit(at: datetime) -> None:
        nonlocal stored, batch
        if not batch:
            return
        raw.begin()
        out = store_batch(raw, batch, rules=rules)
        raw.commit()
        stored += out.stored
        batch = []

    for step in plan.steps():
        at = step.at.astimezone(UTC)
        m = at.replace(second=0, microsecond=0)
        if minute is not None and m != minute:
            commit(minute + timedelta(seconds=59))
            if at >= start and (next_sweep is None or m >= next_sweep):
                sweep(
                    engine=engine,
                    settings=settings,
                    now=m,
                    listening_since=start,
                    intake_stalled=False,
                )
                next_sweep = m + sweep_every
        minute = m
        oid = officer_ids[step.officer]
        if step.action is Action.HOLD and step.event is not None:
            held.setdefault(step.officer, []).append((at, step.event))
            continue
        if step.action is Action.FLUSH:
            events = held.pop(step.officer, [])
        elif step.event is not None:
            events = [(at, step.event)]
        else:
            continue
        for device_at, event in events:
            item = checker.check(
                event.wire(device_at), officer_id=oid, source="ws", remote=None, now=at
            )
            batch.append(item)
    if minute is not None:
        commit(minute)
    raw.close()
    return engine, stored


def run(quick: bool, national: bool | None = None) -> list[Figure]:
    """Seek and rollup figures on the OKU Timur day, and nationally (None: if PostgreSQL answers).

    Unasked (None), the national figure is measured on a full run when the test PostgreSQL
    answers, and is reported as skipped (a figure with no value would be a fake) when not.
    """
    if national is None:
        from tests.databases import pg_available

        national = not quick and pg_available()
        if not national and not quick:
            print("[bench] replay: national rollups skipped: PostgreSQL not reachable", flush=True)
    from sqlmodel import Session

    from backend.alerts.service import list_alerts
    from backend.incidents.service import list_public
    from backend.replay.service import rollup_at, state_at
    from backend.tps.service import list_views, summary

    figures: list[Figure] = []
    samples = 12 if quick else 40
    rng = random.Random(2024)
    with tempfile.TemporaryDirectory(prefix="posko-replay-") as tmp:
        t0 = time.monotonic()
        engine, stored = store_day(Path(tmp) / "posko.db", quick=quick)
        prep_s = time.monotonic() - t0
        day0 = datetime(2024, 11, 27, 0, 0, tzinfo=UTC)  # 07:00 WIB
        moments = [day0 + timedelta(seconds=rng.uniform(0, 8 * 3600)) for _ in range(samples)]
        area = "16.08"
        seek: list[float] = []
        live: list[float] = []
        roll: list[float] = []
        live_roll: list[float] = []
        with Session(engine) as s:
            state_at(session=s, area_code=area, at=moments[0])  # warm the caches once
            for at in moments:
                seek.append(_timed(lambda at=at: state_at(session=s, area_code=area, at=at)))
                live.append(
                    _timed(
                        lambda: (
                            list_views(session=s, area_code=area),
                            list_public(session=s, area_code=area, open_only=True),
                            list_alerts(session=s, area_code=area, open_only=True),
                        )
                    )
                )
                roll.append(_timed(lambda at=at: rollup_at(session=s, area_code=area, at=at)))
                live_roll.append(_timed(lambda: summary(session=s, area_code=area)))
        engine.dispose()
    note = (
        f"{stored:,} events of the simulated day stored through the intake"
        f"{' (a tenth of the officers)' if quick else ''}; alert sweep every "
        f"{SWEEP_QUICK_MIN if quick else SWEEP_MIN} simulated min; {samples} random moments "
        f"07:00-15:00 WIB; day prepared in {prep_s:.0f} s; p50 {statistics.median(seek):.0f} ms"
    )
    p95 = _pct(seek, 0.95)
    figures.append(
        Figure(
            suite=SUITE,
            name="seek to a moment, OKU Timur day, p95",
            value=p95,
            unit="ms",
            baseline="the live snapshot's reads, p95",
            baseline_value=_pct(live, 0.95),
            target="p95 ≤ 1,000 ms",
            met=p95 <= 1000,
            note=note,
        )
    )
    figures.append(
        Figure(
            suite=SUITE,
            name="seek to a moment, OKU Timur day, p50",
            value=statistics.median(seek),
            unit="ms",
            baseline="the live snapshot's reads, p50",
            baseline_value=statistics.median(live),
        )
    )
    figures.append(
        Figure(
            suite=SUITE,
            name="rollups at a moment, OKU Timur, p95",
            value=_pct(roll, 0.95),
            unit="ms",
            baseline="the live summary (tps_rollup), p95",
            baseline_value=_pct(live_roll, 0.95),
        )
    )
    if national:
        figures += national_rollup(quick=quick)
    return figures


def national_rollup(*, quick: bool) -> list[Figure]:
    """The national registry on PostgreSQL, three transitions per TPS, `rollup_at` nationally."""
    from sqlalchemy import text
    from sqlmodel import Session

    from backend.db import make_engine
    from backend.migrate import upgrade
    from backend.registry.build import Scale, build_registry
    from backend.registry.service import write_registry
    from backend.replay.service import rollup_at
    from backend.tps.service import summary
    from bench.prep import bench_settings
    from tests.conftest import fresh_pg_database
    from tests.databases import DROPPER

    at = datetime(2024, 11, 27, 3, 0, tzinfo=UTC)  # 10:00 WIB
    with fresh_pg_database() as url:
        engine = make_engine(bench_settings(url))
        upgrade(engine)
        t0 = time.monotonic()
        with Session(engine) as s:
            write_registry(
                session=s,
                registry=build_registry(scale=Scale.NATIONAL),
                erase_election_data=True,
            )
        with engine.begin() as c:
            # A morning of every TPS: persiapan, then pemungutan (some after 10:00), aman.
            for kind, after, offset in (
                ("phase", "persiapan", "3 hours"),
                ("situation", "aman", "3 hours"),
                ("phase", "pemungutan", "1 hour"),
            ):
                c.execute(
                    text(
                        "INSERT INTO tps_transition (tps_id, kind, before, after, at, received_at) "
                        "SELECT id, :kind, NULL, :after, "
                        "CAST(:t AS timestamptz) - CAST(:off AS interval) "
                        "+ (id % 7200) * interval '1 second', "
                        "CAST(:t AS timestamptz) - CAST(:off AS interval) "
                        "+ (id % 7200) * interval '1 second' FROM tps"
                    ),
                    {"kind": kind, "after": after, "t": at, "off": offset},
                )
            c.execute(text("ANALYZE tps_transition"))
        prep_s = time.monotonic() - t0
        with Session(engine) as s:
            took = [_timed(lambda: rollup_at(session=s, area_code=None, at=at)) for _ in range(3)]
            base = [_timed(lambda: summary(session=s, area_code=None)) for _ in range(3)]
            n = s.execute(text("SELECT count(*) FROM tps")).scalar_one()
            moves = s.execute(text("SELECT count(*) FROM tps_transition")).scalar_one()
        engine.dispose()
    DROPPER.wait()  # the drop runs in a daemon thread: outside pytest nothing else waits for it
    value = statistics.median(took)
    return [
        Figure(
            suite=SUITE,
            name="rollups at a moment, national, PostgreSQL",
            value=value,
            unit="ms",
            baseline="the live national summary (tps_rollup)",
            baseline_value=statistics.median(base),
            target="≤ 5,000 ms",
            met=value <= 5000,
            note=f"{n:,} TPS, {moves:,} transitions; prepared in {prep_s:.0f} s; median of 3",
        )
    ]


def main() -> None:
    """Run the suite on its own and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--national",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the national registry on PostgreSQL (default: when it answers and not --quick)",
    )
    args = ap.parse_args()
    for f in run(quick=args.quick, national=args.national):
        base = f" (baseline {f.baseline_value:,.1f})" if f.baseline_value is not None else ""
        print(f"{f.name}: {f.value:,.1f} {f.unit}{base}  {f.note}")


if __name__ == "__main__":
    main()
