"""Event-loop lag: how late the loop that reads every field socket wakes up.

Blocking work on the loop (a password hash, a synchronous query, a big JSON dump) delays every
socket's acks by as much; this makes it visible on /healthz and in posko_loop_lag_seconds.
"""

import asyncio
import contextlib
import time

from backend.metrics import METRICS

LAG_TICK_S = 0.1
LAG_WINDOW_S = 10.0


class LoopLag:
    """How late the event loop wakes up: what blocking work on it costs every field socket."""

    def __init__(self) -> None:
        self._window_start = time.monotonic()
        self._peak_s = 0.0  # the worst lag in the current window
        self._previous_peak_s = 0.0  # ... and in the window before it
        self._task: asyncio.Task[None] | None = None

    @property
    def peak_ms(self) -> float:
        """The worst lag of the last 10-20 s, in milliseconds."""
        return round(max(self._peak_s, self._previous_peak_s) * 1000, 1)

    def record(self, lag_s: float) -> None:
        """Take one measured lag."""
        METRICS.loop_lag.observe(lag_s)
        now = time.monotonic()
        if now - self._window_start >= LAG_WINDOW_S:
            self._window_start, self._previous_peak_s, self._peak_s = now, self._peak_s, 0.0
        self._peak_s = max(self._peak_s, lag_s)

    async def _run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(LAG_TICK_S)
            self.record(max(0.0, time.perf_counter() - t0 - LAG_TICK_S))

    def start(self) -> None:
        """Start measuring on the running loop."""
        self._task = asyncio.create_task(self._run(), name="posko-loop-lag")

    async def stop(self) -> None:
        """Stop measuring."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
