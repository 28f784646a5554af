"""The single writer: groups events from every connection into one commit, then acks them."""

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from backend.db import RawDb
from backend.incidents.service import IncidentRules
from backend.intake.service import (
    AuthFailureRecord,
    BatchOutcome,
    StaleStateError,
    index_pings,
    store_batch,
)
from backend.intake.validate import Item
from backend.metrics import METRICS
from backend.tps.state import StateRow

log = logging.getLogger("posko.writer")

try:
    import psycopg

    _PG_STORAGE: tuple[type[BaseException], ...] = (
        psycopg.OperationalError,
        psycopg.InterfaceError,
    )
except ImportError:  # SQLite-only install
    _PG_STORAGE = ()

OnCommit = Callable[[BatchOutcome], Awaitable[None]]
INDEX_EVERY_S = 1.0  # SQLite: how often the per-TPS ping lookup is brought up to date
INDEX_CHUNK = 20_000  # rows per indexing transaction, so intake never pauses for long
AUTH_FAILURES_MAX = 10_000  # refused credentials kept for the next commit; a flood is cut here
# After a commit that stored nothing (storage gone), wait this long before the next try,
# doubling up to the cap: storage that returns is used again within the cap, and a dead disk
# is not hammered. Never per frame: a queue of any length waits one delay.
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 0.5


@dataclass(slots=True)
class _Submission:
    items: list[Item]
    future: asyncio.Future[list[dict[str, Any]]]


# PostgreSQL: deadlock detected, serialization failure. Another node's batch won a race; the
# whole batch is merged again from what is committed now (nothing of it was kept).
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def _is_retryable(exc: Exception) -> bool:
    """Whether a failed batch may simply be run again."""
    return isinstance(exc, StaleStateError) or getattr(exc, "sqlstate", None) in _RETRY_SQLSTATES


def is_storage_fault(exc: BaseException) -> bool:
    """Whether the database could not be written at all, whatever the batch held.

    Lost or refused connections, disk I/O errors, a disk full or read-only, a lock held beyond
    busy_timeout: the DBAPI's OperationalError and InterfaceError, on SQLite and PostgreSQL.
    They fail every frame alike, so trying frames one by one only multiplies the wait. A frame
    whose own data fails (IntegrityError, DataError ...) is not one: it is worth isolating.
    """
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig  # opening a connection: SQLAlchemy wraps the driver's error
    if getattr(exc, "sqlstate", None) in _RETRY_SQLSTATES:
        return False  # contention with another node, retried as such
    if isinstance(exc, sqlite3.OperationalError | sqlite3.InterfaceError):
        return True
    if type(exc) is sqlite3.DatabaseError:  # "file is not a database", "disk image is malformed"
        return True
    return isinstance(exc, _PG_STORAGE)


class StorageUnavailable(RuntimeError):
    """The batch could not be committed; nothing in it was acknowledged."""


