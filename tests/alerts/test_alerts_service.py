"""Alerts in the database: the diff, the one-open-alert constraint, lease, outbox, audit."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.alerts.models import Alert, AlertVersion
from backend.alerts.rules import Desired
from backend.alerts.service import AlertConflictError, acknowledge, apply_desired, silence
from backend.audit.service import verify
from schemas.ops import AlertKind, AlertSeverity, AlertSubjectKind
from tests.factories import MiniRegistry
from tests.helpers import count
from tests.ops.harness import Field, wib

T0 = wib(27, "10:00")


def not_visited(code: str, parent: str | None = None) -> Desired:
    return Desired(
        kind=AlertKind.TPS_NOT_VISITED,
        subject_kind=AlertSubjectKind.TPS,
        subject=code,
        severity=AlertSeverity.WARNING,
        kabupaten_code="16.08",
        kecamatan_code=code[:8],
        parent=(AlertKind.NETWORK_OUTAGE, parent) if parent else None,
    )


def outage(kec: str) -> Desired:
    return Desired(
        kind=AlertKind.NETWORK_OUTAGE,
        subject_kind=AlertSubjectKind.KECAMATAN,
        subject=kec,
        severity=AlertSeverity.CRITICAL,
        kabupaten_code="16.08",
        kecamatan_code=kec,
    )


def late(code: str, reason: str) -> Desired:
    return Desired(
        kind=AlertKind.BEHIND_SCHEDULE,
        subject_kind=AlertSubjectKind.TPS,
        subject=code,
        severity=AlertSeverity.WARNING,
        reason=reason,
    )


def apply(engine: Engine, ds: list[Desired], at=T0, **kw):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return apply_desired(session=s, desired={d.key: d for d in ds}, now=at, **kw)


def test_raise_then_clear_and_a_second_identical_sweep_changes_nothing(
    engine: Engine, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]
    first = apply(engine, [not_visited(code)])
    assert len(first.raised) == 1
    assert apply(engine, [not_visited(code)], T0 + timedelta(minutes=1)).alert_ids == []
    cleared = apply(engine, [], T0 + timedelta(minutes=2))
    assert cleared.cleared == first.raised
    with Session(engine) as s:
        a = s.exec(select(Alert)).one()
    assert (a.raised_at, a.cleared_at) == (T0, T0 + timedelta(minutes=2))
    with Session(engine) as s:
        assert verify(session=s).ok
    assert count(engine, "audit_entry", "action LIKE 'alert.%'") == 2


def test_database_refuses_a_second_open_alert_for_the_same_kind_and_subject(
    engine: Engine, mini: MiniRegistry
) -> None:
    apply(engine, [not_visited(mini.tps_codes[0])])
    with Session(engine) as s, pytest.raises(IntegrityError):
        s.add(
            Alert(
                kind=AlertKind.TPS_NOT_VISITED,
                subject_kind=AlertSubjectKind.TPS,
                subject=mini.tps_codes[0],
                severity=AlertSeverity.WARNING,
                raised_at=T0,
            )
        )
        s.commit()


def test_two_sweepers_racing_raise_each_alert_once(engine: Engine, mini: MiniRegistry) -> None:
    desired = [not_visited(c) for c in mini.tps_codes]
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        barrier.wait()
        results.append(apply(engine, desired))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r.raised) for r in results)[1] > 0
    assert sum(len(r.raised) for r in results) == 12
    assert count(engine, "alert") == 12


def test_a_changed_reason_clears_the_alert_and_raises_a_new_one(
    engine: Engine, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]
    apply(engine, [late(code, "not_open")])
    ch = apply(engine, [late(code, "counting_late")], T0 + timedelta(hours=9))
    assert len(ch.cleared) == 1 and len(ch.raised) == 1
    with Session(engine) as s:
        open_ = s.exec(select(Alert).where(Alert.cleared_at == None)).one()  # noqa: E711
    assert '"reason":"counting_late"' in open_.detail


def test_alerts_move_under_an_outage_and_are_released_when_it_clears(
    engine: Engine, mini: MiniRegistry
) -> None:
    codes = mini.tps_codes[6:9]
    ch = apply(engine, [not_visited(c) for c in codes], webhook=True)
    assert ch.outbox == 3  # visible: told the outside world
    ch = apply(
        engine,
        [outage("16.08.03"), *[not_visited(c, "16.08.03") for c in codes]],
        T0 + timedelta(minutes=5),
        webhook=True,
    )
    assert len(ch.raised) == 1 and len(ch.updated) == 3 and ch.outbox == 1
    more = mini.tps_codes[9]
    ch = apply(
        engine,
        [outage("16.08.03"), *[not_visited(c, "16.08.03") for c in [*codes, more]]],
        T0 + timedelta(minutes=10),
        webhook=True,
    )
    assert ch.outbox == 0  # raised while held: nobody is paged for it
    ch = apply(engine, [not_visited(more)], T0 + timedelta(minutes=15), webhook=True)
    # The outage and the three alerts paged before it clear (and are resolved outside); the one
    # raised while held is released and paged only now.
    assert len(ch.cleared) == 4 and ch.updated == [5]
    assert ch.outbox == 5
    raised = count(engine, "alert_outbox", "event = 'raised'")
    cleared = count(engine, "alert_outbox", "event = 'cleared'")
    assert (raised, cleared) == (5, 4)


def test_stalled_kinds_are_neither_raised_nor_cleared(engine: Engine, mini: MiniRegistry) -> None:
    apply(engine, [not_visited(mini.tps_codes[0])])
    frozen = frozenset({AlertKind.TPS_NOT_VISITED})
    ch = apply(engine, [not_visited(mini.tps_codes[1])], frozen=frozen)
    assert ch.alert_ids == []


def test_acknowledge_once_and_silence_only_open_alerts(engine: Engine, mini: MiniRegistry) -> None:
    (aid,) = apply(engine, [not_visited(mini.tps_codes[0])]).raised
    with Session(engine) as s:
        a = acknowledge(session=s, alert_id=aid, actor="session:budi#1", now=T0)
        assert (a.acknowledged_by, a.version) == ("session:budi#1", 1)
        with pytest.raises(AlertConflictError):
            acknowledge(session=s, alert_id=aid, actor="session:ani#2", now=T0)
        a = silence(session=s, alert_id=aid, actor="session:budi#1", now=T0, minutes=30)
        assert a.silenced_until == T0 + timedelta(minutes=30)
    apply(engine, [], T0 + timedelta(minutes=1))
    with Session(engine) as s, pytest.raises(AlertConflictError):
        silence(session=s, alert_id=aid, actor="x", now=T0, minutes=None)


def test_sweep_through_real_intake_raises_and_clears_not_visited(
    field: Field, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]  # sangat rawan: 10 minutes while voting
    nrp = mini.officer_nrps[0]
    ping = {
        "type": "ping",
        "event_id": "0193a000-0000-7000-8000-000000000001",
        "tps": code,
        "phase": "pemungutan",
        "situation": "aman",
        "device_time": T0.isoformat(),
    }
    where = f"kind = 'tps_not_visited' AND subject = '{code}'"
    field.send([(nrp, ping)], at=T0)
    field.sweep(T0 + timedelta(minutes=9))
    assert count(field.engine, "alert", where) == 0
    field.sweep(T0 + timedelta(minutes=10))
    assert count(field.engine, "alert", where + " AND cleared_at IS NULL") == 1
    later = T0 + timedelta(minutes=12)
    again = {**ping, "event_id": "0193a000-0000-7000-8000-000000000002"}
    field.send([(nrp, {**again, "device_time": later.isoformat()})], at=later)
    field.sweep(later)
    assert count(field.engine, "alert", where + " AND cleared_at IS NOT NULL") == 1
    assert count(field.engine, "alert_outbox") == 0  # no webhook configured
    # Only the first batch changed the TPS (the second ping repeats phase and situation).
    assert count(field.engine, "audit_entry", "action = 'intake.batch'") == 1
    with Session(field.engine) as s:
        assert verify(session=s).ok


def test_every_change_a_sweep_makes_leaves_the_version_replay_reads(
    engine: Engine, mini: MiniRegistry
) -> None:
    codes = mini.tps_codes[6:9]
    ids = apply(engine, [not_visited(c) for c in codes]).raised
    with Session(engine) as s:
        acknowledge(session=s, alert_id=ids[0], actor="session:budi#1", now=T0)
    held = T0 + timedelta(minutes=5)
    ch = apply(engine, [outage("16.08.03"), *[not_visited(c, "16.08.03") for c in codes]], held)
    assert len(ch.raised) == 1 and sorted(ch.updated) == sorted(ids)
    cols = [
        "version",
        "severity",
        "detail",
        "parent_id",
        "acknowledged_at",
        "acknowledged_by",
        "silenced_at",
        "silenced_by",
        "silenced_until",
    ]
    alert, version = Alert.__table__, AlertVersion.__table__  # type: ignore[attr-defined]
    with engine.connect() as c:
        now = {
            r[0]: tuple(r[1:])
            for r in c.execute(sa_select(alert.c.id, *(alert.c[n] for n in cols)))
        }
        versions = c.execute(
            sa_select(version.c.alert_id, version.c.at, *(version.c[n] for n in cols))
        ).all()
    # Each alert's versions are 0 .. its version, the last one as the row is now (the held
    # alerts with their parent and the acknowledgement made between the sweeps).
    assert sorted((v[0], v[2]) for v in versions) == sorted(
        (i, n) for i, row in now.items() for n in range(row[0] + 1)
    )
    last = {v[0]: tuple(v[2:]) for v in sorted(versions, key=lambda v: v[2])}
    assert last == now
    assert {v[1] for v in versions if v[2] == now[v[0]][0] and v[0] != ids[0]} == {held}
    assert now[ids[0]][5] == "session:budi#1" and now[ids[1]][3] == ch.raised[0]
