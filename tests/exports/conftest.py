"""A stored day in two kabupaten: states, a timeline, incidents, alerts, positions, audit."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Engine, insert
from sqlmodel import Session

from backend.alerts.models import Alert
from backend.audit.service import AuditRecord, append
from backend.config import Settings
from backend.incidents.lifecycle import Action
from backend.incidents.service import add_note, transition
from backend.positions.models import OfficerPosition
from schemas.enums import Role
from schemas.ops import AlertKind, AlertSeverity, AlertSubjectKind
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, person_token
from tests.helpers import incident, ping
from tests.ops.conftest import settings
from tests.ops.harness import Field, wib
from tests.scale.conftest import Banyuasin, add_banyuasin

__all__ = ["settings"]

T = wib(27, "08:00")
# Text typed in the field that a spreadsheet would run as a formula, and some that is not ASCII.
FORMULA = '=HYPERLINK("http://contoh.invalid","klik")'
NOTE = "Situasi kondusif — aman ✓, Pak Agüs"


@dataclass
class Day:
    """What was stored, in OKU Timur (16.08) and Banyuasin (16.07)."""

    engine: Engine
    okut: MiniRegistry
    bny: Banyuasin
    okut_incident: int
    bny_incident: int


def seed_day(engine: Engine, settings: Settings, mini: MiniRegistry) -> Day:
    """Pings, incidents with steps, alerts, positions and audit entries in both kabupaten."""
    bny = add_banyuasin(engine)
    field = Field(engine, settings)
    okut_nrp, bny_nrp = mini.officer_nrps[0], "90010001"
    try:
        field.send([(okut_nrp, ping(mini.tps_codes[0], at=T))], at=T)
        field.send([(bny_nrp, ping(bny.tps_codes[0], at=T))], at=T)
        field.send(
            [
                (okut_nrp, ping(mini.tps_codes[1], "penghitungan", "waspada", at=T, minutes=5)),
                (bny_nrp, ping(bny.tps_codes[1], at=T, minutes=5)),
            ],
            at=T + timedelta(minutes=6),
        )
        out_okut = field.send(
            [(okut_nrp, incident(mini.tps_codes[0], at=T, minutes=10, description=FORMULA))],
            at=T + timedelta(minutes=10),
        )
        out_bny = field.send(
            [(bny_nrp, incident(bny.tps_codes[0], "intimidasi", 4, at=T, minutes=11))],
            at=T + timedelta(minutes=11),
        )
        field.sweep(T + timedelta(minutes=12))
    finally:
        field.close()
    (okut_incident,) = out_okut.incident_ids
    (bny_incident,) = out_bny.incident_ids
    with Session(engine) as s:
        transition(
            session=s,
            incident_id=okut_incident,
            action=Action.ACCEPT,
            expected_version=0,
            actor="user:kapolres",
            now=T + timedelta(minutes=15),
        )
    with Session(engine) as s:
        add_note(
            session=s,
            incident_id=okut_incident,
            text=NOTE,
            actor="user:kapolres",
            now=T + timedelta(minutes=16),
        )
    with Session(engine) as s:
        s.add(
            Alert(
                kind=AlertKind.INTAKE_STALLED,
                subject_kind=AlertSubjectKind.SYSTEM,
                subject="node-1",
                kabupaten_code=None,
                severity=AlertSeverity.WARNING,
                raised_at=T + timedelta(minutes=20),
            )
        )
        fixes = [
            {
                "officer_id": officer,
                "device_time": T + timedelta(minutes=m),
                "lat": lat + m / 1000,
                "lon": 104.5,
                "received_at": T + timedelta(minutes=m, seconds=2),
                "accuracy_m": 8.0,
                "battery": 77.0,
                "source": "traccar",
            }
            for officer, lat in ((mini.officer_ids[0], -4.3), (bny.officer_id, -2.95))
            for m in range(3)
        ]
        s.execute(insert(OfficerPosition), fixes)
        append(
            session=s,
            records=[
                AuditRecord(at=T, actor="cli:root", action="registry.seed", data={"n": 1}),
                AuditRecord(at=T, actor="user:x", action="user.create", area_code="16.07", data={}),
            ],
        )
        s.commit()
    return Day(engine, mini, bny, okut_incident, bny_incident)


@pytest.fixture
def day(engine: Engine, settings: Settings, mini: MiniRegistry) -> Day:
    """The stored day."""
    return seed_day(engine, settings, mini)


@pytest.fixture
def served(day: Day, settings: Settings) -> Iterator[LiveServer]:
    """A running server over the stored day."""
    # No sweep while the test reads: what is stored stays what it was (alerts, audit).
    srv = start_server(settings.model_copy(update={"sweep_interval_s": 3600.0}))
    yield srv
    srv.stop()


def token(day: Day, role: Role = Role.COMMANDER, area: str | None = None) -> str:
    """A person's API token."""
    return person_token(day.engine, role, area=area)
