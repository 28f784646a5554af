"""Field-event builders and small clients used across tests."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, text
from websockets.sync.client import ClientConnection, connect

from tests.factories import NOW


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 v7), as the protocol recommends."""
    import os
    import time

    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms << 80)
        | (0x7 << 76)
        | ((rand >> 62) & 0xFFF) << 64
        | (0b10 << 62)
        | (rand & ((1 << 62) - 1))
    )
    return uuid.UUID(int=value)


def ping(
    tps: str,
    phase: str = "pemungutan",
    situation: str = "aman",
    *,
    at: datetime = NOW,
    minutes: float = 0,
    event_id: uuid.UUID | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid status ping."""
    return {
        "type": "ping",
        "event_id": str(event_id or uuid7()),
        "tps": tps,
        "phase": phase,
        "situation": situation,
        "device_time": (at + timedelta(minutes=minutes)).isoformat(),
        **extra,
    }


def incident(
    tps: str | None,
    category: str = "kericuhan",
    severity: int = 3,
    *,
    at: datetime = NOW,
    minutes: float = 0,
    **extra: Any,
) -> dict[str, Any]:
    """A valid incident report."""
    body: dict[str, Any] = {
        "type": "incident",
        "event_id": str(uuid7()),
        "category": category,
        "severity": severity,
        "description": "massa berkumpul di depan TPS",
        "device_time": (at + timedelta(minutes=minutes)).isoformat(),
        **extra,
    }
    if tps is not None:
        body["tps"] = tps
    return body


def field_socket(ws_url: str, token: str | None) -> ClientConnection:
    """Open /ws/field with a Bearer header."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return connect(f"{ws_url}/ws/field", additional_headers=headers, open_timeout=10)


def send(conn: ClientConnection, payload: Any) -> Any:
    """Send one frame and return the decoded reply."""
    conn.send(orjson.dumps(payload).decode())
    return orjson.loads(conn.recv(timeout=10))


def count(engine: Engine, table: str, where: str = "1=1") -> int:
    """Rows in a table."""
    with engine.connect() as c:
        return int(c.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one())


def state_of(engine: Engine, tps: str) -> dict[str, Any]:
    """A TPS's state row as a dict."""
    with engine.connect() as c:
        row = (
            c.execute(
                text("SELECT s.* FROM tps_state s JOIN tps t ON t.id = s.tps_id WHERE t.code = :c"),
                {"c": tps},
            )
            .mappings()
            .one()
        )
    return dict(row)
