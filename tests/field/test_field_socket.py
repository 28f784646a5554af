"""/ws/field with the device token offered as a subprotocol, as the phone's browser must send it."""

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import Engine, text
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from backend.config import REPO_DIR, Settings
from backend.redact import REDACTED, RedactSecrets
from schemas.enums import Role
from tests.conftest import LiveServer, free_port
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import count, ping, send

V1 = "posko.v1"


def _bearer(token: str) -> str:
    return f"posko.bearer.{token}"


def _open(server: LiveServer, *protocols: str, query: str = "", **headers: str) -> ClientConnection:
    return connect(
        f"{server.ws_url}/ws/field{query}",
        subprotocols=list(protocols),  # type: ignore[arg-type]
        additional_headers=headers,
        open_timeout=10,
    )


def _officer_of_ping(engine: Engine, event_id: str) -> int:
    # The uuid column: native on PostgreSQL, 32 hex digits on SQLite.
    eid = event_id if engine.dialect.name == "postgresql" else uuid.UUID(event_id).hex
    with engine.connect() as c:
        row = c.execute(text("SELECT officer_id FROM ping WHERE event_id = :e"), {"e": eid})
        return int(row.scalar_one())


def _refusal(ws: ClientConnection) -> tuple[dict[str, str], int | None]:
    frame = orjson.loads(ws.recv(timeout=10))
    assert frame["type"] == "error", frame
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    return frame["error"], closed.value.rcvd.code if closed.value.rcvd else None


