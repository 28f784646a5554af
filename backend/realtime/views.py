"""The live stream: the snapshot a screen starts from, then WS /ws/live deltas in seq order."""

import asyncio
import contextlib
import logging
import time

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.exc import SQLAlchemyError

from backend.alerts.service import list_alerts
from backend.areas import AreaError, narrow
from backend.auth.service import AuthError
from backend.deps import (
    ReaderDep,
    RuntimeDep,
    SessionDep,
    authenticate_async,
    record_refusal,
    scoped_area,
    token_from,
)
from backend.incidents.service import list_public
from backend.realtime.hub import RESYNC, channel_for_area
from backend.runtime import Runtime
from backend.tps.liveness import grace_table
from backend.tps.service import list_views
from schemas.errors import problem_responses
from schemas.live import Snapshot

router = APIRouter()
log = logging.getLogger("posko")
HEARTBEAT_S = 2.0  # a screen that hears nothing for a few of these knows it is not live
POLICY_VIOLATION = 1008


def _control(rt: Runtime, kind: str, channel: str) -> str:
    return orjson.dumps(
        {
            "type": kind,
            "seq": rt.hub.broadcaster.current_seq(channel),
            "channel": channel,
            "at": rt.clock.now().isoformat(),
            "exercise": rt.settings.exercise_label(),
            # True while this node cannot reach the other nodes' deltas (Redis down): the
            # screen is told to resync now and then, and should say it is not fully live.
            "degraded": not rt.hub.broadcaster.healthy,
        }
    ).decode()


async def _refuse(ws: WebSocket, field: str, reason: str) -> None:
    """An error frame naming the field and the reason, then close with 1008 (policy)."""
    frame = {"type": "error", "error": {"field": field, "reason": reason}}
    with contextlib.suppress(Exception):
        await ws.send_text(orjson.dumps(frame).decode())
        # A close reason is at most 123 bytes on the wire; the frame carries it whole.
        await ws.close(code=POLICY_VIOLATION, reason=reason.encode()[:123].decode(errors="ignore"))


async def _still_valid(rt: Runtime, ws: WebSocket, token: str | None) -> AuthError | None:
    """Resolve the socket's credential again: None while it holds, the refusal once it ended."""
    try:
        await rt.resolver.resolve_async(token, now=rt.clock.now())
    except AuthError as err:
        record_refusal(rt, ws, err)
        return err
    except SQLAlchemyError:
        # The database is unreachable: revocations cannot be read, and a read-only picture
        # going dark with the database would blind the command post. Try again next time.
        log.warning("could not re-check a live screen's credential; keeping it open")
    return None


@router.websocket("/ws/live")
async def live_socket(ws: WebSocket, rt: RuntimeDep) -> None:
    """Subscribe to your area's deltas; `hello` first, `heartbeat` when quiet, `resync` on loss."""
    await ws.accept()
    try:
        principal = await authenticate_async(rt, ws, allow_query=True)
    except AuthError as err:
        await _refuse(ws, "token", err.reason)
        return
    if not principal.can_read:
        await _refuse(ws, "token", "this credential cannot read state")
        return
    try:
        # Narrowing inside one's own area only: a Polres wall never gets another's deltas.
        area = narrow(principal.area_code, ws.query_params.get("area"))
    except AreaError as err:
        await _refuse(ws, "area", err.reason)
        return
    token = token_from(ws, allow_query=True)
    channel = channel_for_area(area)
    sub = await rt.hub.subscribe(channel)
    closed = asyncio.Event()

    async def watch_close() -> None:
        # The client only listens; reading is how we learn that it went away.
        with contextlib.suppress(Exception):
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass
        closed.set()

    watcher = asyncio.create_task(watch_close())
    # Checked at open only, a socket would outlive a sign-out or a revoked link for as long as
    # the screen stays open (days, for a wall): re-resolve the credential every few seconds.
    # A sign-out or a revocation on any node closes it within settings.live_revalidate_s (every
    # node's resolver forgot it when it was announced, backend/auth/revocation.py).
    every = rt.settings.live_revalidate_s
    next_check = time.monotonic() + every
    try:
        await ws.send_text(_control(rt, "hello", channel))
        last_sent = time.monotonic()
        while not closed.is_set():
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + every
                ended = await _still_valid(rt, ws, token)
                if ended is not None:
                    await _refuse(ws, "token", ended.reason)
                    return
            try:
                # Woken for the heartbeat, or for the next check when that comes first.
                due = min(last_sent + HEARTBEAT_S, next_check)
                data = await asyncio.wait_for(sub.queue.get(), timeout=due - time.monotonic())
            except TimeoutError:
                if time.monotonic() >= last_sent + HEARTBEAT_S:
                    await ws.send_text(_control(rt, "heartbeat", channel))
                    last_sent = time.monotonic()
                continue
            if data is RESYNC or data == RESYNC:
                await ws.send_text(_control(rt, "resync", channel))
            else:
                await ws.send_text(data.decode())
            last_sent = time.monotonic()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        rt.hub.unsubscribe(sub)
        watcher.cancel()
        with contextlib.suppress(Exception):
            await ws.close()


@router.get(
    "/api/v1/snapshot",
    response_model=Snapshot,
    tags=["state"],
    responses=problem_responses(401, 403),
)
def read_snapshot(
    principal: ReaderDep, session: SessionDep, rt: RuntimeDep, area: str | None = None
) -> Snapshot:
    """Everything a live screen starts from; apply /ws/live deltas with a higher seq on top.

    The seq is read before the data, so a delta committed meanwhile is applied again on top;
    per-TPS versions make that harmless.
    """
    area_code = scoped_area(principal.area_code, area)
    channel = channel_for_area(area_code)
    seq = rt.hub.broadcaster.current_seq(channel)
    return Snapshot(
        seq=seq,
        channel=channel,
        taken_at=rt.clock.now(),
        clock_speed=rt.clock.speed,
        exercise=rt.settings.exercise_label(),
        grace_s=grace_table(rt.settings),
        tps=list_views(session=session, area_code=area_code),
        incidents=list_public(session=session, area_code=area_code, open_only=True),
        alerts=list_alerts(session=session, area_code=area_code, open_only=True),
    )
