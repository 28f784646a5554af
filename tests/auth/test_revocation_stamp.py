"""A revocation made by the CLI reaches a memory:// server that nothing else could tell."""

import orjson
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from backend.auth.models import Credential
from backend.cli import token_app
from backend.config import Settings
from tests.conftest import LiveServer
from tests.factories import MiniRegistry, device_token
from tests.helpers import field_socket, ping, send

runner = CliRunner()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Nothing but the stamp can make the server re-read the credential within the test."""
    return settings.model_copy(
        update={
            "broadcast_url": "memory://",
            "credential_cache_s": 600.0,
            "field_revalidate_s": 600.0,
            "revocation_poll_s": 0.2,
        }
    )


def test_posko_token_revoke_closes_a_silent_phone_on_a_memory_server_within_seconds(
    server: LiveServer, engine: Engine, mini: MiniRegistry, settings: Settings
) -> None:
    token = device_token(engine, mini.officer_ids[0])
    other = device_token(engine, mini.officer_ids[1])
    with field_socket(server.ws_url, token) as ws, field_socket(server.ws_url, other) as kept:
        assert send(ws, ping(mini.tps_codes[0]))["result"] == "stored"
        assert send(kept, ping(mini.tps_codes[1]))["result"] == "stored"
        with Session(engine) as s:
            cid = s.exec(select(Credential.id).order_by(Credential.id)).first()
        env = {
            "POSKO_DATABASE_URL": settings.database_url,
            "POSKO_SECRET_KEY": settings.secret_key,
            "POSKO_BROADCAST_URL": "memory://",
        }
        r = runner.invoke(token_app, ["revoke", str(cid)], env=env)
        assert r.exit_code == 0, r.output
        # The phone sends nothing: the server must tell it and close, from the stamp alone.
        frame = orjson.loads(ws.recv(timeout=10))
        assert frame["type"] == "error"
        assert frame["error"] == {"field": "token", "reason": "revoked credential"}
        # The other phone's credential, also held in the cache, is untouched.
        assert send(kept, ping(mini.tps_codes[1]))["result"] == "stored"
