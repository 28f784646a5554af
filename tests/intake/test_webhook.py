"""Field intake over HTTP webhooks: same validation, acks as the body, HMAC signatures."""

import logging
import socket
import time

import httpx
import orjson
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from backend.auth.models import Credential
from backend.auth.service import hash_token, hmac_secret, sign
from tests.conftest import TEST_SECRET, LiveServer
from tests.factories import MiniRegistry
from tests.helpers import count, incident, ping


def _post(server: LiveServer, path: str, body: object, token: str | None, **headers: str):
    h = {"content-type": "application/json", **headers}
    if token:
        h["authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(server.url + path, content=data, headers=h, timeout=10)


def test_single_ping_webhook_answers_with_its_ack(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    p = ping(mini.tps_codes[0])
    r = _post(server, "/api/v1/pings", p, device)
    assert r.status_code == 200
    assert r.json() == {"type": "ack", "event_id": p["event_id"], "result": "stored"}
    assert _post(server, "/api/v1/pings", p, device).json()["result"] == "duplicate"
    assert count(engine, "ping") == 1


def test_batch_with_some_rejected_answers_207_with_one_ack_each(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    batch = [ping(mini.tps_codes[0]), ping(mini.tps_codes[1], situation="kacau")]
    r = _post(server, "/api/v1/pings", batch, device)
    assert r.status_code == 207
    assert [a["result"] for a in r.json()] == ["stored", "rejected"]
    assert r.json()[1]["error"]["field"] == "situation"
    assert count(engine, "dead_letter") == 1


def test_single_bad_event_answers_422_naming_the_field(
    server: LiveServer, device: str, mini: MiniRegistry
) -> None:
    r = _post(server, "/api/v1/pings", ping(mini.tps_codes[0], phase="x"), device)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "phase"


def test_a_large_ack_is_gzipped_for_clients_that_accept_it_as_every_large_response(
    server: LiveServer, device: str, mini: MiniRegistry
) -> None:
    """Batch acks go through GZipMiddleware like any other response (WebhookRoute is inside)."""
    batch = [ping(mini.tps_codes[i % 3]) for i in range(30)]  # ~2,400 bytes of acks
    gz = _post(server, "/api/v1/pings", batch, device, **{"accept-encoding": "gzip"})
    assert gz.status_code == 200 and gz.headers["content-encoding"] == "gzip"
    assert gz.headers["vary"] == "Accept-Encoding"
    assert int(gz.headers["content-length"]) < 1000
    assert [a["result"] for a in gz.json()] == ["stored"] * 30
    plain = _post(server, "/api/v1/pings", batch, device, **{"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
    assert [a["result"] for a in plain.json()] == ["duplicate"] * 30
    small = _post(server, "/api/v1/pings", ping(mini.tps_codes[0]), device)
    assert small.status_code == 200
    assert "content-encoding" not in small.headers and "vary" not in small.headers


def test_malformed_json_answers_400_and_is_kept(server: LiveServer, device: str, engine: Engine):
    r = _post(server, "/api/v1/pings", b'{"type": "ping",', device)
    assert r.status_code == 400
    assert r.json()["error"]["field"] == "body"
    assert count(engine, "dead_letter", "field = 'body'") == 1


def test_oversize_body_answers_413_and_keeps_its_start(
    server: LiveServer, device: str, engine: Engine
) -> None:
    r = _post(server, "/api/v1/pings", b"[" + b" " * 400_000 + b"]", device)
    assert r.status_code == 413
    assert r.json()["error"]["field"] == "frame"
    assert count(engine, "dead_letter", "size > 400000") == 1


def test_incident_sent_to_pings_endpoint_is_rejected_with_a_hint(
    server: LiveServer, device: str, mini: MiniRegistry
) -> None:
    r = _post(server, "/api/v1/pings", incident(mini.tps_codes[0]), device)
    assert r.status_code == 422
    assert "/api/v1/incidents" in r.json()["error"]["reason"]
    assert (
        _post(server, "/api/v1/incidents", incident(mini.tps_codes[0]), device).status_code == 200
    )


def test_mixed_events_endpoint_takes_both_kinds(
    server: LiveServer, device: str, mini: MiniRegistry
) -> None:
    r = _post(
        server, "/api/v1/events", [ping(mini.tps_codes[0]), incident(mini.tps_codes[0])], device
    )
    assert r.status_code == 200
    assert [a["result"] for a in r.json()] == ["stored", "stored"]


def test_webhook_without_or_with_wrong_token_is_401_and_recorded(
    server: LiveServer, mini: MiniRegistry, engine: Engine, viewer: str
) -> None:
    p = ping(mini.tps_codes[0])
    assert _post(server, "/api/v1/pings", p, None).status_code == 401
    assert _post(server, "/api/v1/pings", p, "pkd_forged").status_code == 401
    assert _post(server, "/api/v1/pings", p, viewer).status_code == 401
    assert count(engine, "ping") == 0
    deadline = time.monotonic() + 30  # refusals are recorded by the writer, soon but not inline
    while count(engine, "auth_failure") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count(engine, "auth_failure") == 3


def _hmac_headers(engine: Engine, token: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    with Session(engine) as s:
        cred = s.exec(select(Credential).where(Credential.token_hash == hash_token(token))).one()
    assert cred.id is not None
    secret = hmac_secret(TEST_SECRET, cred.id, cred.token_hash)
    stamp = str(ts if ts is not None else int(time.time()))
    return {
        "x-posko-key-id": str(cred.id),
        "x-posko-timestamp": stamp,
        "x-posko-signature": sign(secret, stamp, body),
    }


def test_hmac_signed_webhook_is_accepted_once_and_replay_refused(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    body = orjson.dumps(ping(mini.tps_codes[0]))
    headers = _hmac_headers(engine, device, body)
    assert _post(server, "/api/v1/pings", body, None, **headers).status_code == 200
    replay = _post(server, "/api/v1/pings", body, None, **headers)
    assert replay.status_code == 401
    assert replay.json()["detail"]["reason"] == "replayed signature"


def test_bad_or_stale_hmac_signatures_are_refused(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    body = orjson.dumps(ping(mini.tps_codes[0]))
    tampered = _hmac_headers(engine, device, body)
    r = _post(server, "/api/v1/pings", body.replace(b"aman", b"gangguan"), None, **tampered)
    assert r.json()["detail"]["reason"] == "bad signature"
    stale = _hmac_headers(engine, device, body, ts=int(time.time()) - 3600)
    r = _post(server, "/api/v1/pings", body, None, **stale)
    assert r.json()["detail"]["reason"] == "signature timestamp outside the replay window"
    assert count(engine, "ping") == 0


def test_a_key_id_beyond_the_credential_ids_range_is_a_401_naming_it(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    """The credential id is a 32-bit INTEGER on PostgreSQL: 2**31 made its lookup a 500."""
    body = orjson.dumps(ping(mini.tps_codes[0]))
    for key_id in ("2147483648", "59393522591129", "9223372036854775807"):
        headers = {**_hmac_headers(engine, device, body), "x-posko-key-id": key_id}
        r = _post(server, "/api/v1/pings", body, None, **headers)
        assert r.status_code == 401, (key_id, r.text)
        assert r.json()["detail"]["field"] == "x-posko-key-id"
    assert count(engine, "ping") == 0


def test_openapi_documents_the_field_protocol(server: LiveServer) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"PingIn", "IncidentIn", "Ack"} <= set(schemas)
    assert "requestBody" in spec["paths"]["/api/v1/pings"]["post"]
    assert httpx.get(server.url + "/docs").status_code == 200


def test_a_phone_gone_mid_upload_is_not_a_server_error_and_nothing_is_stored(
    server: LiveServer, device: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Signal lost halfway through a POST: no ack was sent, so nothing may be stored or logged as
    an error (the engineer on call must not chase it); the phone sends it again."""
    host, port = server.url.removeprefix("http://").split(":")
    head = (
        "POST /api/v1/pings HTTP/1.1\r\nHost: posko\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {device}\r\nContent-Length: 400\r\n\r\n"
    )
    caplog.set_level(logging.INFO, "posko")  # the server notices after the socket closed
    with socket.create_connection((host, int(port))) as s:
        s.sendall(head.encode() + b'{"type": "ping", "tps": ')  # the rest never comes
        time.sleep(0.3)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "cut off" not in caplog.text:
        time.sleep(0.05)
    assert "cut off by the client" in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert count(engine, "ping") == 0
