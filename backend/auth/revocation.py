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
"""

import asyncio
import logging
import threading
from collections.abc import Iterable
from typing import Any

import orjson

from backend.auth.service import CredentialResolver
from backend.realtime.broadcast import RESYNC, Message
from backend.realtime.hub import LiveHub

log = logging.getLogger("posko.auth")

CHANNEL = "auth:revoked"


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


def announce_from_cli(broadcast_url: str, credential_ids: Iterable[int]) -> bool:
    """Announce from a process without a hub (the CLI); False when no node can be reached.

    With memory:// the running server is another process that cannot be told: it refuses the
    credential when its cache entry expires (credential_cache_s) or the socket's re-check runs.
    """
    ids = sorted(set(credential_ids))
    if not ids or not broadcast_url.startswith(("redis://", "rediss://")):
        return False

    from redis.exceptions import RedisError

    from backend.realtime.redis_broadcast import RedisBroadcaster

    try:
        RedisBroadcaster(broadcast_url).publish_blocking(CHANNEL, _body(ids))
    except (RedisError, OSError) as exc:
        log.error("could not announce a revocation on %s: %s", broadcast_url, exc)
        return False
    return True
