"""Who may move a TPS's phase: its officers; others only claim; a commander confirms or corrects."""

import time
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine
from websockets.sync.client import connect

from backend.tps.rollup import check as check_rollup
from schemas.enums import Role
from tests.conftest import LiveServer
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import field_socket, ping, send, state_of
from tests.ops.conftest import auth


def _wait_for(fetch: Any, what: str, timeout: float = 10.0) -> Any:
    """Poll until the sweeper (woken by the change) has done its part."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fetch()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _tps(server: LiveServer, token: str, code: str) -> dict[str, Any]:
    r = httpx.get(f"{server.url}/api/v1/tps/{code}", headers=auth(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _claim_alert(server: LiveServer, token: str, code: str, state: str = "open") -> Any:
    r = httpx.get(
        server.url + "/api/v1/alerts",
        headers=auth(token),
        params={"kind": "phase_claim", "subject": code, "state": state},
    )
    return r.json()["data"]


def _delta_about(live: Any, code: str) -> dict[str, Any]:
    """The next live delta that carries the TPS (the sweeper publishes alerts in between)."""
    while True:
        msg = orjson.loads(live.recv(timeout=10))
        if msg["type"] == "delta" and any(t["code"] == code for t in msg["tps"]):
            return dict(msg)


def _audit(server: LiveServer, token: str, code: str) -> list[dict[str, Any]]:
    r = httpx.get(
        server.url + "/api/v1/audit",
        headers=auth(token),
        params={"subject_kind": "tps", "subject": code, "action": "tps."},
    )
    assert r.status_code == 200, r.text
    return list(r.json())


def test_an_unassigned_officers_diterima_ppk_waits_for_a_commanders_confirmation(
    ops_server: LiveServer, tokens: dict[str, str], engine: Engine, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]  # assigned to the first officer only
    outsider = mini.officer_ids[3]
    with field_socket(ops_server.ws_url, tokens["device"]) as ws:
        assert send(ws, ping(code, "pemungutan", minutes=-30))["result"] == "stored"
    with field_socket(ops_server.ws_url, device_token(engine, outsider)) as ws:
        ack = send(ws, ping(code, "diterima_ppk", "waspada", minutes=-10))
    assert ack["result"] == "stored" and ack["flags"] == ["unassigned"]
    view = _tps(ops_server, tokens["viewer"], code)["tps"]
    assert view["phase"] == "pemungutan"  # where its assigned officer put it
    assert view["situation"] == "waspada"  # the roving officer's report of trouble counts
    assert (view["claimed_phase"], view["claimed_by"]) == ("diterima_ppk", mini.officer_nrps[3])
    alert = _wait_for(lambda: _claim_alert(ops_server, tokens["viewer"], code), "claim alert")
    assert alert[0]["detail"]["claimed_phase"] == "diterima_ppk"

    path = f"{ops_server.url}/api/v1/tps/{code}/confirm-phase"
    body = {"phase": "diterima_ppk"}
    for who in ("viewer", "operator", "kiosk", "device"):
        assert httpx.post(path, headers=auth(tokens[who]), json=body).status_code == 403, who
    elsewhere = person_token(engine, Role.COMMANDER, area="16.10")
    outside = httpx.post(path, headers=auth(elsewhere), json=body)
    assert outside.status_code == 404 and outside.json()["detail"]["field"] == "code"
    stale = httpx.post(path, headers=auth(tokens["commander"]), json={"phase": "penghitungan"})
    assert stale.status_code == 409
    assert stale.json()["detail"] == {"field": "phase", "reason": "the claim is now diterima_ppk"}
    assert state_of(engine, code)["phase"] == "pemungutan"

    ok = httpx.post(path, headers=auth(tokens["commander"]), json=body)
    assert ok.status_code == 200, ok.text
    assert (ok.json()["phase"], ok.json()["claimed_phase"]) == ("diterima_ppk", None)
    assert state_of(engine, code)["phase"] == "diterima_ppk"
    (entry,) = _audit(ops_server, tokens["commander"], code)
    assert entry["action"] == "tps.phase_confirmed"
    assert entry["actor"].startswith("person:test commander")
    assert entry["data"]["before"]["phase"] == "pemungutan"
    assert entry["data"]["after"]["phase"] == "diterima_ppk"
    assert entry["data"]["claimed_by"] == mini.officer_nrps[3]
    again = httpx.post(path, headers=auth(tokens["commander"]), json=body)
    assert again.status_code == 409  # nothing left to confirm
    _wait_for(lambda: not _claim_alert(ops_server, tokens["viewer"], code), "claim alert cleared")
    verify = httpx.get(ops_server.url + "/api/v1/audit/verify", headers=auth(tokens["commander"]))
    assert verify.json()["ok"] is True
    assert check_rollup(engine) == 0  # the counts per kecamatan followed the TPS


def test_a_correction_rolls_a_tps_back_and_a_late_ping_with_an_earlier_time_cannot_undo_it(
    ops_server: LiveServer, tokens: dict[str, str], engine: Engine, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]
    with field_socket(ops_server.ws_url, tokens["device"]) as ws:
        # A slip of the thumb: the box is not at the PPK yet.
        assert send(ws, ping(code, "diterima_ppk", minutes=-2))["result"] == "stored"
    assert state_of(engine, code)["phase"] == "diterima_ppk"

    path = f"{ops_server.url}/api/v1/tps/{code}/correction"
    cmd = auth(tokens["commander"])
    no_reason = httpx.post(path, headers=cmd, json={"phase": "pemungutan"})
    assert no_reason.status_code == 422 and "reason" in no_reason.text
    refused = httpx.post(
        path, headers=auth(tokens["operator"]), json={"phase": "pemungutan", "reason": "x"}
    )
    assert refused.status_code == 403

    live_url = f"{ops_server.ws_url}/ws/live?token={tokens['viewer']}"
    with connect(live_url, open_timeout=10) as live:
        assert orjson.loads(live.recv(timeout=10))["type"] == "hello"
        r = httpx.post(
            path,
            headers=cmd,
            json={"phase": "pemungutan", "situation": "aman", "reason": "salah tekan di HP"},
        )
        assert r.status_code == 200, r.text
        delta = _delta_about(live, code)
    assert r.json()["phase"] == "pemungutan" and r.json()["corrected_at"] is not None
    assert [(t["code"], t["phase"]) for t in delta["tps"]] == [(code, "pemungutan")]
    assert [(e["kind"], e["before"], e["after"], e["officer"]) for e in delta["log"]] == [
        ("phase", "diterima_ppk", "pemungutan", None)
    ]
    (entry,) = _audit(ops_server, tokens["commander"], code)
    assert entry["action"] == "tps.corrected"
    assert entry["data"]["reason"] == "salah tekan di HP"
    assert (entry["data"]["before"]["phase"], entry["data"]["after"]["phase"]) == (
        "diterima_ppk",
        "pemungutan",
    )

    with field_socket(ops_server.ws_url, tokens["device"]) as ws:
        # Buffered on a phone and sent only now, but written before the correction.
        late = send(ws, ping(code, "diterima_ppk", "gangguan", minutes=-1))
        assert late["result"] == "stored" and late["flags"] == ["before_correction"]
        assert state_of(engine, code)["phase"] == "pemungutan"
        assert state_of(engine, code)["situation"] == "aman"
        # What is reported after the correction counts as ever.
        assert send(ws, ping(code, "penghitungan", minutes=5))["result"] == "stored"
    assert state_of(engine, code)["phase"] == "penghitungan"
    events = _tps(ops_server, tokens["viewer"], code)["events"]
    assert [e["flags"] for e in events if e["phase"] == "diterima_ppk"] == [
        ["before_correction"],
        [],
    ]
    assert check_rollup(engine) == 0
