"""The position writer: tracker fixes share group commits of their own, apart from intake's.

298 officers sending a fix every 10 s is ~30 requests a second, each waiting for its fix to be
on disk before the app hears 200. One commit per request would be 30 fsyncs a second for a few
bytes each; waiting up to `linger_s` for the others turns them into a few commits a second.
Its own queue and connection keep intake's writer (pings, incidents, an SOS) from ever waiting
behind a position batch; an SOS from a tracker goes to intake's writer first.
"""

import asyncio
import contextlib
import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from backend.db import RawDb
from backend.intake.writer import StorageUnavailable
from backend.positions.service import Fix, check_fix, store_fixes

log = logging.getLogger("posko.positions")

BATCH_ENOUGH = 64  # fixes that make a commit worth it without waiting longer
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 0.5


@dataclass(slots=True)
class _Submission:
    fixes: list[Fix]
    future: asyncio.Future[list[bool]]
    queued_at: float  # loop time


@dataclass(slots=True)
class PositionCounts:
    """What the position writer did since start (for /metrics and the bench)."""

    stored: int = 0
    duplicates: int = 0
    commits: int = 0
    failures: int = 0


class PositionWriter:
    """Group commits of fixes on one thread and one connection; answers after the commit."""

    def __init__(
        self,
        engine: Engine,
        *,
        linger_s: float,
        queue_max: int,
        max_future_s: float,
        max_age_s: float,
        batch_max: int = 2000,
    ) -> None:
        self._engine = engine
        self._linger_s = linger_s
        self._queue_max = queue_max
        self._batch_max = batch_max
        self._max_future_s = max_future_s
        self._max_age_s = max_age_s
        self._queue: deque[_Submission] = deque()
        self._queued = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posko-positions")
        self._db: RawDb | None = None
        self.counts = PositionCounts()

    def check(self, fix: Fix, *, now: datetime) -> None:
        """Raise FixRefused unless the fix is plausible (see service.check_fix)."""
        check_fix(fix, now=now, max_future_s=self._max_future_s, max_age_s=self._max_age_s)

    @property
    def queue_depth(self) -> int:
        """Fixes waiting for a commit."""
        return self._queued

    async def start(self) -> None:
        """Open the connection and start the commit loop."""
        loop = asyncio.get_running_loop()
        self._db = await loop.run_in_executor(self._pool, RawDb, self._engine)
        self._task = asyncio.create_task(self._run(), name="posko-positions")

    async def stop(self) -> None:
        """Commit what is queued, then close."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._db is not None:
            db = self._db
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(self._pool, db.close)
        self._pool.shutdown(wait=True)

    async def submit(self, fixes: list[Fix]) -> list[bool]:
        """Queue checked fixes; return, after their commit, whether each one was new."""
        if self._stopping:
            raise StorageUnavailable("server is shutting down")
        if self._queued + len(fixes) > self._queue_max:
            # A full queue means storage is far behind: say so now (the app retries) rather
            # than hold more requests open.
            raise StorageUnavailable("position queue full")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[bool]] = loop.create_future()
        self._queue.append(_Submission(fixes, fut, loop.time()))
        self._queued += len(fixes)
        self._wake.set()
        return await fut

    async def _more_or(self, seconds: float) -> None:
        """Wait `seconds`, or less if BATCH_ENOUGH fixes queue up meanwhile."""
        deadline = asyncio.get_running_loop().time() + seconds
        while self._queued < BATCH_ENOUGH and not self._stopping:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), left)

    def _connection(self) -> RawDb:
        db = self._db
        if db is None or db.is_broken:
            if db is not None:
                self._db = None
                with contextlib.suppress(Exception):
                    db.close()
            db = self._db = RawDb(self._engine)
            log.warning("position connection opened again")
        return db

    def _commit(self, fixes: list[Fix]) -> list[bool]:
        db = self._connection()
        db.begin()
        try:
            stored = store_fixes(db, fixes)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return stored

    async def _run(self) -> None:
        backoff = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            # The oldest fix waits at most linger_s in all for others to share its commit, and
            # not at all once enough are queued to make the commit worth its fsync: a quiet
            # moment lingers, a busy one commits back to back.
            wait = self._queue[0].queued_at + self._linger_s - loop.time()
            if wait > 0 and not self._stopping and self._queued < BATCH_ENOUGH:
                await self._more_or(wait)
            subs = [self._queue.popleft()]
            n = len(subs[0].fixes)
            while self._queue and n + len(self._queue[0].fixes) <= self._batch_max:
                sub = self._queue.popleft()
                subs.append(sub)
                n += len(sub.fixes)
            fixes = [f for s in subs for f in s.fixes]
            try:
                stored = await loop.run_in_executor(self._pool, self._commit, fixes)
            except Exception as exc:
                log.error("position commit failed; %d fixes not stored: %r", n, exc)
                self.counts.failures += 1
                err = StorageUnavailable(f"storage unavailable: {exc.__class__.__name__}")
                for s in subs:
                    if not s.future.done():
                        s.future.set_exception(err)
                self._queued -= n
                backoff = min(BACKOFF_MAX_S, max(BACKOFF_FIRST_S, backoff * 2))
                await asyncio.sleep(backoff)
                continue
            backoff = 0.0
            self.counts.commits += 1
            new = sum(stored)
            self.counts.stored += new
            self.counts.duplicates += len(stored) - new
            pos = 0
            for s in subs:
                k = len(s.fixes)
                if not s.future.done():
                    s.future.set_result(stored[pos : pos + k])
                pos += k
            self._queued -= n
