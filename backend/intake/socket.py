"""WS /ws/field as a bare ASGI app: the device socket, one ack per event after commit.

The device token comes from, in this order: the Authorization header, the subprotocol
`posko.bearer.<token>` (browsers cannot set headers on a websocket: the phone app offers it
beside `posko.v1`, which is selected), the session cookie, `?token=`.

It is routed ahead of FastAPI's stack (see FieldSocketRoute): Starlette's WebSocket wrapper and
exception layers cost ~10 µs per message (measured: an echo of the same frames ran 37.5k/s
through a FastAPI endpoint and 62k/s as a bare ASGI app), a third of intake's budget.
"""

import asyncio
import contextlib
import logging
import random
from typing import Any

import orjson
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.auth.service import AuthError
from backend.deps import FIELD_SUBPROTOCOL, record_refusal, remote_of, token_from
from backend.intake.validate import Item, event_id_of
from backend.intake.writer import StorageUnavailable
from backend.runtime import Runtime
from schemas.enums import CredentialKind

log = logging.getLogger("posko.intake")

PATH = "/ws/field"
POLICY_VIOLATION = 1008


def error_frame(field: str, reason: str, event_ids: list[str | None] | None = None) -> str:
    """A websocket error frame naming the field, the reason and, if any, the events affected."""
    frame: dict[str, Any] = {"type": "error", "error": {"field": field, "reason": reason}}
    if event_ids is not None:
        frame["event_ids"] = event_ids
    return orjson.dumps(frame).decode()


class FieldSocketRoute:
    """ASGI middleware that hands /ws/field to the field socket before any other layer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch."""
        if scope["type"] == "websocket" and scope["path"] == PATH:
            await field_socket(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def field_socket(scope: Scope, receive: Receive, send: Send) -> None:
    """Authenticate the device, then read frames, queue them for commit and ack in order."""
    rt: Runtime = scope["app"].state.runtime
    conn = HTTPConnection(scope)
    if (await receive())["type"] != "websocket.connect":
        return
    accept: dict[str, Any] = {"type": "websocket.accept"}
    if FIELD_SUBPROTOCOL in (scope.get("subprotocols") or ()):
        # A browser that offered subprotocols fails a socket that selects none: select ours,
        # never the `posko.bearer.<token>` one (that would echo the token in a header).
        accept["subprotocol"] = FIELD_SUBPROTOCOL
    await send(accept)

    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "text": text})

    ended = asyncio.Event()  # the credential was refused: the socket is closing

    async def refuse(err: AuthError) -> None:
        if ended.is_set():
            return
        ended.set()
        record_refusal(rt, conn, err)
        with contextlib.suppress(Exception):
            await send_text(error_frame("token", err.reason))
            await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": err.reason})

    token = token_from(conn, allow_query=True, allow_subprotocol=True)
    resolver = rt.resolver
    try:
        principal = await resolver.resolve_async(token, now=rt.clock.now())
    except AuthError as err:
        await refuse(err)
        return
    if principal.kind is not CredentialKind.DEVICE:
        await refuse(AuthError("not a device credential", principal.name[:12]))
        return

    remote = remote_of(conn)
    officer_id = principal.officer_id
    assert officer_id is not None
    check_frame = rt.checker.check_frame
    writer = rt.writer
    limit = rt.settings.max_inflight_per_connection
    pending: asyncio.Queue[tuple[asyncio.Future[list[dict[str, Any]]], list[Item], bool] | None] = (
        asyncio.Queue()
    )
    inflight = 0
    room = asyncio.Event()
    room.set()

    async def send_acks() -> None:
        # Acks leave in the order the frames came in: the writer commits FIFO.
        nonlocal inflight
        while (entry := await pending.get()) is not None:
            fut, items, single = entry
            try:
                acks = await fut
            except StorageUnavailable as exc:
                # Nothing in that frame was stored: the device resends it, same event ids.
                await send_text(error_frame("storage", str(exc), [event_id_of(i) for i in items]))
                continue
            finally:
                inflight -= 1
                room.set()
            await send_text(orjson.dumps(acks[0] if single else acks).decode())

    async def still_valid() -> bool:
        try:
            await resolver.resolve_async(token, now=rt.clock.now())
        except AuthError as err:
            await refuse(err)
            return False
        except Exception:  # a database hiccup is no reason to drop a phone
            log.warning("field socket: could not re-check a device credential", exc_info=True)
        return True

    loop = asyncio.get_running_loop()
    revoked = asyncio.Event()

    # Woken when any node announces this credential revoked (backend/auth/revocation.py): a
    # phone that sends nothing loses its socket at once, not at its next report.
    def wake() -> None:
        loop.call_soon_threadsafe(revoked.set)  # forget() may run in a request thread

    unwatch = resolver.watch(principal.token_hash, wake)

    async def watch_credential() -> None:
        # The timer is only a backstop (an announcement lost with no resync): jittered, so that
        # phones that connected together do not all re-check together.
        every = rt.settings.field_revalidate_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(revoked.wait(), every * random.uniform(0.8, 1.2))
            revoked.clear()
            if not await still_valid():
                return

    sender = asyncio.create_task(send_acks(), name="posko-field-acks")
    watcher = asyncio.create_task(watch_credential(), name="posko-field-credential")
    try:
        while True:
            msg = await receive()
            if msg["type"] != "websocket.receive" or ended.is_set():
                break
            raw: str | None = msg.get("text")
            if raw is not None:
                items, single, _ = check_frame(
                    raw, officer_id=officer_id, source="ws", remote=remote, now=rt.clock.now()
                )
            else:
                data: bytes = msg.get("bytes") or b""
                rej = rt.checker.reject(
                    None,
                    "frame",
                    "binary frames are not accepted: send JSON as text",
                    source="ws",
                    officer_id=principal.officer_id,
                    remote=remote,
                    now=rt.clock.now(),
                    payload=data[:4096].hex(),
                )
                rej.size = len(data)
                items, single = [rej], True
            # Every frame asks the resolver: a dict hit, or on a miss (once per
            # credential_cache_s, or after a revocation) a read in a thread, never on the loop
            # that serves every other phone. A phone revoked on any node is refused at its next
            # frame: the announcement made every resolver forget it.
            try:
                await resolver.resolve_async(token, now=rt.clock.now())
            except AuthError as err:
                await refuse(err)
                break
            while inflight >= limit:  # a device that never reads its acks is not served more
                room.clear()
                await room.wait()
            await writer.reserve(len(items))
            inflight += 1
            await pending.put((writer.enqueue(items), items, single))
    except OSError:
        pass  # the peer went away mid-frame
    finally:
        unwatch()
        watcher.cancel()
        await pending.put(None)
        # Acks of events already queued still go out if the peer is listening.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sender, timeout=10)
        sender.cancel()
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": 1000})
