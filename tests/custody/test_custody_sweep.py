"""Custody alerts from stored steps and fixes: the sweeper's read, in any arrival order."""

from datetime import timedelta

from sqlalchemy import Engine, text
from sqlmodel import Session

from backend.alerts.service import load_facts, sweep
from backend.config import Settings
from backend.positions.models import OfficerPosition
from tests.conftest import LiveServer
from tests.custody.builders import custody
from tests.factories import NOW, MiniRegistry
from tests.helpers import field_socket, send

M = timedelta(minutes=1)


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
    with Session(engine) as s:
        for i in range(17):
            s.add(
                OfficerPosition(
                    officer_id=mini.officer_ids[1],
                    device_time=dep + i * M,
                    lat=-4.30 + i * 0.00002,
                    lon=104.35,
                    received_at=dep + i * M,
                    source="traccar",
                )
            )
        s.commit()
    now = dep + 16 * M
    with Session(engine) as s:
        facts = load_facts(session=s, now=now, listening_since=NOW, intake_stalled=False)
    (box,) = [f for f in facts.custody if f.code == code]
    assert {f[0] for f in box.fixes} == {mini.officer_nrps[1]}
    sweep(engine=engine, settings=settings, now=now, listening_since=NOW, intake_stalled=False)
    assert ("custody_still", code) in _open_alerts(engine)
