"""Credential checks at national scale: a long cache, revocations announced to every node, and
database reads kept off the event loop (issue 15 follow-up)."""

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select
from websockets.exceptions import ConnectionClosed

from backend.auth.models import Credential
from backend.auth.service import hash_token
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from schemas.enums import Role
from tests.conftest import settings_on, start_server
from tests.factories import MiniRegistry, device_token, person_token, seed_mini
from tests.helpers import field_socket, ping, send
from tests.scale.conftest import REPO, Node, node_env, redis_url, start_node

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

# The national defaults, spelled out so that a node which only had its cache to rely on would
# keep a revoked credential for minutes and fail these tests.
LONG = {"POSKO_CREDENTIAL_CACHE_S": "300", "POSKO_FIELD_REVALIDATE_S": "60"}
PROMPT_S = 5.0  # "at once": far below the cache (300 s) and the sockets' backstop (60 s)


@pytest.fixture
def cluster_db(pg_url: str) -> Iterator[tuple[str, Engine, MiniRegistry]]:
    """A migrated PostgreSQL database with the mini registry, shared by every node."""
    engine = make_engine(Settings(database_url=pg_url))
    upgrade(engine)
    mini = seed_mini(engine)
    yield pg_url, engine, mini
    engine.dispose()


def _credential_id(engine: Engine, token: str) -> int:
    with Session(engine) as s:
        cred = s.exec(select(Credential).where(Credential.token_hash == hash_token(token))).one()
    assert cred.id is not None
    return cred.id


def _revoke_via_api(node: Node, admin: str, cred_id: int, env: dict[str, str]) -> None:
    r = httpx.delete(
        f"{node.url}/api/v1/credentials/{cred_id}",
        headers={"authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text


def _revoke_via_cli(node: Node, admin: str, cred_id: int, env: dict[str, str]) -> None:
    # Another process, with no hub of its own: it announces on the cluster's Redis directly.
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "token", "revoke", str(cred_id)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cannot be told" not in done.stdout


@pytest.mark.parametrize("revoke", [_revoke_via_api, _revoke_via_cli], ids=["api", "cli"])
def test_a_credential_revoked_on_one_node_is_refused_at_once_on_another(
    cluster_db: tuple[str, Engine, MiniRegistry],
    nodes: list[Node],
    redis_prefix: str,
    tmp_path: Path,
    revoke: object,
) -> None:
    url, engine, mini = cluster_db
    env = node_env(url, POSKO_BROADCAST_URL=redis_url(redis_prefix), **LONG)
    a, b = start_node(env, tmp_path), start_node(env, tmp_path)
    nodes += [a, b]
    admin = person_token(engine, Role.ADMIN)
    token = device_token(engine, mini.officer_ids[0])
    cred_id = _credential_id(engine, token)
    with field_socket(b.ws_url, token) as busy, field_socket(b.ws_url, token) as idle:
        # Node B has resolved (and cached) the credential as valid.
        assert send(busy, ping(mini.tps_codes[0]))["result"] == "stored"
        assert send(idle, ping(mini.tps_codes[1]))["result"] == "stored"
        assert callable(revoke)
        revoke(a, admin, cred_id, env)
        # The phone that sends nothing is told and closed within PROMPT_S of the revocation's
        # commit (the CLI's own start-up is not counted), not left until its 60 s backstop.
        frame = orjson.loads(idle.recv(timeout=PROMPT_S))
        assert frame == {
            "type": "error",
            "error": {"field": "token", "reason": "revoked credential"},
        }
        # The phone's next frame on node B is refused, not stored.
        with contextlib.suppress(ConnectionClosed):
            busy.send(orjson.dumps(ping(mini.tps_codes[2])).decode())
        reply = orjson.loads(busy.recv(timeout=PROMPT_S))
        assert reply["type"] == "error" and reply["error"]["reason"] == "revoked credential"
    # And any new request to node B, whose cache held the credential as valid a moment ago.
    r = httpx.post(
        b.url + "/api/v1/pings",
        content=orjson.dumps(ping(mini.tps_codes[3])),
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 401
    assert r.json()["detail"]["reason"] == "revoked credential"
    with engine.connect() as c:
        stored = c.execute(text("SELECT count(*) FROM ping WHERE source = 'ws'")).scalar_one()
    assert stored == 2  # the refused frame was not stored


def test_a_slow_credential_read_does_not_stall_other_phones(
    cluster_db: tuple[str, Engine, MiniRegistry],
) -> None:
    # A cache miss used to read the credential on the event loop: while that read waited on the
    # database, no other socket on the node got an ack. A table lock makes the read wait.
    url, engine, mini = cluster_db
    settings = settings_on(url).model_copy(update={"credential_cache_s": 300.0})
    srv = start_server(settings)
    try:
        steady, newcomer = (device_token(engine, o) for o in mini.officer_ids[:2])
        with field_socket(srv.ws_url, steady) as ws:
            assert send(ws, ping(mini.tps_codes[0]))["result"] == "stored"  # cached now
            with engine.connect() as lock:
                tx = lock.begin()
                lock.execute(text("LOCK TABLE credential IN ACCESS EXCLUSIVE MODE"))
                joined: dict[str, object] = {}

                def join() -> None:
                    # Its token is not cached: the server must read it, and waits on the lock.
                    with field_socket(srv.ws_url, newcomer) as other:
                        joined["reply"] = send(other, ping(mini.tps_codes[1]))

                joiner = threading.Thread(target=join, daemon=True)
                joiner.start()
                time.sleep(1.0)  # the newcomer's read is waiting on the lock by now
                assert "reply" not in joined
                for minute in range(1, 4):
                    started = time.monotonic()
                    reply = send(ws, ping(mini.tps_codes[0], minutes=minute))
                    assert reply["result"] == "stored"
                    assert time.monotonic() - started < 2.0, "an ack waited on the credential read"
                tx.rollback()
            joiner.join(timeout=15)
        assert joined["reply"]["result"] == "stored"  # type: ignore[index]
    finally:
        srv.stop()
