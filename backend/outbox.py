"""The background task that sends a durable outbox: the alert webhook's and the chat replies'.

Each outbox says how to send what has fallen due (`send_due`) and when its next row falls due
(`next_due`); this loop runs them, sleeps until then (at most IDLE_S, or until `wake()`: new rows
were committed), and survives any error of a pass (the rows stay and are tried again).
"""

import asyncio
import contextlib
import logging
import random
from datetime import datetime

import httpx

from backend.config import now_utc

IDLE_S = 5.0  # longest sleep between looks at the outbox


class OutboxLoop:
    """Sends an outbox in the background; never blocks anyone else."""

    def __init__(
        self, *, timeout_s: float, task_name: str, label: str, log: logging.Logger
    ) -> None:
        self._task_name = task_name
        self._label = label  # "webhook", "channel": names the outbox in the log
        self._log = log
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self._rng = random.Random()

    def wake(self) -> None:
        """Look at the outbox now (new rows were committed)."""
        self._wake.set()

    async def start(self) -> None:
        """Start sending in the background."""
        self._task = asyncio.create_task(self._run(), name=self._task_name)

    async def stop(self) -> None:
        """Stop sending (unsent rows stay in the outbox for the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def send_due(self) -> int:
        """Send every claimable row once; return how many went out."""
        raise NotImplementedError

    def next_due(self) -> datetime | None:
        """When the next pending row falls due (a database read: run in a thread)."""
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            try:
                await self.send_due()
                due = await asyncio.to_thread(self.next_due)
            except Exception:
                self._log.exception("%s outbox pass failed", self._label)
                due = None
            wait = IDLE_S
            if due is not None:
                wait = min(IDLE_S, max(0.0, (due - now_utc()).total_seconds()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
