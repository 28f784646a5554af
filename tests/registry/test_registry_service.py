"""Writing the registry: one transaction, exact rows, refusal over election data, erasing it."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from backend.audit.service import list_entries, verify
from backend.auth.models import Credential
from backend.channels.models import ChannelSender
from backend.custody.models import CustodyEvent, PpkPlace
from backend.incidents.models import Incident, IncidentReport
from backend.intake.models import DeadLetter, Ping
from backend.meta import REGISTRY_STAMP, get_value
from backend.officers.models import Assignment, Officer, Unit, UnitKecamatan
from backend.positions.models import OfficerLastFix, OfficerPosition, TrackerKey
from backend.regions.models import Region
from backend.registry.build import build_registry
from backend.registry.records import Registry
from backend.registry.service import (
    RegistryInUseError,
    registry_summary,
    write_registry,
)
from backend.tps.models import Tps, TpsState, TpsTransition
from schemas.enums import (
    CredentialKind,
    CustodyStep,
    IncidentCategory,
    RegionLevel,
    RiskRating,
    UnitKind,
)
from tests.registry.conftest import add_ping, foreign_key_violations, hold_election_day


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _write(engine: Engine, registry: Registry, *, erase: bool = False) -> None:
    with Session(engine) as session:
        write_registry(session=session, registry=registry, erase_election_data=erase)


def _stamp(engine: Engine) -> str | None:
    with Session(engine) as session:
        return get_value(session=session, key=REGISTRY_STAMP)


def test_write_stores_every_row_and_one_empty_state_per_tps(
    engine: Engine, registry: Registry
) -> None:
    _write(engine, registry)
    assert _count(engine, Region) == 334
    assert _count(engine, Tps) == _count(engine, TpsState) == 1012
    assert _count(engine, Officer) == 298
    assert _count(engine, Unit) == 12
    assert _count(engine, UnitKecamatan) == 20
    assert _count(engine, Assignment) == len(registry.assignments)
    with Session(engine) as session:
        states = session.exec(select(TpsState)).all()
        assert all(s.phase is None and s.version == 0 and s.phase_rank == -1 for s in states)
        polsek = session.exec(select(Unit).where(Unit.code == "polsek-belitang-ii")).one()
        polres = session.exec(select(Unit).where(Unit.kind == UnitKind.POLRES)).one()
        assert polsek.parent_id == polres.id
        tps = session.exec(select(Tps).where(Tps.code == registry.tps[0].code)).one()
        assert (tps.lat, tps.lon, tps.risk) == (
            registry.tps[0].lat,
            registry.tps[0].lon,
            registry.tps[0].risk,
        )
    assert foreign_key_violations(engine) == []


def test_summary_counts_every_level_risk_and_unit(engine: Engine, registry: Registry) -> None:
    _write(engine, registry)
    with Session(engine) as session:
        summary = registry_summary(session=session)
    assert summary.regions == {
        RegionLevel.PROVINSI: 1,
        RegionLevel.KABUPATEN: 1,
        RegionLevel.KECAMATAN: 20,
        RegionLevel.DESA: 312,
    }
    assert summary.tps == 1012 and summary.officers == 298
    assert sum(summary.tps_by_risk.values()) == 1012
    assert summary.tps_by_risk[RiskRating.SANGAT_RAWAN] in range(5, 9)
    assert summary.units == {UnitKind.POLRES: 1, UnitKind.POLSEK: 11}
    assert summary.officers_by_unit[0][0] == "Polres OKU Timur"
    assert len(summary.officers_by_unit) == 12


def test_every_write_sets_a_new_registry_stamp(engine: Engine, registry: Registry) -> None:
    assert _stamp(engine) is None
    _write(engine, registry)
    first = _stamp(engine)
    _write(engine, registry)
    second = _stamp(engine)
    assert first and second and first != second


def test_reseed_over_election_data_is_refused_naming_what_would_be_lost_and_changes_nothing(
    engine: Engine, registry: Registry
) -> None:
    _write(engine, registry)
    held = hold_election_day(engine)
    assert held.keys() >= {"ping", "incident_report", "incident", "tps_transition"}
    stamp = _stamp(engine)
    with Session(engine) as session:
        chain = list_entries(session=session, limit=5000)
    other = build_registry(seed=7)
    with pytest.raises(RegistryInUseError) as err:
        _write(engine, other)
    assert err.value.election_data == held
    assert err.value.audit_entries == len(chain)
    assert f"{held['ping']} ping" in str(err.value)
    assert _stamp(engine) == stamp
    assert _count(engine, Ping) == held["ping"]
    with Session(engine) as session:
        codes = set(session.exec(select(Tps.code)).all())
        assert list_entries(session=session, limit=5000) == chain
    assert codes == {t.code for t in registry.tps}


def test_erasing_election_data_starts_an_audit_chain_that_records_it_and_verifies(
    engine: Engine, registry: Registry
) -> None:
    _write(engine, registry)
    held = hold_election_day(engine)
    with Session(engine) as session:
        assert verify(session=session).ok
        before = list_entries(session=session, limit=1)[0]  # the old chain's head
    with Session(engine) as session:
        result = write_registry(
            session=session,
            registry=build_registry(seed=7),
            erase_election_data=True,
            actor="cli:tester",
        )
    assert result.erased == held and result.previous_chain == before.seq
    with Session(engine) as session:
        checked = verify(session=session)
        chain = list(reversed(list_entries(session=session)))
    assert checked.ok and checked.checked == 2, checked
    epoch, replaced = chain
    assert (epoch.seq, epoch.action, epoch.actor) == (1, "audit.epoch", "cli:tester")
    assert epoch.data == {
        "reason": "registry replaced with its election data erased",
        "erased": held,
        "previous_chain": {"entries": before.seq, "head_hash": before.hash},
    }
    assert (replaced.action, replaced.actor, replaced.data["tps"]) == (
        "registry.replaced",
        "cli:tester",
        1012,
    )
    assert _count(engine, Ping) == _count(engine, TpsTransition) == 0
    # The new chain goes on as usual.
    hold_election_day(engine)
    with Session(engine) as session:
        assert verify(session=session).ok


def test_a_replacement_without_election_data_keeps_the_chain_and_is_audited(
    engine: Engine, registry: Registry
) -> None:
    _write(engine, registry)
    _write(engine, registry, erase=True)  # nothing to erase: the flag changes nothing
    with Session(engine) as session:
        assert verify(session=session).ok
        actions = [e.action for e in list_entries(session=session)]
    assert actions == ["registry.replaced", "registry.replaced"]


def test_erasing_election_data_deletes_events_and_keeps_referential_integrity(
    engine: Engine, registry: Registry
) -> None:
    _write(engine, registry)
    add_ping(engine, registry.tps[0].code)
    now = datetime.now(UTC)
    with Session(engine) as session:
        officer = session.exec(select(Officer)).first()
        tps = session.exec(select(Tps)).first()
        assert officer and tps
        incident = Incident(
            category=IncidentCategory.KERICUHAN,
            severity=2,
            tps_id=tps.id,
            kecamatan_code=tps.kecamatan_code,
            kabupaten_code="16.08",
            description="ribut",
            opened_at=now,
            updated_at=now,
        )
        session.add(incident)
        session.flush()
        session.add(
            IncidentReport(
                event_id=uuid.uuid4(),
                incident_id=incident.id,
                officer_id=officer.id or 0,
                category=IncidentCategory.KERICUHAN,
                severity=2,
                tps_id=tps.id,
                description="ribut",
                device_time=now,
                received_at=now,
                source="ws",
            )
        )
        session.add(
            DeadLetter(
                received_at=now,
                source="ws",
                officer_id=officer.id,
                field="phase",
                reason="bad",
                size=2,
                payload="{}",
            )
        )
        session.commit()
    with Session(engine) as session:
        result = write_registry(
            session=session, registry=build_registry(seed=7), erase_election_data=True
        )
    assert result.erased == {"ping": 1, "incident_report": 1, "incident": 1}
    assert _count(engine, Ping) == _count(engine, IncidentReport) == _count(engine, Incident) == 0
    assert _count(engine, DeadLetter) == 1  # refused payloads stay, detached from the officer
    assert _count(engine, Tps) == 1012
    assert foreign_key_violations(engine) == []


def test_replacing_the_registry_revokes_device_credentials_of_old_officers(
    engine: Engine, registry: Registry
) -> None:
    _write(engine, registry)
    now = datetime.now(UTC)
    with Session(engine) as session:
        officer = session.exec(select(Officer)).first()
        assert officer
        for kind, officer_id in ((CredentialKind.DEVICE, officer.id), (CredentialKind.KIOSK, None)):
            session.add(
                Credential(
                    kind=kind,
                    token_hash=uuid.uuid4().hex * 2,
                    prefix="abc",
                    name=kind.value,
                    officer_id=officer_id,
                    created_at=now,
                )
            )
        session.commit()
    with Session(engine) as session:
        result = write_registry(session=session, registry=registry)
    assert result.removed_credentials == 1
    with Session(engine) as session:
        kinds = session.exec(select(Credential.kind)).all()
    assert kinds == [CredentialKind.KIOSK]


def test_erasing_takes_custody_positions_and_chat_bindings_and_keeps_the_ppk_places(
    engine: Engine, registry: Registry
) -> None:
    _write(engine, registry)
    now = datetime.now(UTC)
    with Session(engine) as session:
        officer = session.exec(select(Officer)).first()
        tps = session.exec(select(Tps)).first()
        assert officer and officer.id and tps and tps.id
        kec = tps.kecamatan_code
        session.add(
            CustodyEvent(
                event_id=uuid.uuid4(),
                tps_id=tps.id,
                tps_code=tps.code,
                kecamatan_code=tps.kecamatan_code,
                kabupaten_code="16.08",
                step=CustodyStep.SEGEL,
                device_time=now,
                received_at=now,
                officer_id=officer.id,
                source="ws",
            )
        )
        session.add(
            OfficerPosition(
                officer_id=officer.id,
                device_time=now,
                lat=-4.1,
                lon=104.2,
                received_at=now,
                source="traccar",
            )
        )
        session.add(
            OfficerLastFix(
                officer_id=officer.id,
                device_time=now,
                received_at=now,
                lat=-4.1,
                lon=104.2,
                source="traccar",
            )
        )
        session.add(
            ChannelSender(
                kind="phone",
                address="6281200000001",
                officer_id=officer.id,
                bound_at=now,
                bound_by="test",
            )
        )
        session.add(
            TrackerKey(officer_id=officer.id, key_hash="a" * 64, created_at=now, created_by="t")
        )
        for code in (tps.kecamatan_code, "16.08.99"):  # the second kecamatan leaves the registry
            if session.get(Region, code) is None:
                session.add(
                    Region(code=code, name="X", level=RegionLevel.KECAMATAN, parent_code="16.08")
                )
                session.flush()  # no relationship tells the ORM the region goes first
            session.add(
                PpkPlace(
                    kecamatan_code=code,
                    name="Kantor Camat",
                    lat=-4.0,
                    lon=104.0,
                    updated_by="admin",
                    updated_at=now,
                )
            )
        session.commit()
    with pytest.raises(RegistryInUseError):
        _write(engine, registry)  # custody steps and fixes are election data: not without erasing
    with Session(engine) as session:
        result = write_registry(session=session, registry=registry, erase_election_data=True)
    assert result.erased == {"custody_event": 1, "officer_position": 1}
    for model in (CustodyEvent, OfficerPosition, OfficerLastFix, ChannelSender, TrackerKey):
        assert _count(engine, model) == 0, model
    with Session(engine) as session:
        kept = session.exec(select(PpkPlace.kecamatan_code)).all()
    assert kept == [kec]  # the place of a kecamatan still in the registry stays
    assert foreign_key_violations(engine) == []
