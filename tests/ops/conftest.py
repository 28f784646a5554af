"""Fixtures for operations tests: fast password hashing, a field harness, users."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from backend.auth.service import issue
from backend.authority import SERVER
from backend.config import Settings
from backend.users.service import create
from schemas.enums import CredentialKind, Role
from schemas.ops import UserCreate
from tests.conftest import LiveServer, start_server
from tests.factories import NOW, MiniRegistry, device_token, person_token
from tests.ops.harness import Field, wib

PASSWORD = "kata-sandi-rahasia"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with cheap argon2 parameters (hashing is not what is tested)."""
    return settings.model_copy(update={"password_time_cost": 1, "password_memory_kib": 1024})


@pytest.fixture
def field(engine: Engine, settings: Settings, mini: MiniRegistry) -> Iterator[Field]:
    """The real intake path and sweeper on the mini registry."""
    f = Field(engine, settings)
    yield f
    f.close()


def add_user(
    engine: Engine, settings: Settings, username: str, role: Role, area: str | None = None
) -> int:
    """Create a user whose password is PASSWORD (national unless `area`); return its id."""
    with Session(engine) as s:
        user = create(
            session=s,
            data=UserCreate(
                username=username,
                full_name=username.title(),
                role=role,
                password=PASSWORD,
                area_code=area,
            ),
            now=NOW,
            actor="test",
            settings=settings,
            authority=SERVER,
        )
        assert user.id is not None
        return user.id


@pytest.fixture
def ops_server(settings: Settings, mini: MiniRegistry) -> Iterator[LiveServer]:
    """A real server whose clock starts at 08:00 WIB on voting day; sweeps every 50 ms."""
    srv = start_server(
        settings.model_copy(update={"clock_start": wib(27, "08:00"), "sweep_interval_s": 0.05})
    )
    yield srv
    srv.stop()


@pytest.fixture
def tokens(engine: Engine, mini: MiniRegistry) -> dict[str, str]:
    """One API token per role, a kiosk token, and a device token."""
    out = {r.value: person_token(engine, r) for r in Role}
    with Session(engine) as s:
        _, out["kiosk"] = issue(session=s, kind=CredentialKind.KIOSK, name="wall", now=NOW)
    out["device"] = device_token(engine, mini.officer_ids[0])
    return out


def auth(token: str) -> dict[str, str]:
    """Bearer header."""
    return {"authorization": f"Bearer {token}"}
