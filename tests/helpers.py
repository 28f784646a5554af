"""Field-event builders and small clients used across tests."""

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, text
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


def _on_writer_loop(writer: Any, fn: Any) -> None:
    """Run `fn` on the writer's event loop (its connection has one user at a time), and wait."""
    loop = writer._task.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        fn()
        return

    async def call() -> None:
        fn()

    asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=30)


@contextmanager
def storage_outage(engine: Engine, writer: Any) -> Iterator[None]:
    """Make the database refuse the writer's writes inside the block: a real fault, no patching.

    SQLite: the writer's own connection turns read-only (`PRAGMA query_only`), so every write
    fails with "attempt to write a readonly database", as on a disk remounted read-only.
    PostgreSQL: the database stops accepting connections and every session on it is terminated,
    as in a failover; the writer's connection is gone for good and must be opened again.
    """
    if engine.dialect.name == "sqlite":
        _on_writer_loop(writer, lambda: writer._db.conn.execute("PRAGMA query_only=1"))
        try:
            yield
        finally:
            _on_writer_loop(writer, lambda: writer._db.conn.execute("PRAGMA query_only=0"))
        return
    from tests.conftest import PG_ADMIN_URL

    name = engine.url.database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
        yield
    finally:
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
