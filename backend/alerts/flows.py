"""After a commit: push alert changes and TPS situation changes onto the live channels."""

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from backend.alerts.service import list_alerts
from backend.intake.metrics import METRICS
from backend.realtime.hub import channels_for_kabupaten
from backend.tps.service import list_views
from schemas.enums import Situation

if TYPE_CHECKING:
    from backend.runtime import Runtime


def _delta(rt: "Runtime") -> dict[str, Any]:
    return {
        "type": "delta",
        "at": rt.clock.now().isoformat(),
        "tps": [],
        "incidents": [],
        "log": [],
        "alerts": [],
    }


async def _publish(rt: "Runtime", bodies: dict[str, dict[str, Any]]) -> None:
    for kab, body in bodies.items():
        for channel in channels_for_kabupaten(kab):
            await rt.hub.broadcaster.publish(channel, body)
            METRICS.live_messages.inc()


def _kabupaten_codes(rt: "Runtime") -> set[str]:
    return {t.kabupaten_code for t in rt.index.tps_by_id.values()}


async def publish_alerts(rt: "Runtime", alert_ids: list[int]) -> None:
    """Publish alerts (ids in) on their kabupaten's channels; system alerts on every one."""
    if not alert_ids:
        return

    def read() -> list[dict[str, Any]]:
        with Session(rt.engine) as session:
            alerts = list_alerts(session=session, open_only=False, ids=alert_ids)
        return [a.model_dump(mode="json") for a in alerts]

    alerts = await asyncio.to_thread(read)
    bodies: dict[str, dict[str, Any]] = defaultdict(lambda: _delta(rt))
    everywhere = _kabupaten_codes(rt)
    for a in alerts:
        for kab in [a["kabupaten_code"]] if a["kabupaten_code"] else everywhere:
            bodies[kab]["alerts"].append(a)
    await _publish(rt, bodies)


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

    def read() -> list[tuple[str, dict[str, Any]]]:
        with Session(rt.engine) as session:
            views = list_views(session=session, codes=codes)
        keys = (
            "code",
            "phase",
            "situation",
            "phase_at",
            "situation_at",
            "last_seen_at",
            "last_received_at",
            "last_officer",
            "version",
            "incident_situation",
            "claimed_phase",
            "claimed_by",
            "claimed_at",
            "corrected_at",
        )
        out = []
        for v in views:
            d = v.model_dump(mode="json")
            out.append((v.kecamatan_code.rsplit(".", 1)[0], {k: d[k] for k in keys}))
        return out

    rows = await asyncio.to_thread(read)
    bodies: dict[str, dict[str, Any]] = defaultdict(lambda: _delta(rt))
    for kab, row in rows:
        bodies[kab]["tps"].append(row)
    await _publish(rt, bodies)
