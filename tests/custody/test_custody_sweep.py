"""Custody alerts from stored steps and fixes: the sweeper's read, in any arrival order."""

from datetime import datetime, timedelta

from sqlalchemy import Engine, text
from sqlmodel import Session

from backend.alerts.rules import standing_still
from backend.alerts.service import load_facts, sweep
from backend.config import Settings
from backend.custody.service import convoy_fixes
from backend.positions.models import OfficerLastFix, OfficerPosition
from tests.conftest import LiveServer
from tests.custody.builders import custody
from tests.factories import NOW, MiniRegistry
from tests.helpers import field_socket, send

M = timedelta(minutes=1)


def _fixes(engine: Engine, officer_id: int, fixes: list[tuple[datetime, float, float]]) -> None:
    """An officer's fixes, and the newest as the last fix (what the position writers keep)."""
    with Session(engine) as s:
        for at, lat, lon in fixes:
            s.add(
                OfficerPosition(
                    officer_id=officer_id,
                    device_time=at,
                    lat=lat,
                    lon=lon,
                    received_at=at,
                    source="traccar",
                )
            )
        at, lat, lon = max(fixes)
        s.merge(
            OfficerLastFix(
                officer_id=officer_id,
                device_time=at,
                received_at=at,
                lat=lat,
                lon=lon,
                source="traccar",
            )
        )
        s.commit()


def _open_alerts(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as c:
        rows = c.execute(text("SELECT kind, subject FROM alert WHERE cleared_at IS NULL")).all()
    return {(k, s) for k, s in rows if k.startswith("custody")}


def test_stored_steps_in_opposite_orders_raise_the_same_custody_alerts(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine, settings: Settings
) -> None:
    a, b, c = mini.tps_codes[:3]
    steps = {
        a: [custody(a, "segel", minutes=0)],  # sealed, never left
        b: [
            custody(b, "segel", minutes=0),
            custody(b, "berangkat", minutes=5),  # on the road, never arrives
        ],
        c: [
            custody(c, "segel", minutes=0),
            custody(c, "berangkat", minutes=5),
            custody(c, "tiba", minutes=20),
            custody(c, "serah_terima", minutes=25, ba_number=None),
        ],
    }
    with field_socket(server.ws_url, device) as ws:
        for code in (a, b):
            for s in steps[code]:
                assert send(ws, s)["result"] == "stored"
        for s in reversed(steps[c]):  # the handover first, the seal last
            assert send(ws, s)["result"] == "stored"
    now = NOW + 6 * 60 * M
    sweep(engine=engine, settings=settings, now=now, listening_since=NOW, intake_stalled=False)
    assert _open_alerts(engine) == {
        ("custody_not_departed", a),
        ("custody_overdue", b),
        ("custody_no_ba", c),
    }
    # The handover's number arrives late, as a second report: the alert clears.
    with field_socket(server.ws_url, device) as ws:
        assert send(ws, custody(c, "serah_terima", minutes=30))["result"] == "stored"
    sweep(engine=engine, settings=settings, now=now, listening_since=NOW, intake_stalled=False)
    assert ("custody_no_ba", c) not in _open_alerts(engine)


def test_escort_fixes_standing_still_reach_the_rules(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine, settings: Settings
) -> None:
    code = mini.tps_codes[0]
    dep = NOW + 10 * M
    with field_socket(server.ws_url, device) as ws:
        step = custody(code, "berangkat", minutes=10, escort_nrps=[mini.officer_nrps[1]])
        assert send(ws, step)["result"] == "stored"
    stood = [(dep + i * M, -4.30 + i * 0.00002, 104.35) for i in range(17)]
    _fixes(engine, mini.officer_ids[1], stood)
    now = dep + 16 * M
    with Session(engine) as s:
        facts = load_facts(session=s, now=now, listening_since=NOW, intake_stalled=False)
    (box,) = [f for f in facts.custody if f.code == code]
    assert {f[0] for f in box.fixes} == {mini.officer_nrps[1]}
    sweep(engine=engine, settings=settings, now=now, listening_since=NOW, intake_stalled=False)
    assert ("custody_still", code) in _open_alerts(engine)


def test_the_reduced_fixes_give_the_convoy_rule_the_same_answer_as_all_of_them(
    engine: Engine, mini: MiniRegistry, settings: Settings
) -> None:
    t0 = NOW
    still = [(t0 + i * M / 6, -4.3 + (i % 5) * 0.0001, 104.35) for i in range(6 * 25)]
    moving = [(t0 + i * M / 6, -4.3 + i * 0.0003, 104.35) for i in range(6 * 25)]
    # Stood 10 minutes, moved off 200 m, stood again for the last 12 minutes.
    moved_off = [(t0 + i * M, -4.3 if i < 13 else -4.302, 104.35) for i in range(25)]
    quiet = [(t0 + i * M, -4.3, 104.35) for i in range(8)]  # nothing for the last 17 minutes
    cases = dict(zip(mini.officer_ids, (still, moving, moved_off, quiet), strict=True))
    for oid, fixes in cases.items():
        _fixes(engine, oid, fixes)
    now = t0 + 25 * M
    with Session(engine) as s:
        reduced = convoy_fixes(session=s, officer_ids=cases, now=now, window=15 * M, radius_m=100.0)
    answers = {
        oid: (
            standing_still(fixes, now, settings) is not None,
            standing_still(reduced.get(oid, []), now, settings) is not None,
        )
        for oid, fixes in cases.items()
    }
    assert list(answers.values()) == [(True, True), (False, False), (False, False), (False, False)]
