"""Replay gives, for any moment, what the live snapshot gave at that moment (service level)."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from backend.alerts.models import Alert
from backend.alerts.service import acknowledge, list_alerts, silence
from backend.incidents.lifecycle import Action
from backend.incidents.models import IncidentReport
from backend.incidents.service import list_public, merge, split, transition
from backend.officers.service import list_public as list_officers
from backend.replay.service import (
    log_at,
    officers_at,
    positions_at,
    rollup_at,
    state_at,
    tps_detail_at,
)
from backend.tps.models import Tps
from backend.tps.service import correct_state, list_views, recent_log, summary, timeline
from schemas.enums import Phase, Situation
from schemas.live import TpsTimeline
from tests.custody.builders import custody
from tests.factories import MiniRegistry
from tests.helpers import incident, ping
from tests.ops.harness import Field, wib

AREA = "16.08"
# The TPS whose detail panel is compared too: the mini registry's first three.
DETAILED = ("16.08.01.1007-001", "16.08.01.1007-002", "16.08.01.1007-003")


def live(engine: Any, area: str | None = AREA) -> dict[str, Any]:
    """The picture GET /api/v1/snapshot reads now, without what replay numbers itself.

    With the commander's side panels: each officer's last heard and the TPS detail panel.
    """
    with Session(engine) as s:
        return picture(
            list_views(session=s, area_code=area),
            list_public(session=s, area_code=area, open_only=True),
            list_alerts(session=s, area_code=area, open_only=True),
        ) | panels(
            list_officers(session=s, area_code=area),
            {code: _live_detail(s, code, area) for code in DETAILED},
        )


def _live_detail(s: Session, code: str, area: str | None) -> TpsTimeline | None:
    views = list_views(session=s, area_code=area, codes=[code])
    if not views:
        return None
    tps_id = s.exec(select(Tps.id).where(col(Tps.code) == code)).one()
    return TpsTimeline(tps=views[0], events=timeline(session=s, tps_id=tps_id, limit=300))


def panels(officers: list[Any], details: dict[str, TpsTimeline | None]) -> dict[str, Any]:
    """The side panels as comparable JSON (a detail's `version`: as `picture`)."""
    return {
        "officers": [o.model_dump(mode="json") for o in officers],
        "details": {
            c: d.model_dump(mode="json", exclude={"tps": {"version"}}) if d else None
            for c, d in details.items()
        },
    }


def picture(tps: list[Any], incidents: list[Any], alerts: list[Any]) -> dict[str, Any]:
    """Comparable JSON; each TPS's `version` is the live compare-and-set token (see service)."""
    return {
        "tps": [v.model_dump(mode="json", exclude={"version"}) for v in tps],
        "incidents": [i.model_dump(mode="json") for i in incidents],
        "alerts": [a.model_dump(mode="json") for a in alerts],
    }


def snapshot_part(pic: dict[str, Any]) -> dict[str, Any]:
    """What a snapshot holds of a recorded picture (the side panels are read apart)."""
    return {k: pic[k] for k in ("tps", "incidents", "alerts")}


def replayed(engine: Any, at: datetime, area: str | None = AREA) -> dict[str, Any]:
    """The picture replay rebuilds for `at`."""
    with Session(engine) as s:
        st = state_at(session=s, area_code=area, at=at)
        side = panels(
            officers_at(session=s, area_code=area, at=at),
            {code: tps_detail_at(session=s, code=code, area_code=area, at=at) for code in DETAILED},
        )
    return picture(st.tps, st.incidents, st.alerts) | side


def scripted_day(field: Field, mini: MiniRegistry) -> list[tuple[datetime, dict[str, Any]]]:
    """A morning of pings, claims, incidents, commander steps and alerts; the picture after each."""
    nrp = mini.officer_nrps
    codes = mini.tps_codes
    seen: list[tuple[datetime, dict[str, Any]]] = [(wib(27, "06:00"), live(field.engine))]

    def at(hhmm: str) -> datetime:
        return wib(27, hhmm)

    def record(moment: datetime) -> None:
        seen.append((moment, live(field.engine)))

    t = at("07:00")
    field.send(
        [
            (nrp[0], ping(codes[0], "logistik_tiba", at=t)),
            (nrp[0], ping(codes[1], "persiapan", at=t)),
        ],
        at=t,
    )
    record(t)
    t = at("07:10")
    # Late ping with an older device time (never rolls back), a claim from a stranger.
    field.send(
        [
            (nrp[0], ping(codes[0], "persiapan", at=t)),
            (nrp[0], ping(codes[0], "logistik_tiba", "waspada", at=t - timedelta(minutes=30))),
            (nrp[1], ping(codes[2], "pemungutan", at=t)),
        ],
        at=t,
    )
    field.sweep(t)
    record(t)
    t = at("07:30")
    out = field.send([(nrp[0], incident(codes[0], severity=4, at=t))], at=t)
    riot = out.incident_ids[0]
    field.send(
        [(nrp[1], incident(codes[0], severity=3, at=t, minutes=1))], at=t + timedelta(minutes=1)
    )
    field.send([(nrp[2], incident(codes[6], "lainnya", 2, at=t))], at=t + timedelta(minutes=2))
    field.sweep(t + timedelta(minutes=2))
    record(t + timedelta(minutes=2))
    t = at("08:00")
    with Session(field.engine) as s:
        transition(
            session=s,
            incident_id=riot,
            action=Action.ACCEPT,
            expected_version=1,
            actor="session:cmd#1",
            now=t,
        )
        correct_state(
            session=s,
            tps=s.exec(select(Tps).where(col(Tps.code) == codes[1])).one(),
            phase=Phase.LOGISTIK_TIBA,
            situation=Situation.AMAN,
            reason="salah lapor",
            actor="session:cmd#1",
            now=t,
        )
    field.sweep(t)
    record(t)
    t = at("08:20")
    field.send(
        [
            (nrp[0], ping(codes[1], "pemungutan", at=t)),
            (nrp[0], ping(codes[1], "persiapan", "gangguan", at=at("07:50"))),
        ],
        at=t,
    )
    with Session(field.engine) as s:
        open_alerts = list(s.exec(select(Alert).where(col(Alert.cleared_at).is_(None))))
        assert len(open_alerts) > 1
        acknowledge(session=s, alert_id=open_alerts[-1].id or 0, actor="session:cmd#1", now=t)
        silence(
            session=s, alert_id=open_alerts[-2].id or 0, actor="session:cmd#1", now=t, minutes=30
        )
    record(t)
    field.sweep(t + timedelta(seconds=30))
    record(t + timedelta(seconds=30))
    t = at("09:00")
    with Session(field.engine) as s:
        other = field.send([(nrp[3], incident(codes[9], severity=2, at=t))], at=t).incident_ids[0]
        inc = list_public(session=s, ids=[riot])[0]
        merge(
            session=s,
            incident_id=riot,
            others=[other],
            expected_version=inc.version,
            actor="session:cmd#1",
            now=t + timedelta(minutes=1),
        )
        inc = list_public(session=s, ids=[riot])[0]
        first = s.exec(
            select(IncidentReport.id)
            .where(col(IncidentReport.incident_id) == riot)
            .order_by(col(IncidentReport.id))
        ).first()
        split(
            session=s,
            incident_id=riot,
            report_id=first or 0,
            expected_version=inc.version,
            actor="session:cmd#1",
            now=t + timedelta(minutes=2),
        )
    field.sweep(t + timedelta(minutes=2))
    record(t + timedelta(minutes=2))
    t = at("12:40")  # boxes sealed and on the road: custody steps join the pings' merge
    field.send(
        [
            (nrp[0], custody(codes[0], "segel", at=t)),
            (nrp[0], custody(codes[0], "berangkat", at=t, minutes=5)),
            (nrp[1], custody(codes[3], "segel", at=t)),
        ],
        at=t + timedelta(minutes=5),
    )
    field.sweep(t + timedelta(minutes=5))
    record(t + timedelta(minutes=5))
    t = at("13:30")  # silent officers, behind schedule
    field.sweep(t)
    record(t)
    return seen


def test_every_recorded_moment_replays_to_the_live_picture(
    field: Field, mini: MiniRegistry
) -> None:
    seen = scripted_day(field, mini)
    assert any(p["alerts"] for _, p in seen), "the scripted day raised no alert"
    assert any(p["incidents"] for _, p in seen)
    alerts = [a for _, p in seen for a in p["alerts"]]
    assert any(a["acknowledged_at"] for a in alerts) and any(a["silenced_at"] for a in alerts)
    tps = [t for _, p in seen for t in p["tps"]]
    assert any(t["claimed_phase"] for t in tps) and any(t["corrected_at"] for t in tps)
    assert any(t["incident_situation"] for t in tps)
    assert any(t["phase"] == "kotak_dikawal" for t in tps)
    # The side panels change over the day too: officers heard, a TPS's events.
    heard = [o["last_seen_at"] for _, p in seen for o in p["officers"]]
    assert None in heard and any(heard)
    assert len({len(p["details"][DETAILED[0]]["events"]) for _, p in seen}) > 2
    for moment, expected in seen:
        assert replayed(field.engine, moment) == expected, moment
    # Later moments with nothing new in between replay to the same picture.
    moment, expected = seen[-1]
    assert replayed(field.engine, moment + timedelta(seconds=1)) == expected


def test_a_moment_before_anything_shows_an_empty_day(field: Field, mini: MiniRegistry) -> None:
    scripted_day(field, mini)
    pic = replayed(field.engine, wib(26, "12:00"))
    assert pic["incidents"] == [] and pic["alerts"] == []
    assert all(t["phase"] is None and t["last_seen_at"] is None for t in pic["tps"])
    assert len(pic["tps"]) == len(mini.tps_codes)


def test_replay_is_cut_to_the_area(field: Field, mini: MiniRegistry) -> None:
    scripted_day(field, mini)
    with Session(field.engine) as s:
        other = state_at(session=s, area_code="17.01", at=wib(27, "13:30"))
    assert other.tps == [] and other.incidents == []
    assert all(a.kabupaten_code is None for a in other.alerts)


def test_rollup_and_log_at_the_end_are_the_live_ones(field: Field, mini: MiniRegistry) -> None:
    seen = scripted_day(field, mini)
    end = seen[-1][0]
    with Session(field.engine) as s:
        assert rollup_at(session=s, area_code=AREA, at=end) == summary(session=s, area_code=AREA)
        assert rollup_at(session=s, area_code=None, at=end) == summary(session=s, area_code=None)
        assert log_at(session=s, area_code=AREA, at=end) == recent_log(session=s, area_code=AREA)
        early = log_at(session=s, area_code=AREA, at=wib(27, "07:05"))
        assert early and all(e.at <= wib(27, "07:05") for e in early)
        assert positions_at(session=s, area_code=AREA, at=end, stale_s=600) == []


@pytest.mark.parametrize("hhmm", ["07:00", "07:32", "08:20", "09:02"])
def test_rollup_at_a_moment_counts_the_replayed_tps(
    field: Field, mini: MiniRegistry, hhmm: str
) -> None:
    scripted_day(field, mini)
    with Session(field.engine) as s:
        st = state_at(session=s, area_code=AREA, at=wib(27, hhmm))
        counts = rollup_at(session=s, area_code=AREA, at=wib(27, hhmm))
    by_kec: dict[str, dict[str, int]] = {}
    for v in st.tps:
        phases = by_kec.setdefault(v.kecamatan_code, {})
        key = v.phase.value if v.phase else "belum"
        phases[key] = phases.get(key, 0) + 1
    assert {c.kecamatan_code: c.phases for c in counts.data} == by_kec


def test_officers_last_fix_as_known_at_a_moment(field: Field, mini: MiniRegistry) -> None:
    from backend.positions.service import Fix, store_fixes

    officer = mini.officer_ids[0]
    fixes = [
        Fix(officer, wib(27, "07:00"), -4.30, 104.35, wib(27, "07:00"), "traccar"),
        Fix(officer, wib(27, "08:00"), -4.31, 104.36, wib(27, "08:00"), "traccar"),
        # Measured at 07:30, arrived at 09:00 (out of signal): not known before 09:00.
        Fix(officer, wib(27, "07:30"), -4.32, 104.37, wib(27, "09:00"), "traccar"),
        Fix(mini.officer_ids[1], wib(27, "07:45"), -4.1, 104.6, wib(27, "07:45"), "owntracks"),
    ]
    field.db.begin()
    store_fixes(field.db, fixes)
    field.db.commit()
    with Session(field.engine) as s:

        def where(hhmm: str) -> dict[str, tuple[float, float, bool]]:
            got = positions_at(session=s, area_code=AREA, at=wib(27, hhmm), stale_s=2700)
            return {f.nrp: (f.lat, f.lon, f.is_stale) for f in got}

        nrp = mini.officer_nrps
        assert where("06:59") == {}
        assert where("07:40") == {nrp[0]: (-4.30, 104.35, False)}
        assert where("07:50") == {nrp[0]: (-4.30, 104.35, True), nrp[1]: (-4.1, 104.6, False)}
        assert where("08:30")[nrp[0]] == (-4.31, 104.36, False)
        assert where("09:00")[nrp[0]] == (-4.31, 104.36, True)  # the late one is older
        assert positions_at(session=s, area_code="17.01", at=wib(27, "09:00"), stale_s=60) == []


def test_resolved_incidents_waiting_to_close_as_they_were(field: Field, mini: MiniRegistry) -> None:
    from backend.replay.service import resolved_at

    t = wib(27, "09:00")
    out = field.send([(mini.officer_nrps[0], incident(mini.tps_codes[0], at=t))], at=t)
    iid = out.incident_ids[0]
    seen = []
    with Session(field.engine) as s:
        steps = [
            (Action.ACCEPT, {}),
            (Action.DISPATCH, {"unit_code": "polsek-belitang"}),
            (Action.RESOLVE, {}),
            (Action.CLOSE, {}),
        ]
        for i, (action, target) in enumerate(steps):
            moment = t + timedelta(minutes=10 * (i + 1))
            transition(
                session=s,
                incident_id=iid,
                action=action,
                expected_version=i,
                actor="session:cmd#1",
                now=moment,
                **target,  # type: ignore[arg-type]
            )
            waiting = [
                x.model_dump(mode="json")
                for x in list_public(session=s, area_code=AREA)
                if x.status.value == "selesai"
            ]
            seen.append((moment, waiting))
        for moment, waiting in seen:
            got = resolved_at(session=s, area_code=AREA, at=moment)
            assert [x.model_dump(mode="json") for x in got] == waiting, moment
    assert [bool(w) for _, w in seen] == [False, False, True, False]
