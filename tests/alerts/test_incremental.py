"""The incremental sweep gives exactly what the full sweep gives, tick after tick.

Two databases hold the same OKU Timur registry and receive the same field events, commander
steps and clock; one is swept in full every tick (`service.sweep`, the oracle), the other by the
sweeper's incremental model (`incremental.advance`, reconciled in full only where the sweeper
would, and now and then a model rebuilt beside the ticks taken over a few ticks later, as the
sweeper does every `sweep_reconcile_s`). After every tick both hold the same open alerts
(kind, subject, outage held under, severity, detail), and when intake is not stalled those are
exactly what `rules.evaluate` asks of the incremental database's own facts. At the end both
have the same history: every alert raised and cleared at the same moments, the same audit
actions, the same replay versions.
"""

import random
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from backend.alerts.incremental import (
    AlertModel,
    Turns,
    adopt,
    advance,
    catch_up,
    rebuild,
    reconcile,
)
from backend.alerts.models import Alert
from backend.alerts.rules import evaluate
from backend.alerts.service import _detail, acknowledge, load_facts, sweep
from backend.config import Settings
from backend.db import make_engine
from backend.incidents.lifecycle import Action
from backend.incidents.models import Incident
from backend.incidents.service import transition
from backend.migrate import upgrade
from backend.registry.build import Scale, build_registry
from backend.registry.records import Registry
from backend.registry.service import write_registry
from backend.tps.models import Tps, TpsState
from backend.tps.service import confirm_phase
from schemas.enums import PHASE_ORDER, Phase
from tests.conftest import TEST_DB, fresh_pg_database, pg_available, settings_on
from tests.ops.harness import Field, wib

LISTENING_SINCE = wib(27, "05:30")
OpenRow = tuple[str, str, str | None, str, str]  # kind, subject, parent subject, severity, detail


@pytest.fixture(scope="module")
def registry() -> Registry:
    """A slice of OKU Timur: 10 TPS in each of 5 kecamatan, their officers, 3 more."""
    full = build_registry(scale=Scale.OKU_TIMUR)
    assigned = {a.tps_code for a in full.assignments}
    by_kec: dict[str, list[str]] = {}
    for t in full.tps:
        if t.code in assigned:
            by_kec.setdefault(t.kecamatan_code, []).append(t.code)
    kept = {c for k in sorted(by_kec)[:5] for c in by_kec[k][:10]}
    assignments = tuple(a for a in full.assignments if a.tps_code in kept)
    on_duty = {a.nrp for a in assignments}
    spare = [o for o in full.officers if o.nrp not in on_duty][:3]
    return replace(
        full,
        tps=tuple(t for t in full.tps if t.code in kept),
        officers=tuple(o for o in full.officers if o.nrp in on_duty) + tuple(spare),
        assignments=assignments,
    )


@contextmanager
def two_databases(tmp: Path, registry: Registry) -> Iterator[tuple[Settings, Settings]]:
    """Two databases of this run's kind, each with the registry written."""
    with ExitStack() as stack:
        if TEST_DB == "postgres":
            if not pg_available():
                pytest.skip("PostgreSQL not reachable")
            urls = [stack.enter_context(fresh_pg_database()) for _ in range(2)]
            for url in urls:
                _seed(settings_on(url), registry)
        else:
            first = tmp / "a.db"
            _seed(settings_on(f"sqlite:///{first}"), registry)
            shutil.copyfile(first, tmp / "b.db")
            urls = [f"sqlite:///{first}", f"sqlite:///{tmp / 'b.db'}"]
        yield settings_on(urls[0]), settings_on(urls[1])


def _seed(settings: Settings, registry: Registry) -> None:
    engine = make_engine(settings)
    try:
        upgrade(engine)
        with Session(engine) as s:
            write_registry(session=s, registry=registry, erase_election_data=True)
        if engine.dialect.name == "sqlite":
            with engine.connect() as c:
                c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()


def open_rows(engine: Engine) -> set[OpenRow]:
    """The open alerts, comparable across databases (the parent by its subject)."""
    with Session(engine) as s:
        alerts = list(s.exec(select(Alert)))
    by_id = {a.id: a for a in alerts}
    return {
        (
            a.kind.value,
            a.subject,
            by_id[a.parent_id].subject if a.parent_id else None,
            a.severity.value,
            a.detail,
        )
        for a in alerts
        if a.cleared_at is None
    }


