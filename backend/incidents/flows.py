"""After an incident changes: refresh what it does to TPS situations, publish, re-sweep alerts."""

import asyncio
import time
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from backend.alerts import flows as alert_flows
from backend.incidents.service import incident_situations, list_public
from backend.intake.flows import LiveFlow
from backend.intake.service import BatchOutcome
from backend.intake.writer import OnCommit
from backend.realtime.deltas import Deltas, LivePublisher
from schemas.live import IncidentPublic

if TYPE_CHECKING:
    from backend.runtime import Runtime


async def refresh_situations(rt: "Runtime") -> list[int]:
    """Re-read the incident situation of every TPS; return the TPS ids whose value changed."""

    def read() -> Any:
        with Session(rt.engine) as session:
            return incident_situations(session=session)

    read_at = time.monotonic()
    return alert_flows.swap_situations(rt, await asyncio.to_thread(read), read_at)


async def publish_incidents(rt: "Runtime", incident_ids: list[int]) -> None:
    """Publish incidents as they are now (status, reports, photos) on their kabupaten's channels."""

    def read() -> list[IncidentPublic]:
        with Session(rt.engine) as session:
            return list_public(session=session, ids=sorted(set(incident_ids)))

    incidents = await asyncio.to_thread(read)
    deltas = Deltas(rt.clock.now())
    for inc in incidents:
        deltas.incident(inc)
    await LivePublisher(rt.hub.broadcaster).publish(deltas)


async def after_incident_change(rt: "Runtime", incident_ids: list[int]) -> None:
    """Publish changed incidents and the TPS they raise or lower, and wake the sweeper."""
    await publish_incidents(rt, incident_ids)
    changed = await refresh_situations(rt)
    await alert_flows.publish_tps(rt, changed)
    if rt.sweeper is not None:
        rt.sweeper.wake()


def intake_after_commit(rt: "Runtime", live: LiveFlow) -> OnCommit:
    """The writer's after-commit: live deltas, plus incident situations and alerts if needed."""

    async def run(outcome: BatchOutcome) -> None:
        if outcome.sos and rt.sweeper is not None:
            # An officer in danger: the alarm is raised by the sweeper, woken before anything
            # else this batch publishes (it runs beside the reads below, never after its tick).
            rt.sweeper.wake()
        changed: list[int] = []
        if outcome.incident_ids:
            # Before the live flow, so this batch's TPS deltas already carry the new value.
            changed = await refresh_situations(rt)
        await live.after_commit(outcome)
        if changed:
            await alert_flows.publish_tps(rt, changed)
        if outcome.incident_ids and rt.sweeper is not None:
            rt.sweeper.wake()

    return run
