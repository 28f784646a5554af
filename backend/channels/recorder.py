"""Records handled channel messages in group commits, as the intake writer does for events.

One transaction per message would cost one fsync each on SQLite and queue every webhook behind
the database's write lock; messages arriving together are recorded together instead. A batch
whose own data fails (not storage) is recorded message by message, so one bad row holds back
nobody else. A waiter learns whether its message was new (False: another delivery of the same
message was recorded first) only after the commit.
"""

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from backend.channels.service import Handled, record_many
from backend.clock import Clock
from backend.intake.writer import StorageUnavailable, is_storage_fault

log = logging.getLogger("posko.channels")
BATCH_MAX = 500


@dataclass(slots=True)
class _Waiting:
    handled: Handled
    future: asyncio.Future[bool]


class Recorder:
    """Owns the commits of `channel_message` and `channel_outbox` rows."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._queue: deque[_Waiting] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Start committing in the background."""
        self._task = asyncio.create_task(self._run(), name="posko-channel-recorder")

    async def stop(self) -> None:
        """Commit what waits, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def record(self, handled: Handled) -> bool:
        """Record one message with its replies; True if it was new. Raises StorageUnavailable."""
        if self._stopping:
            raise StorageUnavailable("server is shutting down")
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(handled, fut))
        self._wake.set()
        return await fut

    def _commit(self, batch: list[Handled]) -> list[bool]:
        with Session(self._engine) as session:
            return record_many(session=session, batch=batch, now=self._clock.now())

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            waiting = [self._queue.popleft() for _ in range(min(BATCH_MAX, len(self._queue)))]
            try:
                results = await asyncio.to_thread(self._commit, [w.handled for w in waiting])
            except Exception as exc:
                if is_storage_fault(exc) or len(waiting) == 1:
                    self._fail(waiting, exc)
                    continue
                log.warning("a batch of %d messages failed (%r); one by one", len(waiting), exc)
                for w in waiting:
                    try:
                        (new,) = await asyncio.to_thread(self._commit, [w.handled])
                    except Exception as one:
                        self._fail([w], one)
                    else:
                        if not w.future.done():
                            w.future.set_result(new)
                continue
            for w, new in zip(waiting, results, strict=True):
                if not w.future.done():
                    w.future.set_result(new)

    @staticmethod
    def _fail(waiting: list[_Waiting], exc: Exception) -> None:
        log.error("channel messages not recorded: %r", exc)
        err = StorageUnavailable(f"storage unavailable: {exc.__class__.__name__}")
        for w in waiting:
            if not w.future.done():
                w.future.set_exception(err)
