"""The sweeper: every couple of real seconds, on the server's clock, make the alerts true.

One node sweeps at a time: the cluster lease `LEASE_NAME` (backend.cluster) is taken over only
once expired, so a scaled-out cluster runs the sweep once however many nodes it has.
Correctness does not depend on the lease (the alert table's constraints make a second sweeper
harmless); the lease only saves the work.

On gaining the lease (and after a failed tick, a registry write, an intake stall) the sweep is
full (every fact, every open alert) and the sweeper waits for it; otherwise it is incremental
(backend/alerts/incremental.py): it costs what changed or fell due, not the size of the
registry. Every `sweep_reconcile_s` a new model is read in full on a thread of its own while
the ticks go on (a national read takes tens of seconds: alerts falling due meanwhile must not
wait for it), and the first tick after it is ready takes it over (`incremental.adopt`). That
read stops every few thousand rows while a tick runs (`incremental.Turns`): side by side they
shared the GIL, and a national tick took 1-2.5 s instead of 0.4 s.
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from backend.alerts.incremental import (
    AlertModel,
    NeedsReconcileError,
    Turns,
    adopt,
    advance,
    rebuild,
    reconcile,
)
from backend.alerts.service import SweepChanges
from backend.clock import Clock
from backend.cluster import acquire, node_id
from backend.config import Settings
from backend.incidents.situations import Situations

log = logging.getLogger("posko.sweeper")
LEASE_NAME = "alerts"


class Intake(Protocol):
    """What the sweeper watches of the writer, to tell a stalled intake."""

    @property
    def queue_depth(self) -> int:
        """Events waiting to be committed."""

    @property
    def last_commit_at(self) -> float | None:
        """time.time() of the last commit."""


class LiveNews(Protocol):
    """Where the sweeper's changes go out (backend.aftercommit.Live)."""

    async def tps(self, tps_ids: list[int]) -> None:
        """Publish the full state of some TPS."""

    async def alerts(self, alert_ids: list[int]) -> None:
        """Publish alerts."""


