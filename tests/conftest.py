"""Shared fixtures: settings on a fresh SQLite file, a real server on a free port, tokens."""

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, text

from backend.app import create_app
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from tests.factories import MiniRegistry, device_token, person_token, seed_mini

TEST_SECRET = "test-secret-not-for-production"
# The suite runs on SQLite by default and on PostgreSQL with POSKO_TEST_DB=postgres (CI does
# both); each test gets a database of its own.
TEST_DB = os.environ.get("POSKO_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "POSKO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# CI sets POSKO_TEST_STRICT=1: there a missing part of the machine (browser, PostgreSQL, Redis,
# schemathesis) fails the run instead of skipping quietly; on a laptop it skips with the reason.
STRICT = os.environ.get("POSKO_TEST_STRICT") == "1"
MISSING_PART = ("not reachable", "needs Debian chromium", "is not installed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under POSKO_TEST_STRICT, turn a skip for a missing service or tool into a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if STRICT and report.skipped and any(m in str(report.longrepr) for m in MISSING_PART):
        report.outcome = "failed"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options for the long runs that `make soak` uses."""
    parser.addoption("--soak-minutes", default="1", help="length of the soak test (make soak: 30)")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_available() -> bool:
    """Whether the test PostgreSQL answers."""
    try:
        eng = create_engine(PG_ADMIN_URL)
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:  # any failure means "not here"
        return False


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it afterwards."""
    name = f"posko_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of the kind this run tests."""
    if TEST_DB == "postgres":
        if not pg_available():
            pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
        with fresh_pg_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'posko.db'}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings on a fresh database, untouched by the environment's .env."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        secret_key=TEST_SECRET,
        # Tests pin device times to election day 2024: accept them as if they were fresh.
        max_age_s=10 * 365 * 24 * 3600.0,
        max_future_s=10 * 365 * 24 * 3600.0,
        clock_skew_tolerance_s=10 * 365 * 24 * 3600.0,
        late_after_s=10 * 365 * 24 * 3600.0,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """A migrated database."""
    eng = make_engine(settings)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def mini(engine: Engine) -> MiniRegistry:
    """A small registry: 12 TPS, 4 officers."""
    return seed_mini(engine)


@dataclass
class LiveServer:
    """A real uvicorn server in a background thread."""

    url: str
    ws_url: str
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket | None = None

    def stop(self) -> None:
        """Shut the server down and wait for it."""
        self.server.should_exit = True
        self.thread.join(timeout=15)
        if self.sock is not None:
            self.sock.close()  # already closed by a clean shutdown; not after a failed start


def bound_socket(port: int | None = None) -> socket.socket:
    """A TCP socket on 127.0.0.1, bound now to `port` (or to one the kernel picks)."""
    # Picking a free port and letting the server bind it later leaves a gap in which any
    # process's outgoing connection may take that port (the shared machine opens thousands);
    # a socket bound here and handed to uvicorn has no such gap.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port or 0))
    return sock


def start_server(
    settings: Settings, port: int | None = None, *, log_level: str = "warning"
) -> LiveServer:
    """Start create_app(settings) under uvicorn on `port` (or a free one); wait until it answers."""
    sock = bound_socket(port)
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level=log_level,
        ws_max_size=settings.ws_max_message_bytes,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    # Generous: starting is migrations, the registry index and the Dash app, on a busy machine.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.started:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                pass
        if not thread.is_alive():
            sock.close()
            raise RuntimeError("server exited while starting")
        time.sleep(0.05)
    else:
        sock.close()
        raise RuntimeError("server did not start")
    return LiveServer(
        url=url, ws_url=f"ws://127.0.0.1:{port}", server=server, thread=thread, sock=sock
    )


@pytest.fixture
def server(settings: Settings, mini: MiniRegistry) -> Iterator[LiveServer]:
    """A running server on the mini registry."""
    srv = start_server(settings)
    yield srv
    srv.stop()


@pytest.fixture
def device(engine: Engine, mini: MiniRegistry) -> str:
    """A device token of the first officer (assigned to the first three TPS)."""
    return device_token(engine, mini.officer_ids[0])


@pytest.fixture
def viewer(engine: Engine, mini: MiniRegistry) -> str:
    """A viewer's API token."""
    return person_token(engine)
