"""Revocations reach every node at once: announced on the live broadcaster, forgotten everywhere.

The resolver caches credentials for settings.credential_cache_s (minutes), which a national
election day needs (a phone sends a frame every few minutes, so a short cache meant a database
read per frame). A revocation must still land at once on every node ("a phone revoked by
re-enrolment is refused at its very next frame"): whoever revokes calls `announce`, which
forgets the credentials here and publishes their ids on CHANNEL; every node's hub hands that
message to its resolver (`install`), which forgets them too and wakes the sockets that hold them.

memory:// reaches this process only; redis:// every node. When a node may have missed messages
(Redis lost, a stream trimmed) the broadcaster delivers a resync, and the resolver forgets
everything: re-reading is the safe side.

A process without a hub (the CLI) cannot reach a memory:// server, so it also leaves a stamp in
the database (`STAMP`): every node reads it every `settings.revocation_poll_s` (one row by key),
and when it changed, asks which of the credentials it holds are now revoked and forgets those.
"""

import asyncio
import logging
import threading
import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.auth.models import Credential
from backend.auth.service import CredentialResolver
from backend.meta import get_value, set_value
from backend.realtime.broadcast import RESYNC, Message
from backend.realtime.hub import LiveHub

log = logging.getLogger("posko.auth")

CHANNEL = "auth:revoked"
STAMP = "revocation_stamp"  # meta key: changed by every revocation made outside a server
_CHUNK = 1000  # credential ids per IN (...) when a node re-checks what it holds


async def install(hub: LiveHub, resolver: CredentialResolver) -> None:
    """Make this node's resolver forget what any node announces."""

    def on_message(msg: Message) -> None:
        if msg.data == RESYNC:
            resolver.clear()
            return
        try:
            ids = [int(i) for i in orjson.loads(msg.data)["ids"]]
        except (ValueError, KeyError, TypeError):
            log.error("unreadable revocation message; forgetting every credential")
            resolver.clear()
            return
        resolver.forget(ids)

    await hub.listen(CHANNEL, on_message)


def _body(credential_ids: list[int]) -> dict[str, Any]:
    return {"type": "revoked", "ids": credential_ids}


def announce(hub: LiveHub, resolver: CredentialResolver, credential_ids: Iterable[int]) -> None:
    """After committing a revocation (from the loop or a request thread): forget, tell all."""
    ids = sorted(set(credential_ids))
    if not ids:
        return
    resolver.forget(ids)  # this node at once, even before the message comes back
    loop = hub.loop
    if loop is None or loop.is_closed():
        return
    publish = hub.broadcaster.publish(CHANNEL, _body(ids))
    if hub.loop_thread == threading.get_ident():
        task = loop.create_task(publish)
        task.add_done_callback(_log_failure)
    else:
        asyncio.run_coroutine_threadsafe(publish, loop).add_done_callback(_log_failure)


def _log_failure(fut: "asyncio.Future[None] | Any") -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.error("could not announce a revocation", exc_info=fut.exception())


def announce_from_cli(broadcast_url: str, session: Session, credential_ids: Iterable[int]) -> None:
    """Announce from a process without a hub (the CLI): a stamp every node polls, and Redis.

    The stamp reaches every server within `revocation_poll_s`, whatever the broadcaster;
    with redis:// the announcement also reaches them at once.
    """
    ids = sorted(set(credential_ids))
    if not ids:
        return
    set_value(session=session, key=STAMP, value=uuid.uuid4().hex)
    session.commit()
    if not broadcast_url.startswith(("redis://", "rediss://")):
        return

    from redis.exceptions import RedisError

    from backend.realtime.redis_broadcast import RedisBroadcaster

    try:
        RedisBroadcaster(broadcast_url).publish_blocking(CHANNEL, _body(ids))
    except (RedisError, OSError) as exc:
        log.error("revocation not announced on %s (the stamp stands): %s", broadcast_url, exc)


def _stamp(engine: Engine) -> str | None:
    with Session(engine) as s:
        return get_value(session=s, key=STAMP)


def _revoked_among(engine: Engine, ids: list[int]) -> list[int]:
    """Which of these credentials are revoked now (one indexed read per thousand)."""
    out: list[int] = []
    with Session(engine) as s:
        for i in range(0, len(ids), _CHUNK):
            q = select(Credential.id).where(
                col(Credential.id).in_(ids[i : i + _CHUNK]), col(Credential.revoked_at).is_not(None)
            )
            out += [cid for cid in s.exec(q) if cid is not None]
    return out


async def watch_stamp(engine: Engine, resolver: CredentialResolver, every_s: float) -> None:
    """Forever: when the stamp changes, forget the held credentials that are now revoked."""
    unread = object()  # the stamp as the node started is read first, not acted on
    seen: object = unread
    while True:
        try:
            now = await asyncio.to_thread(_stamp, engine)
            if seen is not unread and now != seen:
                revoked = await asyncio.to_thread(_revoked_among, engine, resolver.held_ids())
                resolver.forget(revoked)  # wakes the sockets that hold them
            seen = now
        except Exception:  # the database away: try again next time, keep serving
            log.exception("could not read the revocation stamp")
        await asyncio.sleep(every_s)
