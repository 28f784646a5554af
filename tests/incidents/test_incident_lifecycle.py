"""The incident lifecycle: transitions, compare-and-set, dispatch, notes, merge and split."""

from datetime import timedelta

import pytest
from sqlmodel import Session

from backend.audit.service import verify
from backend.incidents.lifecycle import Action, InvalidTransitionError, next_status
from backend.incidents.models import Incident
from backend.incidents.service import (
    IncidentConflictError,
    IncidentInputError,
    add_note,
    incident_situations,
    list_details,
    merge,
    split,
    transition,
)
from schemas.enums import IncidentStatus, Situation
from tests.factories import MiniRegistry
from tests.helpers import incident as report
from tests.ops.harness import Field, wib

T = wib(27, "10:00")
S = IncidentStatus


@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        (Action.ACCEPT, S.BARU, S.DITERIMA),
        (Action.DISPATCH, S.DITERIMA, S.DITANGANI),
        (Action.DISPATCH, S.DITANGANI, S.DITANGANI),
        (Action.RESOLVE, S.DITANGANI, S.SELESAI),
        (Action.CLOSE, S.SELESAI, S.DITUTUP),
    ],
)
def test_allowed_transitions(action: Action, before: S, after: S) -> None:
    assert next_status(action, before) is after


@pytest.mark.parametrize(
    ("action", "before"),
    [
        (Action.CLOSE, S.BARU),
        (Action.CLOSE, S.DITANGANI),
        (Action.RESOLVE, S.BARU),
        (Action.ACCEPT, S.DITERIMA),
        (Action.DISPATCH, S.BARU),
        (Action.ACCEPT, S.DITUTUP),
    ],
)
def test_skipping_or_going_back_is_refused_with_the_reason(action: Action, before: S) -> None:
    with pytest.raises(InvalidTransitionError, match=f"cannot {action.value}"):
        next_status(action, before)


def _riot(field: Field, mini: MiniRegistry, n: int = 1, *, category: str = "kericuhan") -> int:
    code = mini.tps_codes[0]
    out = None
    for i in range(n):
        out = field.send([(mini.officer_nrps[i], report(code, category, 4, at=T, minutes=i))], at=T)
    assert out is not None
    return out.incident_ids[0]


def test_full_lifecycle_records_who_and_when_for_every_step(
    field: Field, mini: MiniRegistry
) -> None:
    iid = _riot(field, mini)
    with Session(field.engine) as s:
        steps = [
            (Action.ACCEPT, {}, "session:op#1"),
            (Action.DISPATCH, {"officer_nrp": mini.officer_nrps[1]}, "session:cmd#2"),
            (Action.DISPATCH, {"unit_code": "polsek-belitang"}, "session:cmd#2"),
            (Action.RESOLVE, {}, "session:cmd#2"),
            (Action.CLOSE, {}, "session:cmd#2"),
        ]
        for i, (action, target, actor) in enumerate(steps):
            transition(
                session=s,
                incident_id=iid,
                action=action,
                expected_version=i,
                actor=actor,
                now=T + timedelta(minutes=i + 1),
                **target,  # type: ignore[arg-type]
            )
        add_note(session=s, incident_id=iid, text="massa bubar", actor="session:op#1", now=T)
        (detail,) = list_details(session=s, ids=[iid])
        assert verify(session=s).ok
    assert detail.status is S.DITUTUP and detail.assignee == "unit:polsek-belitang"
    assert [(st.kind.value, st.to_status, st.actor) for st in detail.steps] == [
        ("status", S.DITERIMA, "session:op#1"),
        ("dispatch", S.DITANGANI, "session:cmd#2"),
        ("dispatch", S.DITANGANI, "session:cmd#2"),
        ("status", S.SELESAI, "session:cmd#2"),
        ("status", S.DITUTUP, "session:cmd#2"),
        ("note", None, "session:op#1"),
    ]
    assert detail.steps[1].data == {"assignee": f"officer:{mini.officer_nrps[1]}"}


