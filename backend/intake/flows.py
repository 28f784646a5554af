"""After a commit: turn what changed into live deltas and publish them, per kabupaten."""

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from backend.incidents.service import list_public
from backend.intake.metrics import METRICS
from backend.intake.service import BatchOutcome
from backend.realtime.hub import channels_for_kabupaten
from backend.tps.service import state_dict

if TYPE_CHECKING:
    from backend.runtime import Runtime


class LiveFlow:
    """Publishes one delta per touched kabupaten on each of its channels."""

    def __init__(self, rt: "Runtime") -> None:
        self.rt = rt

    async def after_commit(self, outcome: BatchOutcome) -> None:
        """Build and publish deltas for a committed batch (ids in, no ORM objects kept)."""
        if not outcome.tps_changes and not outcome.incident_ids:
            return
        rt = self.rt
        now = rt.clock.now()
        rt.last_event_at = now
        at = now.isoformat()
        index = rt.index
        bodies: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"type": "delta", "at": at, "tps": [], "incidents": [], "log": []}
        )
        for ch in outcome.tps_changes:
            ref = index.tps_by_id.get(ch.after.tps_id)
            if ref is None:
                continue  # registry replaced underneath; the next snapshot is authoritative
            officer = index.officers.get(ch.after.last_officer_id or -1)
            nrp = officer.nrp if officer else None
            claimer = index.officers.get(ch.after.claimed_officer_id or -1)
            body = bodies[ref.kabupaten_code]
            raised = rt.incident_situations.get(ch.after.tps_id)
            body["tps"].append(
                state_dict(ref.code, ch.after, nrp, raised, claimer.nrp if claimer else None)
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
                    body["log"].append(
                        {
                            "at": (when or now).isoformat(),
                            "kind": kind,
                            "tps": ref.code,
                            "officer": nrp,
                            "before": old.value if old is not None else None,
                            "after": new.value,
                        }
                    )
        if outcome.incident_ids:
            with Session(rt.engine) as session:
                incidents = list_public(session=session, ids=sorted(set(outcome.incident_ids)))
            for inc in incidents:
                body = bodies[inc.kabupaten_code]
                body["incidents"].append(inc.model_dump(mode="json"))
                body["log"].append(
                    {
                        "at": inc.updated_at.isoformat(),
                        "kind": "incident",
                        "tps": inc.tps,
                        "officer": inc.reported_by[-1] if inc.reported_by else None,
                        "after": inc.category.value,
                        "incident_id": inc.id,
                        "severity": inc.severity,
                    }
                )
        for kab, body in bodies.items():
            for channel in channels_for_kabupaten(kab):
                await rt.hub.broadcaster.publish(channel, body)
                METRICS.live_messages.inc()
