"""Custody steps on the intake's road: the socket and the webhooks, once, refusals kept."""

import httpx
import orjson
from sqlalchemy import Engine, text

from schemas.enums import Role
from tests.conftest import LiveServer
from tests.custody.builders import custody
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import count, field_socket, ping, send, state_of


def _post(server: LiveServer, path: str, body: object, token: str) -> httpx.Response:
    return httpx.post(
        server.url + path,
        content=orjson.dumps(body),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_custody_steps_over_the_socket_are_stored_once_and_move_the_phase(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    code = mini.tps_codes[0]
    seal = custody(code, "segel", minutes=300)
    with field_socket(server.ws_url, device) as ws:
        assert send(ws, ping(code, "penghitungan", minutes=200))["result"] == "stored"
        assert send(ws, seal) == {"type": "ack", "event_id": seal["event_id"], "result": "stored"}
        assert state_of(engine, code)["phase"] == "selesai_hitung"
        assert send(ws, seal)["result"] == "duplicate"
        assert send(ws, custody(code, "berangkat", minutes=310))["result"] == "stored"
        assert state_of(engine, code)["phase"] == "kotak_dikawal"
        assert send(ws, custody(code, "serah_terima", minutes=360))["result"] == "stored"
    state = state_of(engine, code)
    assert state["phase"] == "diterima_ppk"
    assert state["situation"] == "aman"  # kept from the ping: custody says nothing of it
    assert count(engine, "custody_event") == 3
    with engine.connect() as c:
        row = c.execute(
            text(
                "SELECT seal_numbers, tps_code, kecamatan_code, source FROM custody_event "
                "WHERE step = 'segel'"
            )
        ).one()
    assert orjson.loads(row[0]) == ["SGL-0001", "SGL-0002"]
    assert tuple(row[1:]) == (code, "16.08.01", "ws")
    assert count(engine, "tps_transition", "kind = 'phase' AND after = 'diterima_ppk'") == 1


def test_a_segel_without_seal_numbers_is_refused_naming_the_field(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    bad = custody(mini.tps_codes[0], "segel", seal_numbers=[])
    with field_socket(server.ws_url, device) as ws:
        ack = send(ws, bad)
    assert ack["result"] == "rejected"
    assert ack["error"]["field"] == "seal_numbers"
    assert count(engine, "dead_letter", "field = 'seal_numbers'") == 1
    assert count(engine, "custody_event") == 0


def test_webhook_takes_custody_refuses_a_handover_without_receiver_and_dedupes(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    code = mini.tps_codes[1]
    step = custody(code, "berangkat")
    r = _post(server, "/api/v1/custody", step, device)
    assert r.status_code == 200 and r.json()["result"] == "stored"
    assert _post(server, "/api/v1/custody", step, device).json()["result"] == "duplicate"
    assert _post(server, "/api/v1/events", [step], device).json()[0]["result"] == "duplicate"
    bad = custody(code, "serah_terima", receiver_name=None)
    r = _post(server, "/api/v1/custody", bad, device)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "receiver_name"
    # A handover without its berita acara number is stored (it raises an alert instead).
    ok = custody(code, "serah_terima", ba_number=None, minutes=20)
    assert _post(server, "/api/v1/custody", ok, device).json()["result"] == "stored"
    r = _post(server, "/api/v1/custody", ping(code), device)
    assert r.status_code == 422 and "/api/v1/pings" in r.json()["error"]["reason"]
    assert count(engine, "custody_event") == 2
    assert count(engine, "dead_letter") == 2
    assert state_of(engine, code)["phase"] == "diterima_ppk"


def test_an_unknown_step_is_refused_on_step(
    server: LiveServer, device: str, mini: MiniRegistry
) -> None:
    r = _post(server, "/api/v1/custody", custody(mini.tps_codes[0], "hilang"), device)
    assert r.status_code == 422 and r.json()["error"]["field"] == "step"


def test_custody_from_an_officer_not_assigned_is_only_a_claim(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]  # assigned to officer 0
    other = device_token(engine, mini.officer_ids[1])
    r = _post(server, "/api/v1/custody", custody(code, "serah_terima"), other)
    assert r.json()["flags"] == ["unassigned"]
    state = state_of(engine, code)
    assert state["phase"] is None
    assert state["claimed_rank"] == 6  # diterima_ppk, waiting for a commander


def test_a_step_older_than_a_commanders_correction_is_stored_flagged_and_moves_nothing(
    server: LiveServer, device: str, engine: Engine, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]
    with field_socket(server.ws_url, device) as ws:
        assert send(ws, custody(code, "segel"))["result"] == "stored"
    commander = person_token(engine, Role.COMMANDER)
    r = httpx.post(
        f"{server.url}/api/v1/tps/{code}/correction",
        headers={"authorization": f"Bearer {commander}"},
        json={"phase": "penghitungan", "reason": "segel dilaporkan terlalu cepat"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    with field_socket(server.ws_url, device) as ws:
        # Sent now, written on the phone before the correction (the server's clock is later).
        late = send(ws, custody(code, "berangkat", minutes=10))
    assert late["result"] == "stored" and late["flags"] == ["before_correction"]
    assert state_of(engine, code)["phase"] == "penghitungan"
    assert count(engine, "custody_event", "step = 'berangkat' AND flags > 0") == 1
    timeline = httpx.get(
        f"{server.url}/api/v1/tps/{code}/custody",
        headers={"authorization": f"Bearer {commander}"},
        timeout=10,
    ).json()
    assert [s["flags"] for s in timeline["steps"]] == [[], ["before_correction"]]
