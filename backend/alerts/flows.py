"""After a commit: push alert changes and TPS situation changes onto the live channels."""

import asyncio
from typing import TYPE_CHECKING

from sqlmodel import Session

from backend.alerts.service import list_alerts
from backend.realtime.deltas import Deltas, LivePublisher
from backend.tps.service import list_views
from schemas.enums import Situation
from schemas.live import TpsView
from schemas.ops import AlertPublic

if TYPE_CHECKING:
    from backend.runtime import Runtime


async def publish_alerts(rt: "Runtime", alert_ids: list[int]) -> None:
    """Publish alerts (ids in) on their kabupaten's channels; system alerts on every one."""
    if not alert_ids:
        return

    def read() -> list[AlertPublic]:
        with Session(rt.engine) as session:
            return list_alerts(session=session, open_only=False, ids=alert_ids)

    alerts = await asyncio.to_thread(read)
    deltas = Deltas(rt.clock.now())
    everywhere = {t.kabupaten_code for t in rt.index.tps_by_id.values()}
    for a in alerts:
        deltas.alert(a, everywhere)
    await LivePublisher(rt.hub.broadcaster).publish(deltas)


def swap_situations(rt: "Runtime", fresh: dict[int, Situation], read_at: float) -> list[int]:
    """Install a TPS -> incident situation map read from `read_at`; return the TPS ids changed."""
    if read_at < rt.situations_read_at:
        # A sweep and an incident step read concurrently: a read that began earlier must not
        # put back what the later one already saw (a TPS would flicker back to aman).
        return []
    rt.situations_read_at = read_at
    old = rt.incident_situations
    changed = [t for t in set(old) | set(fresh) if old.get(t) != fresh.get(t)]
    rt.incident_situations = fresh
    return sorted(changed)


async def publish_tps(rt: "Runtime", tps_ids: list[int]) -> None:
    """Publish the full state of some TPS (after their incident situation changed)."""
    codes = [rt.index.tps_by_id[t].code for t in tps_ids if t in rt.index.tps_by_id]
    if not codes:
        return

    def read() -> list[TpsView]:
        with Session(rt.engine) as session:
            return list_views(session=session, codes=codes)

    views = await asyncio.to_thread(read)
    deltas = Deltas(rt.clock.now())
    for view in views:
        deltas.tps_view(view)
    await LivePublisher(rt.hub.broadcaster).publish(deltas)
