"""The writer's promises to the event loop, in-process on the suite's real database."""

import asyncio
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from backend.incidents.service import IncidentRules
from backend.intake import writer as writer_module
from backend.intake.service import AuthFailureRecord
from backend.intake.writer import StorageUnavailable, Writer
from tests.factories import NOW, MiniRegistry
from tests.helpers import count, storage_outage


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait for a condition seen through another connection (a generous 10 s deadline)."""
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_indexing_pings_by_tps_never_holds_the_event_loop(
    engine: Engine, mini: MiniRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's bulk ping index runs off the loop even when commits run inline on it, and what
    arrives meanwhile is committed once it is done."""
    if engine.dialect.name != "sqlite":
        pytest.skip("by design: PostgreSQL indexes pings inside each batch's transaction")
    started, loop_answered = threading.Event(), threading.Event()
    answered_while_indexing: list[bool] = []
    real = writer_module.index_pings

    def long_index(db: object, limit: int) -> int:
        # Stands for a 20,000-row chunk (up to a second): the loop must go on meanwhile.
        started.set()
        answered_while_indexing.append(loop_answered.wait(30))
        return real(db, limit)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_module, "index_pings", long_index)
    writer = Writer(engine, batch_max=100, queue_max=1000, rules=IncidentRules(), inline=True)
    await writer.start()  # looks for unindexed pings once at start
    try:
        assert await asyncio.to_thread(started.wait, 30)
        # Work arriving while the index is built is committed right after it, not forgotten
        # until the next arrival (a lost wake-up once stalled intake for good).
        writer.record_auth_failure(AuthFailureRecord(NOW, "10.0.0.9", "/ws/field", "test", None))
        loop_answered.set()  # in time only if the loop runs while the index is being built
        # A generous deadline (not a speed claim): the row is seen through another connection.
        for _ in range(600):  # up to 30 s
            if count(engine, "auth_failure"):
                break
            await asyncio.sleep(0.05)
        assert count(engine, "auth_failure") == 1
    finally:
        await writer.stop()  # waits for the index to finish
    assert answered_while_indexing == [True]


async def test_refused_credentials_wait_for_the_next_commit_when_a_commit_fails(
    engine: Engine, mini: MiniRegistry
) -> None:
    """The refused-credential rows a failed commit carried are kept for the next one."""
    sqlite = engine.dialect.name == "sqlite"
    writer = Writer(engine, batch_max=100, queue_max=1000, rules=IncidentRules(), inline=sqlite)
    await writer.start()
    try:
        with storage_outage(engine, writer):
            writer.record_auth_failure(
                AuthFailureRecord(NOW, "10.0.0.9", "/ws/field", "unknown credential", "abc")
            )
            # An empty frame rides the same commit: its refusal says that commit failed.
            with pytest.raises(StorageUnavailable):
                await writer.enqueue([])
        await _until(lambda: count(engine, "auth_failure") == 1, "the refused credential")
    finally:
        await writer.stop()
    assert count(engine, "auth_failure") == 1


async def test_a_commit_waits_for_another_connections_write_lock_off_the_event_loop(
    engine: Engine, mini: MiniRegistry
) -> None:
    """SQLite: while another connection (an alert sweep, a CLI command) holds the write lock,
    the inline writer waits for it on its own thread, the loop keeps running, and the commit
    lands once the lock is free."""
    if engine.dialect.name != "sqlite":
        pytest.skip("by design: PostgreSQL has no database-wide write lock to wait for")
    writer = Writer(engine, batch_max=100, queue_max=1000, rules=IncidentRules(), inline=True)
    await writer.start()
    holder = engine.raw_connection()
    try:
        holder.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
        holder.execute(  # type: ignore[attr-defined]
            "INSERT INTO auth_failure (at, remote, path, reason) "
            "VALUES ('2026-12-07 00:00:00.000000', 'x', '/held', 'held')"
        )
        writer.record_auth_failure(AuthFailureRecord(NOW, "10.0.0.9", "/ws/field", "test", None))
        t0 = time.monotonic()
        for _ in range(20):  # 1 s of loop turns while the lock is held
            await asyncio.sleep(0.05)
        # Waiting on the loop, these turns would take busy_timeout (30 s); 10 s is generous.
        assert time.monotonic() - t0 < 10, "the event loop froze behind another's write lock"
        assert count(engine, "auth_failure") == 0  # nothing could be committed meanwhile
        holder.commit()
        await _until(lambda: count(engine, "auth_failure") == 2, "the commit after the lock")
    finally:
        holder.close()
        await writer.stop()