class Sweeper:
    """Runs the alert sweep on the server's clock; `wake()` asks for a sweep right away."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        intake: Intake,
        situations: Situations,
        live: LiveNews,
        listening_since: datetime,
        wake_outbox: Callable[[], None] | None = None,
        holder: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.intake = intake
        self.situations = situations
        self.live = live
        self.listening_since = listening_since
        self.wake_outbox = wake_outbox
        self.holder = holder or node_id()
        self.last_sweep_at: datetime | None = None  # server clock
        self.is_leader = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._seen_commit: float | None = None
        self._progress_mono = time.monotonic()
        # The incremental sweep's model: None until a full sweep built it (and after losing
        # the lease, a failed tick or the end of an intake stall, to be built again).
        self.model: AlertModel | None = None
        self._reconciled_mono = 0.0
        self.rebuilding: Future[AlertModel] | None = None  # the next model, read beside ticks
        self.turns = Turns()  # the ticks go first, that read waits
        self._was_stalled = False

    def wake(self) -> None:
        """Sweep as soon as possible (an incident changed)."""
        self._wake.set()

    def intake_stalled(self) -> bool:
        """Events are queued and no commit has happened for `intake_stall_s` (monotonic time)."""
        w = self.intake
        mono = time.monotonic()
        if w.queue_depth == 0 or w.last_commit_at != self._seen_commit:
            self._seen_commit = w.last_commit_at
            self._progress_mono = mono
        return mono - self._progress_mono > self.settings.intake_stall_s

    async def start(self) -> None:
        """Start the loop."""
        self._task = asyncio.create_task(self._run(), name="posko-sweeper")

    async def stop(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        interval = self.settings.sweep_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                log.exception("sweep failed; retrying next tick")

    async def tick(self) -> SweepChanges | None:
        """One sweep: if we hold the lease, apply alerts; always refresh incident situations."""
        stalled = self.intake_stalled()
        grant = await asyncio.to_thread(
            acquire,
            engine=self.engine,
            name=LEASE_NAME,
            holder=self.holder,
            ttl_s=self.settings.sweep_lease_s,
        )
        self.is_leader = grant is not None
        if not self.is_leader:
            self.model = None  # another node sweeps: our model goes stale
            await self.live.tps(await self.situations.refresh())
            return None
        now = self.clock.now()
        read_at = time.monotonic()
        # A full sweep of the national registry outlasts the lease (~31 s against 10 s): keep
        # renewing it meanwhile, or another node takes it over and sweeps the same alerts too.
        keeper = asyncio.create_task(self._keep_lease(), name="posko-sweeper-lease")
        try:
            changes = await asyncio.to_thread(self.sweep, now, stalled)
        except Exception:
            self.model = None  # what was applied is unknown: the next tick sweeps in full
            raise
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        self.last_sweep_at = now
        # Situations and alerts come from one read of the open incidents, and the map's change
        # goes out first: no screen shows a severe-incident alert before its TPS turns red.
        changed_tps = self.situations.swap(changes.situations, read_at)
        if changed_tps:
            await self.live.tps(changed_tps)
        if changes.alert_ids:
            await self.live.alerts(changes.alert_ids)
        if changes.outbox and self.wake_outbox is not None:
            self.wake_outbox()
        return changes

    async def _keep_lease(self) -> None:
        """Renew the lease every third of its life while a sweep runs."""
        while True:
            await asyncio.sleep(self.settings.sweep_lease_s / 3)
            grant = await asyncio.to_thread(
                acquire,
                engine=self.engine,
                name=LEASE_NAME,
                holder=self.holder,
                ttl_s=self.settings.sweep_lease_s,
            )
            if grant is None:
                # Too slow to renew in time: another node holds it. This sweep's changes are
                # still safe (the alert table's constraints), only done twice.
                log.warning("alert lease lost during a sweep")
                return

    def sweep(self, now: datetime, stalled: bool) -> SweepChanges:
        """Sweep at `now`: in full when due (see the module's docstring), else incrementally."""
        mono = time.monotonic()
        # Frozen kinds were neither raised nor cleared while intake stalled: a full sweep
        # settles them once it runs again.
        thawed = self._was_stalled and not stalled
        self._was_stalled = stalled
        model = self.model
        if model is not None and not thawed:
            try:
                return self._incremental(model, now, stalled, mono)
            except NeedsReconcileError as e:
                log.info("full sweep: %s", e)
        self.model = None
        self.rebuilding = None  # this full sweep supersedes it
        changes, self.model = reconcile(
            engine=self.engine,
            settings=self.settings,
            listening_since=self.listening_since,
            now=now,
            intake_stalled=stalled,
        )
        self._reconciled_mono = mono
        return changes

    def _incremental(
        self, model: AlertModel, now: datetime, stalled: bool, mono: float
    ) -> SweepChanges:
        """A tick by change; take over the model rebuilt beside the ticks once it is ready."""
        building = self.rebuilding
        if building is not None and building.done():
            self.rebuilding = None
            new = building.result()  # a failed read fails this tick: the next one is full
            # Frozen kinds are not applied while intake stalls; its end sweeps in full anyway.
            if not stalled:
                with self.turns.tick():
                    changes, _ = adopt(
                        engine=self.engine, old=model, new=new, now=now, intake_stalled=stalled
                    )
                self.model = new
                return changes
        elif building is None and mono - self._reconciled_mono >= self.settings.sweep_reconcile_s:
            self._reconciled_mono = mono
            self.rebuilding = self._start_rebuild(now)
        with self.turns.tick():
            changes, _ = advance(engine=self.engine, model=model, now=now, intake_stalled=stalled)
        return changes

    def _start_rebuild(self, now: datetime) -> "Future[AlertModel]":
        """Read a new model in full on a thread of its own (a daemon: shutdown never waits)."""
        done: Future[AlertModel] = Future()

        def run() -> None:
            try:
                done.set_result(
                    rebuild(
                        engine=self.engine,
                        settings=self.settings,
                        listening_since=self.listening_since,
                        now=now,
                        clock=self.clock.now,
                        pause=self.turns.pause,
                    )
                )
            except BaseException as e:  # handed to the tick that takes it over
                done.set_exception(e)

        threading.Thread(target=run, name="posko-sweep-rebuild", daemon=True).start()
        return done
