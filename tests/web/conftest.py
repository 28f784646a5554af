"""Fixtures for the web edge: a real server, an admin, a user with a password, their cookies."""

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from backend.authority import SERVER
from backend.config import Settings
from backend.users.service import create
from schemas.enums import Role
from schemas.ops import UserCreate
from tests.conftest import LiveServer, start_server
from tests.factories import NOW, MiniRegistry, person_token
from tests.ops.harness import wib

PASSWORD = "kata-sandi-rahasia"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with cheap argon2 parameters (hashing is not what is tested)."""
    return settings.model_copy(update={"password_time_cost": 1, "password_memory_kib": 1024})


@pytest.fixture
def admin(engine: Engine, mini: MiniRegistry) -> str:
    """An admin's API token (used with a Bearer header, as scripts do)."""
    return person_token(engine, Role.ADMIN)


@pytest.fixture
def commander_user(engine: Engine, settings: Settings, mini: MiniRegistry) -> str:
    """A commander who signs in with a password; returns the username."""
    with Session(engine) as s:
        create(
            session=s,
            data=UserCreate(
                username="komandan", full_name="Komandan", role=Role.COMMANDER, password=PASSWORD
            ),
            now=NOW,
            actor="test",
            authority=SERVER,
            settings=settings,
        )
    return "komandan"


def sign_in(server: LiveServer, username: str) -> str:
    """Sign in with the password (JSON, as the form's script does); return the session cookie."""
    r = httpx.post(
        server.url + "/api/v1/auth/login",
        json={"username": username, "password": PASSWORD},
        headers={"origin": server.url},
    )
    assert r.status_code == 200, r.text
    return r.cookies["posko_token"]


@pytest.fixture
def browser_client(server: LiveServer) -> Iterator[httpx.Client]:
    """A client that says where it comes from as a browser on the server's own page does."""
    with httpx.Client(base_url=server.url, headers={"origin": server.url}, timeout=10) as c:
        yield c


@pytest.fixture
def ops_server(settings: Settings, mini: MiniRegistry) -> Iterator[LiveServer]:
    """A server on voting day (08:00 WIB) whose sweeper raises alerts within a blink."""
    srv = start_server(
        settings.model_copy(update={"clock_start": wib(27, "08:00"), "sweep_interval_s": 0.05})
    )
    yield srv
    srv.stop()
