"""After a commit: turn what changed into live deltas and publish them, per kabupaten."""

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from backend.incidents.service import list_public
from backend.intake.service import BatchOutcome, TpsChange
from backend.realtime.deltas import Deltas, LivePublisher
from backend.tps.service import state_dict
from schemas.live import IncidentPublic

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
        deltas = Deltas(now)
        for ch in outcome.tps_changes:
            self._add_change(deltas, ch, now)
        if outcome.incident_ids:
            for inc in await asyncio.to_thread(self._read_incidents, outcome.incident_ids):
                deltas.incident(inc, logged=True)
        await LivePublisher(rt.hub.broadcaster).publish(deltas)

    def _read_incidents(self, ids: list[int]) -> list[IncidentPublic]:
        with Session(self.rt.engine) as session:
            return list_public(session=session, ids=sorted(set(ids)))

    def _add_change(self, deltas: Deltas, ch: TpsChange, now: datetime) -> None:
        """A TPS's new state, and a log line for each of its phase and situation that moved."""
        index = self.rt.index
        ref = index.tps_by_id.get(ch.after.tps_id)
        if ref is None:
            return  # registry replaced underneath; the next snapshot is authoritative
        officer = index.officers.get(ch.after.last_officer_id or -1)
        nrp = officer.nrp if officer else None
        claimer = index.officers.get(ch.after.claimed_officer_id or -1)
        raised = self.rt.incident_situations.get(ch.after.tps_id)
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
                        "at": (when or now).isoformat(),
                        "kind": kind,
                        "tps": ref.code,
                        "officer": nrp,
                        "before": old.value if old is not None else None,
                        "after": new.value,
                    },
                )