def test_stale_version_or_wrong_status_is_a_conflict_naming_the_field(
    field: Field, mini: MiniRegistry
) -> None:
    iid = _riot(field, mini)
    with Session(field.engine) as s:
        with pytest.raises(IncidentConflictError) as err:
            transition(
                session=s,
                incident_id=iid,
                action=Action.CLOSE,
                expected_version=0,
                actor="a",
                now=T,
            )
        assert err.value.field == "status"
        # A second officer's report joins the incident: the version moves on.
        field.send([(mini.officer_nrps[1], report(mini.tps_codes[0], severity=3, at=T))], at=T)
        with pytest.raises(IncidentConflictError) as err:
            transition(
                session=s,
                incident_id=iid,
                action=Action.ACCEPT,
                expected_version=0,
                actor="a",
                now=T,
            )
        assert err.value.field == "version"
        with pytest.raises(IncidentInputError) as bad:
            transition(
                session=s,
                incident_id=iid,
                action=Action.ACCEPT,
                expected_version=1,
                actor="a",
                now=T,
            )
            transition(
                session=s,
                incident_id=iid,
                action=Action.DISPATCH,
                expected_version=2,
                actor="a",
                now=T,
                officer_nrp="0000",
            )
        assert bad.value.field == "officer"


def test_merge_moves_reports_and_closes_the_others(field: Field, mini: MiniRegistry) -> None:
    a = _riot(field, mini)
    b = field.send(
        [(mini.officer_nrps[2], report(mini.tps_codes[6], "unjuk_rasa", 2, at=T))], at=T
    ).incident_ids[0]
    with Session(field.engine) as s:
        merge(session=s, incident_id=a, others=[b], expected_version=0, actor="c", now=T)
        da, db = list_details(session=s, ids=[a, b])
        with pytest.raises(IncidentConflictError):
            merge(session=s, incident_id=a, others=[b], expected_version=1, actor="c", now=T)
        assert verify(session=s).ok
    assert da.reports == 2 and da.version == 1 and da.severity == 4
    assert (db.status, db.merged_into, db.reports) == (S.DITUTUP, a, 0)
    assert [st.kind.value for st in db.steps] == ["merge"]


def test_split_moves_one_report_into_a_new_incident(field: Field, mini: MiniRegistry) -> None:
    iid = _riot(field, mini, 2)
    with Session(field.engine) as s:
        (d,) = list_details(session=s, ids=[iid])
        assert d.reports == 2
        last = d.report_list[-1].id
        new = split(
            session=s, incident_id=iid, report_id=last, expected_version=d.version, actor="c", now=T
        )
        assert new.id is not None
        old, fresh = list_details(session=s, ids=[iid, new.id])
        with pytest.raises(IncidentConflictError) as err:
            split(
                session=s,
                incident_id=iid,
                report_id=old.report_list[0].id,
                expected_version=old.version,
                actor="c",
                now=T,
            )
        assert err.value.field == "report_id"
    assert old.reports == 1 and fresh.reports == 1 and fresh.status is S.BARU
    assert fresh.tps == mini.tps_codes[0]


def test_open_incidents_raise_their_tps_situation_until_resolved(
    field: Field, mini: MiniRegistry
) -> None:
    iid = _riot(field, mini)
    field.send([(mini.officer_nrps[2], report(mini.tps_codes[6], "politik_uang", 2, at=T))], at=T)
    with Session(field.engine) as s:
        tps_id = {i.code: i.id for i in field.index.tps_by_code.values()}
        raised = incident_situations(session=s)
        assert raised == {
            tps_id[mini.tps_codes[0]]: Situation.GANGGUAN,
            tps_id[mini.tps_codes[6]]: Situation.WASPADA,
        }
        inc = s.get(Incident, iid)
        assert inc is not None
        for i, action in enumerate([Action.ACCEPT, Action.DISPATCH, Action.RESOLVE]):
            transition(
                session=s,
                incident_id=iid,
                action=action,
                expected_version=i,
                actor="c",
                now=T,
                unit_code="polres-oku-timur" if action is Action.DISPATCH else None,
            )
        assert tps_id[mini.tps_codes[0]] not in incident_situations(session=s)
