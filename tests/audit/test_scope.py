"""Each command reads its own audit trail: entries carry the area of what they are about."""

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from backend.areas import common_area
from backend.audit.service import AuditRecord, append
from backend.authority import SERVER
from backend.config import Settings
from backend.incidents.lifecycle import Action
from backend.incidents.service import transition
from backend.users.service import create
from schemas.enums import Role
from schemas.ops import UserCreate
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, person_token
from tests.helpers import incident, ping
from tests.ops.harness import Field, wib
from tests.scale.conftest import Banyuasin, add_banyuasin

T = wib(27, "08:00")
AREAS = (None, "16", "16.08", "16.07")


@dataclass
class Trail:
    """Two kabupaten side by side, with audited work in each and across both."""

    engine: Engine
    okut: MiniRegistry
    bny: Banyuasin
    incident_16_07: int


@pytest.fixture
def trail(engine: Engine, settings: Settings, mini: MiniRegistry) -> Iterator[Trail]:
    bny = add_banyuasin(engine)
    field = Field(engine, settings)
    okut_nrp, bny_nrp = mini.officer_nrps[0], "90010001"
    try:
        field.send([(okut_nrp, ping(mini.tps_codes[0], at=T))], at=T)
        field.send([(bny_nrp, ping(bny.tps_codes[0], at=T))], at=T)
        field.send(
            [(okut_nrp, ping(mini.tps_codes[1], at=T)), (bny_nrp, ping(bny.tps_codes[1], at=T))],
            at=T,
        )
        outcome = field.send([(bny_nrp, incident(bny.tps_codes[0], at=T))], at=T)
    finally:
        field.close()
    (incident_id,) = outcome.incident_ids
    with Session(engine) as s:
        transition(
            session=s,
            incident_id=incident_id,
            action=Action.ACCEPT,
            expected_version=0,
            actor="user:kapolres-banyuasin",
            now=T,
        )
    with Session(engine) as s:
        create(
            session=s,
            data=UserCreate(
                username="operator-banyuasin",
                full_name="Operator Banyuasin",
                role=Role.OPERATOR,
                area_code="16.07",
                password="kata-sandi-panjang",
            ),
            now=T,
            actor="user:admin",
            authority=SERVER,
            settings=settings.model_copy(
                update={"password_time_cost": 1, "password_memory_kib": 1024}
            ),
        )
    with Session(engine) as s:  # system-wide: national readers only
        append(session=s, records=[AuditRecord(at=T, actor="system", action="registry.seeded")])
        s.commit()
    yield Trail(engine, mini, bny, incident_id)


@pytest.fixture
def server(settings: Settings, trail: Trail) -> Iterator[LiveServer]:
    # No sweep during the test: on a busy machine its first tick (2 s) came before the reads
    # and audited an alert about the incident, which these tests do not expect in the trail.
    srv = start_server(settings.model_copy(update={"sweep_interval_s": 3600.0}))
    yield srv
    srv.stop()


def _get(server: LiveServer, token: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(
        server.url + path, params=params, headers={"authorization": f"Bearer {token}"}, timeout=30
    )


def _areas(server: LiveServer, token: str, **params: str) -> set[str | None]:
    r = _get(server, token, "/api/v1/audit", **params)
    assert r.status_code == 200, r.text
    return {e["area_code"] for e in r.json()}


def test_common_area_is_the_narrowest_holding_every_code() -> None:
    assert common_area(["16.08.01.1007-001", "16.08.03"]) == "16.08"
    assert common_area(["16.08", "16.07.01.1016-001"]) == "16"
    assert common_area(["16.08", "17.01"]) is None
    assert common_area(["16.08", None]) is None and common_area([]) is None
    assert common_area(["16.1", "16.10"]) == "16"  # whole segments, never a prefix


def test_intake_batches_take_the_narrowest_area_of_what_they_stored(trail: Trail) -> None:
    with trail.engine.connect() as c:
        rows = c.execute(
            text("SELECT area_code FROM audit_entry WHERE action = 'intake.batch' ORDER BY seq")
        ).all()
    # OKU Timur alone, Banyuasin alone, both in one batch (their province), the incident.
    assert [r[0] for r in rows] == ["16.08", "16.07", "16", "16.07"]


def test_scoped_commanders_read_only_their_areas_entries(server: LiveServer, trail: Trail) -> None:
    tokens = {a: person_token(trail.engine, Role.COMMANDER, area=a) for a in AREAS}
    assert _areas(server, tokens[None]) == {None, "16", "16.08", "16.07"}
    assert _areas(server, tokens["16"]) == {"16", "16.08", "16.07"}
    assert _areas(server, tokens["16.08"]) == {"16.08"}
    seen = _get(server, tokens["16.07"], "/api/v1/audit").json()
    assert {e["area_code"] for e in seen} == {"16.07"}
    assert {e["action"] for e in seen} == {"intake.batch", "incident.status", "user.created"}
    assert _areas(server, tokens[None], area="16.07") == {"16.07"}
    outside = _get(server, tokens["16.08"], "/api/v1/audit", area="16.07")
    assert outside.status_code == 403 and outside.json()["detail"]["field"] == "area"
    # Asking by subject does not get round it either.
    about = _get(
        server,
        tokens["16.08"],
        "/api/v1/audit",
        subject_kind="incident",
        subject=str(trail.incident_16_07),
    )
    assert about.json() == []


def test_verify_tells_a_scoped_reader_where_it_broke_only_inside_their_area(
    server: LiveServer, trail: Trail
) -> None:
    tokens = {a: person_token(trail.engine, Role.COMMANDER, area=a) for a in AREAS}
    assert all(_get(server, t, "/api/v1/audit/verify").json()["ok"] for t in tokens.values())
    with trail.engine.begin() as c:
        seq = c.execute(
            text("SELECT seq FROM audit_entry WHERE action = 'user.created'")
        ).scalar_one()
        c.execute(text("UPDATE audit_entry SET data = '{}' WHERE seq = :s"), {"s": seq})
    national = _get(server, tokens[None], "/api/v1/audit/verify").json()
    assert (national["ok"], national["bad_seq"]) == (False, seq)
    own = _get(server, tokens["16.07"], "/api/v1/audit/verify").json()
    assert (own["ok"], own["bad_seq"]) == (False, seq) and "edited" in own["reason"]
    other = _get(server, tokens["16.08"], "/api/v1/audit/verify").json()
    assert (other["ok"], other["bad_seq"]) == (False, None)
    assert other["reason"] == "outside your area: ask a national reader"
    assert other["checked"] == national["checked"]


def test_a_tps_history_lists_only_entries_about_that_tps_and_its_incidents(
    server: LiveServer, trail: Trail
) -> None:
    code = trail.bny.tps_codes[0]
    with Session(trail.engine) as s:  # another kind of subject that happens to read the same
        append(
            session=s,
            records=[
                AuditRecord(
                    at=T,
                    actor="x",
                    action="user.created",
                    subject_kind="user",
                    subject=code,
                    area_code="16.08",
                )
            ],
        )
        s.commit()
    viewer = person_token(trail.engine, Role.VIEWER, area="16.07")
    history = _get(server, viewer, f"/api/v1/tps/{code}/history").json()
    assert {(e["subject_kind"], e["action"]) for e in history["audit"]} == {
        ("incident", "incident.status")
    }
    okut = person_token(trail.engine, Role.VIEWER, area="16.08")
    assert _get(server, okut, f"/api/v1/tps/{code}/history").status_code == 404
