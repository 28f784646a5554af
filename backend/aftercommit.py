"""What follows a commit, across domains, in order: the one place that names the steps.

The domains only store. A batch of field events (the writer's), an incident step, a TPS
correction, an alert step and a sweep each end here: `Live` reads what changed in a worker
thread and publishes it as deltas (`realtime/deltas.py`); `AfterCommit` says in which order
the incident situations, the deltas and the sweeper follow each kind of change.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from backend.alerts.service import list_alerts
from backend.clock import Clock
from backend.incidents.service import list_public
from backend.incidents.situations import Situations
from backend.intake.service import BatchOutcome
from backend.realtime.deltas import Deltas, LivePublisher
from backend.tps.index import RegistryIndex
from backend.tps.service import iso_time, list_views, state_dict
from backend.tps.state import TpsChange
from schemas.live import IncidentPublic, TpsView
from schemas.ops import AlertPublic


class Live:
    """Turns ids of what changed into deltas: reads off the event loop, then one publish."""

    def __init__(
        self,
        *,
        engine: Engine,
        clock: Clock,
        index: RegistryIndex,
        situations: Situations,
        publisher: LivePublisher,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.index = index
        self.situations = situations
        self.publisher = publisher

    async def batch(self, outcome: BatchOutcome) -> None:
        """The TPS a batch changed (with their log lines) and the incidents it reported."""
        if not outcome.tps_changes and not outcome.incident_ids:
            return
        now = self.clock.now()
        deltas = Deltas(now)
        for ch in outcome.tps_changes:
            self._add_change(deltas, ch, now)
        if outcome.incident_ids:
            for inc in await asyncio.to_thread(self._read_incidents, outcome.incident_ids):
                deltas.incident(inc, logged=True)
        await self.publisher.publish(deltas)

    async def incidents(self, incident_ids: list[int]) -> None:
        """Incidents as they are now (status, reports, photos)."""
        incidents = await asyncio.to_thread(self._read_incidents, incident_ids)
        deltas = Deltas(self.clock.now())
        for inc in incidents:
            deltas.incident(inc)
        await self.publisher.publish(deltas)

    async def tps(self, tps_ids: list[int]) -> None:
        """The full state of some TPS (after their incident situation changed)."""
        codes = [self.index.tps_by_id[t].code for t in tps_ids if t in self.index.tps_by_id]
        if not codes:
            return

        def read() -> list[TpsView]:
            with Session(self.engine) as session:
                return list_views(session=session, codes=codes)

        views = await asyncio.to_thread(read)
        deltas = Deltas(self.clock.now())
        for view in views:
            deltas.tps_view(view)
        await self.publisher.publish(deltas)

    async def alerts(self, alert_ids: list[int]) -> None:
        """Alerts on their kabupaten's channels; system alerts on every one."""
        if not alert_ids:
            return

        def read() -> list[AlertPublic]:
            with Session(self.engine) as session:
                return list_alerts(session=session, open_only=False, ids=alert_ids)

        alerts = await asyncio.to_thread(read)
        deltas = Deltas(self.clock.now())
        everywhere = {t.kabupaten_code for t in self.index.tps_by_id.values()}
        for a in alerts:
            deltas.alert(a, everywhere)
        await self.publisher.publish(deltas)

    def _read_incidents(self, ids: list[int]) -> list[IncidentPublic]:
        with Session(self.engine) as session:
            return list_public(session=session, ids=sorted(set(ids)))

    def _add_change(self, deltas: Deltas, ch: TpsChange, now: datetime) -> None:
        """A TPS's new state, and a log line for each of its phase and situation that moved."""
        index = self.index
        ref = index.tps_by_id.get(ch.after.tps_id)
        if ref is None:
            return  # registry replaced underneath; the next snapshot is authoritative
        officer = index.officers.get(ch.after.last_officer_id or -1)
        nrp = officer.nrp if officer else None
        claimer = index.officers.get(ch.after.claimed_officer_id or -1)
        raised = self.situations.get(ch.after.tps_id)
        kab = ref.kabupaten_code
        deltas.tps_row(
            kab, state_dict(ref.code, ch.after, nrp, raised, claimer.nrp if claimer else None)
        )
        if ch.by_commander:
            author = index.officers.get(ch.log_officer_id or -1)
            nrp = author.nrp if author else None
        b, a = ch.before, ch.after
        for kind, old, new, when in (
            ("phase", b.phase, a.phase, a.phase_at if a.phase else None),
            ("situation", b.situation, a.situation, a.situation_at),
        ):
            if old != new and new is not None:
                deltas.log(
                    kab,
                    {
                        "at": iso_time(when or now),
                        "kind": kind,
                        "tps": ref.code,
                        "officer": nrp,
                        "before": old.value if old is not None else None,
                        "after": new.value,
                    },
                )


class AfterCommit:
    """The order of what follows each kind of committed change."""

    def __init__(self, *, live: Live, situations: Situations, wake_sweeper: Callable[[], None]):
        self.live = live
        self.situations = situations
        self.wake_sweeper = wake_sweeper

    async def batch(self, outcome: BatchOutcome) -> None:
        """The writer's after-commit: live deltas, plus incident situations and alerts if needed."""
        if outcome.sos:
            # An officer in danger: the alarm is raised by the sweeper, woken before anything
            # else this batch publishes (it runs beside the reads below, never after its tick).
            self.wake_sweeper()
        changed: list[int] = []
        if outcome.incident_ids:
            # Before the deltas, so this batch's TPS rows already carry the new value.
            changed = await self.situations.refresh()
        await self.live.batch(outcome)
        if changed:
            await self.live.tps(changed)
        if outcome.incident_ids:
            self.wake_sweeper()

    async def incident_changed(self, incident_ids: list[int]) -> None:
        """Publish changed incidents and the TPS they raise or lower, and wake the sweeper."""
        await self.live.incidents(incident_ids)
        changed = await self.situations.refresh()
        await self.live.tps(changed)
        self.wake_sweeper()

    async def photo_stored(self, incident_id: int) -> None:
        """A new photo of a report: its incident again, with the photo counted (no sweep)."""
        await self.live.incidents([incident_id])

    async def tps_changed(self, change: TpsChange) -> None:
        """A commander's TPS step: the same delta and log line as a batch of pings makes."""
        await self.live.batch(BatchOutcome(acks=[], tps_changes=[change]))
        self.wake_sweeper()  # the claim's alert clears, schedule alerts follow the new phase

    async def alert_changed(self, alert_id: int, *, sweep: bool = False) -> None:
        """Publish an alert a person acted on; `sweep`: what it holds clears now, not later."""
        await self.live.alerts([alert_id])
        if sweep:
            self.wake_sweeper()
