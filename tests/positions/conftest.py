"""Tracker keys bound to the mini registry's officers, and reads of the stored positions."""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from backend.positions.service import bind_key
from tests.factories import NOW, MiniRegistry


def bind(engine: Engine, nrp: str, key: str | None = None) -> str:
    """Bind a tracker key to an officer (as `posko officer tracker` does); return it."""
    with Session(engine) as s:
        _, got = bind_key(session=s, nrp=nrp, key=key, actor="test", now=NOW)
    return got


@pytest.fixture
def key(engine: Engine, mini: MiniRegistry) -> str:
    """The first officer's tracker key."""
    return bind(engine, mini.officer_nrps[0])


def positions(engine: Engine, where: str = "1=1") -> list[dict[str, Any]]:
    """Stored fixes, oldest first, times as aware UTC datetimes."""
    with engine.connect() as c:
        rows = c.execute(
            text(f"SELECT * FROM officer_position WHERE {where} ORDER BY device_time")
        ).mappings()
        return [dict(r, device_time=as_utc(r["device_time"])) for r in rows]


def as_utc(value: Any) -> datetime:
    """A stored time (string on SQLite) as an aware UTC datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