def oracle_rows(engine: Engine, settings: Settings, now: datetime) -> set[OpenRow]:
    """What a fresh full evaluation of the database's facts wants open at `now`."""
    with Session(engine) as s:
        facts = load_facts(
            session=s,
            now=now,
            listening_since=LISTENING_SINCE,
            intake_stalled=False,
            custody_still=timedelta(minutes=settings.custody_still_min),
            custody_radius_m=settings.custody_still_radius_m,
        )
    desired = evaluate(facts, settings)
    return {
        (d.kind.value, d.subject, d.parent[1] if d.parent else None, d.severity.value, _detail(d))
        for d in desired.values()
    }


def history(engine: Engine) -> tuple[set[tuple[Any, ...]], Counter[str], int]:
    """Every alert ever (kind, subject, raised, cleared), audit actions, replay versions."""
    with engine.connect() as c:
        alerts = {
            (k, s, r, cl)
            for k, s, r, cl in c.execute(
                text("SELECT kind, subject, raised_at, cleared_at FROM alert")
            )
        }
        actions = Counter(
            a
            for (a,) in c.execute(
                text("SELECT action FROM audit_entry WHERE action LIKE 'alert.%'")
            )
        )
        versions = c.execute(text("SELECT count(*) FROM alert_version")).scalar_one()
    return alerts, actions, versions


@dataclass
class Site:
    """An active TPS of the scenario and where it stands."""

    code: str
    kecamatan: str
    officer: str  # an assigned officer's NRP
    lat: float
    lon: float
    rank: int = -1  # index in PHASE_ORDER reached
    custody: int = 0  # custody steps sent


CUSTODY_STEPS = ("segel", "berangkat", "tiba", "serah_terima")


