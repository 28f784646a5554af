"""Credentials: issued once, stored hashed, revocable within seconds."""

import contextlib
import time

import httpx
import orjson
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from websockets.exceptions import ConnectionClosed

from backend.auth.models import Credential
from backend.auth.service import hash_token, revoke
from backend.config import Settings
from tests.conftest import LiveServer
from tests.factories import NOW, MiniRegistry, device_token
from tests.helpers import field_socket, ping, send


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Sockets re-check their credential every 0.2 s and the resolver caches it as briefly (5 s
    each by default): the revocation, written behind the server's back, shows within a blink."""
    return settings.model_copy(update={"field_revalidate_s": 0.2, "credential_cache_s": 0.2})


def test_token_is_stored_only_as_a_hash(engine: Engine, mini: MiniRegistry) -> None:
    token = device_token(engine, mini.officer_ids[0])
    with Session(engine) as s:
        creds = s.exec(select(Credential)).all()
    assert len(creds) == 1
    assert creds[0].token_hash == hash_token(token)
    assert token not in {creds[0].token_hash, creds[0].prefix}


def test_revoked_token_loses_its_open_socket_and_new_connections(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    token = device_token(engine, mini.officer_ids[0])
    with field_socket(server.ws_url, token) as ws:
        assert send(ws, ping(mini.tps_codes[0]))["result"] == "stored"
        with Session(engine) as s:
            cred = s.exec(select(Credential)).one()
            assert cred.id is not None
            revoke(session=s, credential_id=cred.id, now=NOW)
        deadline = time.monotonic() + 15
        refused = False
        while time.monotonic() < deadline and not refused:
            time.sleep(0.5)
            # The server may have closed already (it re-checks idle sockets too); its error
            # frame is still there to read.
            with contextlib.suppress(ConnectionClosed):
                ws.send(orjson.dumps(ping(mini.tps_codes[0])).decode())
            reply = orjson.loads(ws.recv(timeout=10))
            refused = isinstance(reply, dict) and reply.get("type") == "error"
        assert refused, "revoked token kept working"
    r = httpx.post(
        server.url + "/api/v1/pings",
        content=orjson.dumps(ping(mini.tps_codes[0])),
        headers={"authorization": f"Bearer {token}"},
    )
    assert r.status_code == 401
    assert r.json()["detail"]["reason"] == "revoked credential"


def test_a_revoked_phone_that_sends_nothing_loses_its_socket_too(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    token = device_token(engine, mini.officer_ids[0])
    with field_socket(server.ws_url, token) as ws:
        assert send(ws, ping(mini.tps_codes[0]))["result"] == "stored"
        with Session(engine) as s:
            cred = s.exec(select(Credential)).one()
            assert cred.id is not None
            revoke(session=s, credential_id=cred.id, now=NOW)
        # The phone stays silent: the server must still tell it and close within seconds.
        frame = orjson.loads(ws.recv(timeout=20))
        assert frame["type"] == "error"
        assert frame["error"] == {"field": "token", "reason": "revoked credential"}
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