class Writer:
    """Owns the one write connection; every acknowledgement comes after its commit.

    Handlers hand over validated items and wait; the writer takes whatever has accumulated
    (up to `batch_max`), stores it in one transaction on its own thread, and resolves the
    waiters. While a commit runs, the next batch accumulates, so batches grow with load and
    fsyncs stay few. The queue is bounded: when it is full, handlers wait, and the sockets they
    read from push back on the devices instead of the server growing without limit.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        batch_max: int,
        queue_max: int,
        rules: IncidentRules,
        on_commit: OnCommit | None = None,
        inline: bool = False,
    ) -> None:
        self._engine = engine
        self._batch_max = batch_max
        self._queue_max = queue_max
        self._rules = rules
        self._on_commit = on_commit
        self._inline = inline
        self._queue: deque[_Submission] = deque()
        self._queued = 0
        self._auth_failures: list[AuthFailureRecord] = []
        self._wake = asyncio.Event()
        self._space = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # One thread, one connection: SQLite wants a single writer, and the event loop stays
        # free to read sockets while a commit waits for the disk.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posko-writer")
        self._db: RawDb | None = None
        self._states: dict[int, StateRow] | None = None
        self._backoff_s = 0.0
        self._unindexed = 1  # unknown after a start: look once
        self._indexed_at = 0.0
        self.last_commit_at: float | None = None  # time.time() of the last commit
        self.last_commit_s: float = 0.0

    def set_on_commit(self, on_commit: OnCommit) -> None:
        """Set what runs after each commit (publishing), once the runtime exists."""
        self._on_commit = on_commit

    @property
    def queue_depth(self) -> int:
        """Events waiting to be committed."""
        return self._queued

    async def start(self) -> None:
        """Open the write connection and start the commit loop."""
        loop = asyncio.get_running_loop()
        self._db = await loop.run_in_executor(self._pool, RawDb, self._engine)
        # Only a single writer may trust its memory of what it wrote: SQLite's case.
        self._states = {} if self._db.is_sqlite else None
        self._task = asyncio.create_task(self._run(), name="posko-writer")

    async def stop(self) -> None:
        """Commit what is queued, then close."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._db is not None:
            db = self._db
            with contextlib.suppress(Exception):  # a connection storage already took
                await asyncio.get_running_loop().run_in_executor(self._pool, db.close)
        self._pool.shutdown(wait=True)

    async def reserve(self, n: int) -> None:
        """Wait until the queue has room for `n` more events."""
        if self._queued + n > self._queue_max:
            async with self._space:
                await self._space.wait_for(lambda: self._queued + n <= self._queue_max)

    def enqueue(self, items: list[Item]) -> asyncio.Future[list[dict[str, Any]]]:
        """Queue items for the next commit; the future resolves to their acks after it."""
        if self._stopping:
            raise StorageUnavailable("server is shutting down")
        fut: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Submission(items, fut))
        self._queued += len(items)
        METRICS.queue_depth.set(self._queued)
        self._wake.set()
        return fut

    async def submit(self, items: list[Item]) -> list[dict[str, Any]]:
        """Queue items and wait for their acks."""
        await self.reserve(len(items))
        return await self.enqueue(items)

    def record_auth_failure(self, record: AuthFailureRecord) -> None:
        """Keep a refused credential for the next commit, without making anyone wait."""
        if len(self._auth_failures) < AUTH_FAILURES_MAX:  # a flood must not fill memory
            self._auth_failures.append(record)
            self._wake.set()

    def _keep_auth_failures(self, records: list[AuthFailureRecord]) -> None:
        """Put back refused credentials a failed commit carried (oldest first, still bounded)."""
        if records:
            self._auth_failures = (records + self._auth_failures)[:AUTH_FAILURES_MAX]

    def _take(self) -> list[_Submission]:
        # Whole submissions only: a frame's events commit together (frames are capped below
        # batch_max by the settings), so each waiter gets all its acks from one commit.
        subs = [self._queue.popleft()]
        n = len(subs[0].items)
        while self._queue and n + len(self._queue[0].items) <= self._batch_max:
            sub = self._queue.popleft()
            subs.append(sub)
            n += len(sub.items)
        return subs

    def _connection(self) -> RawDb:
        """The write connection; opened again if storage broke it (PostgreSQL: connection lost)."""
        db = self._db
        if db is None or db.is_broken:
            if db is not None:
                self._db = None
                with contextlib.suppress(Exception):
                    db.close()
            # Raises the storage fault itself while the database refuses connections.
            db = self._db = RawDb(self._engine)
            log.warning("write connection opened again")
        return db

    def _commit(
        self, items: list[Item], failures: list[AuthFailureRecord], *, begun: bool = False
    ) -> BatchOutcome:
        db = self._connection()
        t0 = time.perf_counter()
        for attempt in range(3):
            if not (begun and attempt == 0):
                db.begin()
            try:
                outcome = store_batch(
                    db,
                    items,
                    rules=self._rules,
                    auth_failures=failures,
                    state_cache=self._states,
                )
                db.commit()
            except Exception as exc:
                db.rollback()
                self._forget_states()
                if attempt == 2 or not _is_retryable(exc):
                    raise
                log.warning("batch of %d merged again: %s", len(items), exc.__class__.__name__)
                continue
            except BaseException:
                db.rollback()
                self._forget_states()
                raise
            if self._states is not None:
                for ch in outcome.tps_changes:
                    self._states[ch.after.tps_id] = ch.after
            outcome.seconds = time.perf_counter() - t0
            return outcome
        raise AssertionError("unreachable")

    def _forget_states(self) -> None:
        if self._states is not None:
            self._states.clear()

    def _index(self) -> None:
        db = self._db
        assert db is not None
        db.begin()
        try:
            n = index_pings(db, INDEX_CHUNK)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        self._indexed_at = time.monotonic()
        if n < INDEX_CHUNK:
            self._unindexed = 0

    async def _maybe_index(self) -> None:
        db = self._db
        if db is None or not db.is_sqlite or not self._unindexed:
            return
        if self._unindexed < INDEX_CHUNK and time.monotonic() - self._indexed_at < INDEX_EVERY_S:
            return
        try:
            # On the writer's thread even in inline mode: sorting and inserting a chunk takes up
            # to a second, and on the loop it froze every socket and screen for that long.
            # The writer loop waits for it, so the connection still has one user at a time.
            await asyncio.get_running_loop().run_in_executor(self._pool, self._index)
        except Exception:
            log.exception("indexing pings by TPS failed; will retry")

    async def _run(self) -> None:
        while True:
            if not self._queue and not self._auth_failures:
                await self._maybe_index()
                if self._stopping:
                    return
                if self._queue or self._auth_failures:
                    continue  # arrived while indexing: clearing the wake-up below would lose it
                self._wake.clear()
                if self._unindexed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), INDEX_EVERY_S)
                else:
                    await self._wake.wait()
                continue
            subs = self._take() if self._queue else []
            failures, self._auth_failures = self._auth_failures, []
            results, unstored = await self._commit_isolating(subs, failures)
            if unstored and self._stopping:
                # Kept, they would hold the shutdown until storage returns.
                log.error("%d refused credentials not recorded: storage failed", len(unstored))
            else:
                self._keep_auth_failures(unstored)
            for group, result in results:
                await self._finish(group, result)
            if all(isinstance(result, Exception) for _, result in results):
                await self._back_off()  # nothing stored: once per batch, never per frame
                continue
            self._backoff_s = 0.0
            await self._maybe_index()
            if self._inline:
                # Let handlers drain the frames that piled up in socket buffers during the
                # commit, so the next batch is as large as the load is.
                await asyncio.sleep(0)

    async def _commit_one(
        self, items: list[Item], failures: list[AuthFailureRecord]
    ) -> BatchOutcome:
        loop = asyncio.get_running_loop()
        if self._inline:
            if self._connection().try_begin():
                return self._commit(items, failures, begun=True)
            # Another connection (an alert sweep, a lease, a CLI command) holds SQLite's write
            # lock. Waiting for it here would freeze every socket and screen for as long as it
            # keeps it (up to seconds, measured): wait on the writer's thread instead.
            METRICS.writer_lock_waits.inc()
        return await loop.run_in_executor(self._pool, self._commit, items, failures)

    async def _commit_isolating(
        self, subs: list[_Submission], failures: list[AuthFailureRecord]
    ) -> tuple[list[tuple[list[_Submission], BatchOutcome | Exception]], list[AuthFailureRecord]]:
        """Commit the batch; if its data fails, frame by frame, so one bad frame blocks nobody.

        Returns each group of frames with its outcome, and the refused credentials that were
        not stored because storage failed (they wait for the next commit).
        """
        items = [item for sub in subs for item in sub.items]
        try:
            return [(subs, await self._commit_one(items, failures))], []
        except Exception as exc:
            if is_storage_fault(exc):
                # Every frame would fail alike: fail them all now (nothing acked, the phones
                # resend) and let the caller back off once, however many frames are queued.
                return [(subs, exc)], failures
            if len(subs) + bool(failures) <= 1:
                if failures:
                    log.error("refused credentials could not be stored: %r", exc)
                return [(subs, exc)], []
            log.warning(
                "a batch of %d frames failed (%r); committing them one by one", len(subs), exc
            )
        if failures:
            try:
                await self._commit_one([], failures)
            except Exception as exc:
                if is_storage_fault(exc):
                    return [(subs, exc)], failures
                log.error("refused credentials could not be stored: %r", exc)
        results: list[tuple[list[_Submission], BatchOutcome | Exception]] = []
        for i, sub in enumerate(subs):
            try:
                results.append(([sub], await self._commit_one(sub.items, [])))
            except Exception as exc:
                if is_storage_fault(exc):
                    # Storage went away meanwhile: the rest fail at once, as a whole batch would.
                    results.append((subs[i:], exc))
                    break
                results.append(([sub], exc))
        return results, []

    async def _back_off(self) -> None:
        """Wait before the next try after a commit that stored nothing (short, capped)."""
        self._backoff_s = min(BACKOFF_MAX_S, max(BACKOFF_FIRST_S, self._backoff_s * 2))
        await asyncio.sleep(self._backoff_s)

    async def _finish(self, subs: list[_Submission], result: BatchOutcome | Exception) -> None:
        n_items = sum(len(sub.items) for sub in subs)
        if isinstance(result, Exception):
            log.error("commit failed; %d events not acknowledged: %r", n_items, result)
            METRICS.commit_failures.inc()
            err = StorageUnavailable(f"storage unavailable: {result.__class__.__name__}")
            for sub in subs:
                if not sub.future.done():
                    sub.future.set_exception(err)
            await self._release(n_items)
            return
        outcome = result
        self._unindexed += outcome.stored
        self.last_commit_at = time.time()
        self.last_commit_s = outcome.seconds
        METRICS.observe_commit(outcome.seconds, outcome)
        pos = 0
        for sub in subs:
            n = len(sub.items)
            if not sub.future.done():  # a waiter that went away no longer needs its acks
                sub.future.set_result(outcome.acks[pos : pos + n])
            pos += n
        await self._release(n_items)
        if self._on_commit is not None:
            try:
                await self._on_commit(outcome)
            except Exception:
                log.exception("after-commit flow failed (events are stored and acked)")

    async def _release(self, n: int) -> None:
        self._queued -= n
        METRICS.queue_depth.set(self._queued)
        async with self._space:
            self._space.notify_all()