class Scenario:
    """Random field life on both databases at once, at a clock that only moves forward."""

    def __init__(self, rng: random.Random, registry: Registry, a: Field, b: Field) -> None:
        self.rng = rng
        self.fields = (a, b)
        self.now = wib(27, "06:10")
        assigned: dict[str, str] = {}
        for asg in registry.assignments:
            assigned.setdefault(asg.tps_code, asg.nrp)
        by_kec: dict[str, list[Any]] = {}
        for t in registry.tps:
            if t.code in assigned:
                by_kec.setdefault(t.kecamatan_code, []).append(t)
        kecs = sorted(k for k, ts in by_kec.items() if len(ts) >= 6)[:4]  # the 5th stays unwatched
        self.sites = [
            Site(t.code, t.kecamatan_code, assigned[t.code], t.lat, t.lon)
            for k in kecs
            for t in by_kec[k][:6]
        ]
        taken = {s.officer for s in self.sites}
        self.strangers = [o.nrp for o in registry.officers if o.nrp not in taken][:3]
        self.silent_kec: str | None = None
        self.stalled = False

    def send(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """The same batch into both databases."""
        if events:
            for f in self.fields:
                f.send(events, at=self.now)

    def ping(self, site: Site, phase: Phase, nrp: str | None = None) -> tuple[str, dict[str, Any]]:
        """A ping from the site (by its officer, or `nrp`), near it, at the clock."""
        jitter = self.rng.uniform(-0.0003, 0.0003)
        return (
            nrp or site.officer,
            {
                "type": "ping",
                "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "tps": site.code,
                "phase": phase.value,
                "situation": self.rng.choice(["aman", "aman", "waspada"]),
                "device_time": self.now.isoformat(),
                "lat": site.lat + jitter,
                "lon": site.lon + jitter,
            },
        )

    def step(self) -> None:
        """Move the clock and do a few random things."""
        self.now += timedelta(minutes=self.rng.choice([1, 2, 4, 7, 11, 16, 35, 70]))
        events: list[tuple[str, dict[str, Any]]] = []
        roll = self.rng.random()
        if roll < 0.15:
            # A kecamatan goes silent (or, now and then, the whole kabupaten), or comes back.
            everywhere = self.rng.random() < 0.25
            pick = "*" if everywhere else self.rng.choice(self.sites).kecamatan
            self.silent_kec = pick if not self.silent_kec else None
        for site in self.sites:
            if self.silent_kec in (site.kecamatan, "*") or self.rng.random() < 0.35:
                continue
            if self.rng.random() < 0.3 and site.rank < len(PHASE_ORDER) - 1:
                site.rank += 1
            phase = PHASE_ORDER[max(site.rank, 0)] if self.rng.random() > 0.03 else Phase.DITUNDA
            events.append(self.ping(site, phase))
            if site.rank >= 4 and site.custody < 4 and self.rng.random() < 0.4:
                events.append((site.officer, self.custody(site)))
        if self.rng.random() < 0.3:
            site = self.rng.choice(self.sites)
            claim = PHASE_ORDER[min(max(site.rank, 0) + 1, len(PHASE_ORDER) - 1)]
            events.append(self.ping(site, claim, nrp=self.rng.choice(self.strangers)))
        if self.rng.random() < 0.25:
            site = self.rng.choice(self.sites)
            events.append((site.officer, self.incident(site)))
        self.send(events)
        if self.rng.random() < 0.3:
            self.commander()
        self.stalled = self.rng.random() < 0.1

    def custody(self, site: Site) -> dict[str, Any]:
        """The site's next custody step (a handover sometimes without its BA)."""
        step = CUSTODY_STEPS[site.custody]
        site.custody += 1
        body: dict[str, Any] = {
            "type": "custody",
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "tps": site.code,
            "step": step,
            "device_time": self.now.isoformat(),
        }
        if step == "segel":
            body["seal_numbers"] = ["SGL-1"]
        elif step == "berangkat":
            body |= {"vehicle": "BG 1 XY", "escort_nrps": [site.officer]}
        elif step == "serah_terima":
            body["receiver_name"] = "Hj. Siti"
            if self.rng.random() < 0.5:
                body["ba_number"] = "BA/1"
        return body

    def incident(self, site: Site) -> dict[str, Any]:
        """An incident at the site; now and then an SOS."""
        sos = self.rng.random() < 0.3
        return {
            "type": "incident",
            "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "category": "kericuhan",
            "severity": 4 if sos else self.rng.randint(1, 4),
            "sos": sos,
            "description": "massa berkumpul",
            "tps": site.code,
            "device_time": self.now.isoformat(),
        }

    def commander(self) -> None:
        """The same commander step on both: accept an incident, acknowledge an SOS, confirm."""
        what = self.rng.choice(["accept", "ack_sos", "confirm"])
        for f in self.fields:
            with Session(f.engine) as s:
                if what == "accept":
                    inc = s.exec(
                        select(Incident)
                        .where(col(Incident.status) == "baru")
                        .order_by(col(Incident.id))
                    ).first()
                    if inc is not None and inc.id is not None:
                        transition(
                            session=s,
                            incident_id=inc.id,
                            action=Action.ACCEPT,
                            expected_version=inc.version,
                            actor="tester",
                            now=self.now,
                        )
                elif what == "ack_sos":
                    alert = s.exec(
                        select(Alert)
                        .where(col(Alert.kind) == "sos", col(Alert.cleared_at).is_(None))
                        .order_by(col(Alert.subject))
                    ).first()
                    if alert is not None and alert.id is not None:
                        acknowledge(session=s, alert_id=alert.id, actor="tester", now=self.now)
                else:
                    row = s.exec(
                        select(Tps, TpsState)
                        .join(TpsState, col(TpsState.tps_id) == col(Tps.id))
                        .where(col(TpsState.claimed_rank) > col(TpsState.phase_rank))
                        .order_by(col(Tps.code))
                    ).first()
                    if row is not None:
                        tps, state = row
                        confirm_phase(
                            session=s,
                            tps=tps,
                            phase=PHASE_ORDER[state.claimed_rank],
                            actor="tester",
                            now=self.now,
                        )


def _run(
    settings_a: Settings, settings_b: Settings, registry: Registry, seed: int, ticks: int
) -> None:
    engine_a, engine_b = make_engine(settings_a), make_engine(settings_b)
    a, b = Field(engine_a, settings_a), Field(engine_b, settings_b)
    try:
        rng = random.Random(seed)
        scene = Scenario(rng, registry, a, b)
        model: AlertModel | None = None
        # A model read in full (at the tick it was started) and the tick it is taken over at.
        pending: tuple[AlertModel, int] | None = None
        builds = random.Random(seed + 1000)  # its own dice: the scenario stays the same
        was_stalled = False
        incremental_ticks = adopted = 0
        pauses: list[None] = []  # a rebuild stops at its pauses as the sweeper's does
        for n in range(ticks):
            scene.step()
            now, stalled = scene.now, scene.stalled
            # Where the sweeper reconciles: first, after a stall, and now and then (the lease).
            if model is None or (was_stalled and not stalled) or rng.random() < 0.05:
                _, model = reconcile(
                    engine=engine_a,
                    settings=settings_a,
                    listening_since=LISTENING_SINCE,
                    now=now,
                    intake_stalled=stalled,
                )
                pending = None
            elif pending is not None and pending[1] <= n and not stalled:
                adopt(engine=engine_a, old=model, new=pending[0], now=now, intake_stalled=False)
                model, pending = pending[0], None
                adopted += 1
            else:
                if pending is not None and builds.random() < 0.5:
                    # As its thread does, stopping at its pauses.
                    catch_up(
                        engine=engine_a,
                        model=pending[0],
                        now=now,
                        pause=lambda: pauses.append(None),
                    )
                if pending is None and builds.random() < 0.15:
                    # Read before this tick's sweep; the ticks go on with the old model.
                    pending = (
                        rebuild(
                            engine=engine_a,
                            settings=settings_a,
                            listening_since=LISTENING_SINCE,
                            now=now,
                            pause=lambda: pauses.append(None),
                        ),
                        n + builds.choice([1, 2, 3]),
                    )
                advance(engine=engine_a, model=model, now=now, intake_stalled=stalled)
                incremental_ticks += 1
            was_stalled = stalled
            sweep(
                engine=engine_b,
                settings=settings_b,
                now=now,
                listening_since=LISTENING_SINCE,
                intake_stalled=stalled,
            )
            got, want = open_rows(engine_a), open_rows(engine_b)
            assert got == want, (n, now, sorted(got ^ want)[:10])
            if not stalled:
                assert got == oracle_rows(engine_a, settings_a, now), (n, now)
        assert incremental_ticks > ticks // 2
        assert adopted >= 2 and pauses
        assert history(engine_a) == history(engine_b)
        kinds = {k for k, *_ in open_rows(engine_a)} | {k for k, *_ in history(engine_a)[0]}
        # The scenario reached what it is about (else it proves little).
        for kind in ("network_outage", "tps_not_visited", "officer_silent", "behind_schedule"):
            assert kind in kinds, kind
    finally:
        a.close()
        b.close()
        engine_a.dispose()
        engine_b.dispose()


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_sweeps_equal_full_sweeps_through_a_random_election_day(
    tmp_path: Path, registry: Registry, seed: int
) -> None:
    with two_databases(tmp_path, registry) as (sa, sb):
        _run(sa, sb, registry, seed, ticks=60)


def test_a_ping_read_twice_across_the_overlap_changes_nothing(
    tmp_path: Path, registry: Registry
) -> None:
    with two_databases(tmp_path, registry) as (sa, _):
        engine = make_engine(sa)
        f = Field(engine, sa)
        try:
            now = wib(27, "08:00")
            _, model = reconcile(
                engine=engine,
                settings=sa,
                listening_since=LISTENING_SINCE,
                now=now,
                intake_stalled=False,
            )
            site = registry.tps[0]
            nrp = next(x.nrp for x in registry.assignments if x.tps_code == site.code)
            f.send(
                [
                    (
                        nrp,
                        {
                            "type": "ping",
                            "event_id": str(uuid.uuid4()),
                            "tps": site.code,
                            "phase": "pemungutan",
                            "situation": "aman",
                            "device_time": now.isoformat(),
                        },
                    )
                ],
                at=now,
            )
            _, first = advance(engine=engine, model=model, now=now, intake_stalled=False)
            _, again = advance(engine=engine, model=model, now=now, intake_stalled=False)
            assert first.changed_tps == 1 and first.evaluated_tps >= 1
            assert again.changed_tps == 1  # read again within the overlap ...
            assert again.evaluated_tps == 0 and not again.changed  # ... and nothing follows
        finally:
            f.close()
            engine.dispose()


def test_a_model_read_beside_the_ticks_waits_while_one_runs(
    tmp_path: Path, registry: Registry
) -> None:
    with two_databases(tmp_path, registry) as (sa, _):
        engine = make_engine(sa)
        try:
            now = wib(27, "08:00")
            turns = Turns()
            built: list[AlertModel] = []
            done = threading.Event()

            def read() -> None:
                built.append(
                    rebuild(
                        engine=engine,
                        settings=sa,
                        listening_since=LISTENING_SINCE,
                        now=now,
                        pause=turns.pause,
                    )
                )
                done.set()

            reader = threading.Thread(target=read, daemon=True)
            with turns.tick():
                reader.start()
                # Alone, this read takes a fraction of a second: it waits for the tick.
                assert not done.wait(1.5)
            assert done.wait(60)
            alone = rebuild(engine=engine, settings=sa, listening_since=LISTENING_SINCE, now=now)
            assert (built[0].tps, built[0].officers, built[0].desired) == (
                alone.tps,
                alone.officers,
                alone.desired,
            )
            assert len(alone.tps) == len(registry.tps)
        finally:
            engine.dispose()