def test_socket001_a_token_offered_as_subprotocol_is_served_and_posko_v1_selected(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    token = device_token(engine, mini.officer_ids[0])
    with _open(server, V1, _bearer(token)) as ws:
        assert ws.subprotocol == V1
        assert ws.response is not None
        answered = " ".join(f"{k}: {v}" for k, v in ws.response.headers.raw_items())
        assert ws.response.headers["Sec-WebSocket-Protocol"] == V1
        assert token not in answered  # the token is never echoed back
        p = ping(mini.tps_codes[0])
        assert send(ws, [p])[0]["result"] == "stored"
    assert _officer_of_ping(engine, p["event_id"]) == mini.officer_ids[0]


def test_socket002_the_token_is_taken_from_header_then_subprotocol_then_cookie_then_query(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    first = device_token(engine, mini.officer_ids[0])
    second = device_token(engine, mini.officer_ids[1])
    viewer = person_token(engine, Role.VIEWER)
    bogus = "pkd_" + "x" * 43

    def served_as(ws: ClientConnection) -> int:
        p = ping(mini.tps_codes[0])
        ack = send(ws, p)
        assert ack["result"] == "stored", ack
        return _officer_of_ping(engine, p["event_id"])

    # The Authorization header outranks the subprotocol, both ways.
    with _open(server, V1, _bearer(second), authorization=f"Bearer {first}") as ws:
        assert served_as(ws) == mini.officer_ids[0]
    with _open(server, V1, _bearer(first), authorization=f"Bearer {bogus}") as ws:
        assert _refusal(ws) == ({"field": "token", "reason": "unknown credential"}, 1008)
    # The subprotocol outranks the cookie and ?token=.
    with _open(server, V1, _bearer(second), cookie=f"posko_token={viewer}") as ws:
        assert served_as(ws) == mini.officer_ids[1]
    with _open(server, V1, _bearer(second), query=f"?token={first}") as ws:
        assert served_as(ws) == mini.officer_ids[1]
    with _open(server, V1, _bearer(bogus), query=f"?token={first}") as ws:
        assert _refusal(ws)[0]["reason"] == "unknown credential"
    # Without a subprotocol token, the cookie and the query work as before.
    with _open(server, V1, query=f"?token={first}") as ws:
        assert ws.subprotocol == V1 and served_as(ws) == mini.officer_ids[0]
    with _open(server, V1, cookie=f"posko_token={viewer}", origin=server.url) as ws:
        assert _refusal(ws)[0]["reason"] == "not a device credential"


def test_socket003_a_refused_subprotocol_token_is_kept_by_its_prefix_only(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    bogus = "pkd_" + "y" * 43
    with _open(server, V1, _bearer(bogus)) as ws:
        assert ws.subprotocol == V1  # accepted, so that the browser reads why it is refused
        assert _refusal(ws) == ({"field": "token", "reason": "unknown credential"}, 1008)
    viewer = person_token(engine, Role.VIEWER)
    with _open(server, V1, _bearer(viewer)) as ws:
        assert _refusal(ws)[0]["reason"] == "not a device credential"
    deadline = time.monotonic() + 10
    while count(engine, "auth_failure") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    with engine.connect() as c:
        rows = [tuple(r) for r in c.execute(text("SELECT path, reason, prefix FROM auth_failure"))]
    assert sorted(rows) == [
        ("/ws/field", "not a device credential", "test viewer"),
        ("/ws/field", "unknown credential", bogus[:12]),
    ]
    kept = " ".join(str(v) for r in rows for v in r)
    assert bogus not in kept and viewer not in kept and viewer[:12] not in kept


def test_socket004_another_sites_page_cannot_lean_on_the_cookie_but_the_phone_token_works(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    token = device_token(engine, mini.officer_ids[0])
    viewer = person_token(engine, Role.VIEWER)
    cookie = f"posko_token={viewer}"
    with _open(server, V1, _bearer(token), cookie=cookie, origin="https://evil.example") as ws:
        assert send(ws, ping(mini.tps_codes[0]))["result"] == "stored"
    with _open(server, V1, cookie=cookie, origin="https://evil.example") as ws:
        frame = orjson.loads(ws.recv(timeout=10))
        assert frame["error"]["field"] == "origin"


def _serve_traced(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`posko serve`'s log configuration at uvicorn's most verbose level (headers logged)."""
    script = (
        "import uvicorn\n"
        "from backend.cli import _log_config\n"
        f"uvicorn.run('backend.main:app', port={port}, log_config=_log_config(),"
        " log_level='trace', access_log=True)\n"
    )
    env = {
        **os.environ,
        "POSKO_DATABASE_URL": settings.database_url,
        "POSKO_SECRET_KEY": settings.secret_key,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", script], env=env, cwd=REPO_DIR, stdout=out, stderr=out
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start:\n" + log.read_text(errors="replace"))


def test_socket005_the_subprotocol_token_never_reaches_a_log_line_even_at_trace_level(
    settings: Settings, engine: Engine, mini: MiniRegistry, tmp_path: Path
) -> None:
    token = device_token(engine, mini.officer_ids[0])
    revoked_looking = "pkd_" + "z" * 43
    port = free_port()
    log = tmp_path / "serve.log"
    proc = _serve_traced(settings, port, log)
    try:
        url = f"ws://127.0.0.1:{port}/ws/field"
        for offered in (token, revoked_looking):
            offers = [V1, _bearer(offered)]
            with connect(url, subprotocols=offers, open_timeout=10) as ws:  # type: ignore[arg-type]
                # The unknown one is answered with an error frame and closed at once.
                with contextlib.suppress(ConnectionClosed):
                    ws.send(orjson.dumps(ping(mini.tps_codes[0])).decode())
                assert orjson.loads(ws.recv(timeout=10))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    text_ = log.read_text(errors="replace")
    # The handshake's headers were logged (that is what trace level does) ...
    assert "posko.bearer.[redacted]" in text_, text_[-3000:]
    # ... and neither token, nor the prefix that names it, is anywhere in the log.
    for secret in (token, revoked_looking):
        assert secret not in text_ and secret[:12] not in text_


def test_socket006_a_log_line_printing_an_asgi_scope_is_redacted_whatever_the_token() -> None:
    secret, odd = "pkd_" + "s" * 43, "not-a-posko-looking-token"
    scope = {
        "type": "websocket",
        "path": "/ws/field",
        "query_string": f"token={secret}".encode(),
        "headers": [(b"authorization", f"Bearer {secret}".encode())],
        "subprotocols": [V1, _bearer(odd)],
    }
    record = logging.LogRecord(
        "uvicorn.asgi",
        5,
        __file__,
        1,
        "%s - ASGI [%d] Started scope=%s",
        ("127.0.0.1:5000", 3, scope),
        None,
    )
    assert RedactSecrets().filter(record)
    line = record.getMessage()
    assert line.startswith("127.0.0.1:5000 - ASGI [3] Started scope={")
    assert secret not in line and odd not in line
    assert f"posko.bearer.{REDACTED}" in line
    # A line of plain arguments keeps them (uvicorn's access formatter reads them one by one).
    plain = logging.LogRecord("x", 20, __file__, 1, "%s %d", (f"posko.bearer.{odd}", 1), None)
    assert RedactSecrets().filter(plain)
    assert plain.args == (f"posko.bearer.{REDACTED}", 1)
