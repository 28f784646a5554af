"""The live stream: WS /ws/live pushes deltas after each commit, with a sequence number."""

import asyncio
import contextlib

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from backend.areas import AreaError, narrow
from backend.auth.service import AuthError
from backend.deps import RuntimeDep, authenticate
from backend.realtime.hub import RESYNC, channel_for_area
from backend.runtime import Runtime

router = APIRouter()
HEARTBEAT_S = 2.0  # a screen that hears nothing for a few of these knows it is not live


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


@router.websocket("/ws/live")
async def live_socket(ws: WebSocket, rt: RuntimeDep) -> None:
    """Subscribe to your area's deltas; `hello` first, `heartbeat` when quiet, `resync` on loss."""
    await ws.accept()
    try:
        principal = authenticate(rt, ws, allow_query=True)
    except AuthError as err:
        await ws.send_text(
            orjson.dumps(
                {"type": "error", "error": {"field": "token", "reason": err.reason}}
            ).decode()
        )
        await ws.close(code=1008, reason=err.reason)
        return
    if not principal.can_read:
        await ws.send_text(
            orjson.dumps(
                {
                    "type": "error",
                    "error": {"field": "token", "reason": "this credential cannot read state"},
                }
            ).decode()
        )
        await ws.close(code=1008)
        return
    try:
        # Narrowing inside one's own area only: a Polres wall never gets another's deltas.
        area = narrow(principal.area_code, ws.query_params.get("area"))
    except AreaError as err:
        await ws.send_text(
            orjson.dumps(
                {"type": "error", "error": {"field": "area", "reason": err.reason}}
            ).decode()
        )
        await ws.close(code=1008)
        return
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
    try:
        await ws.send_text(_control(rt, "hello", channel))
        while not closed.is_set():
            try:
                data = await asyncio.wait_for(sub.queue.get(), timeout=HEARTBEAT_S)
            except TimeoutError:
                await ws.send_text(_control(rt, "heartbeat", channel))
                continue
            if data is RESYNC or data == RESYNC:
                await ws.send_text(_control(rt, "resync", channel))
            else:
                await ws.send_text(data.decode())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        rt.hub.unsubscribe(sub)
        watcher.cancel()
        with contextlib.suppress(Exception):
            await ws.close()
