"""After an incident changes: refresh what it does to TPS situations, publish, re-sweep alerts."""

import asyncio
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from backend.alerts import flows as alert_flows
from backend.incidents.service import incident_situations, list_public
from backend.intake.flows import LiveFlow
from backend.intake.metrics import METRICS
from backend.intake.service import BatchOutcome
from backend.intake.writer import OnCommit
from backend.realtime.hub import channels_for_kabupaten

if TYPE_CHECKING:
    from backend.runtime import Runtime


async def refresh_situations(rt: "Runtime") -> list[int]:
    """Re-read the incident situation of every TPS; return the TPS ids whose value changed."""

    def read() -> Any:
        with Session(rt.engine) as session:
            return incident_situations(session=session)

    read_at = time.monotonic()
    return alert_flows.swap_situations(rt, await asyncio.to_thread(read), read_at)


async def after_incident_change(rt: "Runtime", incident_ids: list[int]) -> None:
    """Publish changed incidents and the TPS they raise or lower, and wake the sweeper."""

    def read() -> list[Any]:
        with Session(rt.engine) as session:
            return list_public(session=session, ids=sorted(set(incident_ids)))

    incidents = await asyncio.to_thread(read)
    changed = await refresh_situations(rt)
    bodies: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "type": "delta",
            "at": rt.clock.now().isoformat(),
            "tps": [],
            "incidents": [],
            "log": [],
            "alerts": [],
        }
    )
    for inc in incidents:
        bodies[inc.kabupaten_code]["incidents"].append(inc.model_dump(mode="json"))
    for kab, body in bodies.items():
        for channel in channels_for_kabupaten(kab):
            await rt.hub.broadcaster.publish(channel, body)
            METRICS.live_messages.inc()
    await alert_flows.publish_tps(rt, changed)
    if rt.sweeper is not None:
        rt.sweeper.wake()


def intake_after_commit(rt: "Runtime", live: LiveFlow) -> OnCommit:
    """The writer's after-commit: live deltas, plus incident situations and alerts if needed."""

    async def run(outcome: BatchOutcome) -> None:
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
