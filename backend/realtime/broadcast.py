"""Fan-out of live messages with a sequence number per channel; the backend is picked by URL.

`memory://` (default) fans out inside this process. `redis://` (scale-out) lets every node's
dashboards see every node's events.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

# Data of a message that tells the channel's subscribers to reload their snapshot (a backend
# that knows messages were lost on a channel delivers it instead of pretending otherwise).
RESYNC = b""


@dataclass(frozen=True, slots=True)
class Message:
    """One published message, already serialised once for every subscriber."""

    channel: str
    seq: int
    data: bytes


Deliver = Callable[[Message], None]


class Broadcaster(Protocol):
    """What the live hub needs from a fan-out backend."""

    healthy: bool

    async def connect(self, deliver: Deliver) -> None:
        """Start delivering messages of subscribed channels to `deliver`."""

    async def disconnect(self) -> None:
        """Stop."""

    async def publish(self, channel: str, body: dict[str, Any]) -> None:
        """Assign the channel's next sequence number to `body` and fan it out."""

    async def watch(self, channel: str) -> None:
        """Make sure messages of `channel` reach this node."""

    def current_seq(self, channel: str) -> int:
        """The last sequence number this node has seen on a channel."""


class MemoryBroadcaster:
    """In-process fan-out: one node, no external service."""

    def __init__(self) -> None:
        self.healthy = True
        self._seq: dict[str, int] = {}
        self._deliver: Deliver | None = None

    async def connect(self, deliver: Deliver) -> None:
        """Start delivering."""
        self._deliver = deliver

    async def disconnect(self) -> None:
        """Stop delivering."""
        self._deliver = None

    async def watch(self, channel: str) -> None:
        """Every channel reaches this node already."""

    async def publish(self, channel: str, body: dict[str, Any]) -> None:
        """Number and deliver synchronously."""
        seq = self._seq.get(channel, 0) + 1
        self._seq[channel] = seq
        data = orjson.dumps({**body, "seq": seq, "channel": channel})
        if self._deliver is not None:
            self._deliver(Message(channel, seq, data))

    def current_seq(self, channel: str) -> int:
        """Last sequence number published on the channel."""
        return self._seq.get(channel, 0)


def make_broadcaster(url: str) -> Broadcaster:
    """Pick the backend by URL scheme."""
    if url.startswith("memory://"):
        return MemoryBroadcaster()
    if url.startswith(("redis://", "rediss://")):
        from backend.realtime.redis_broadcast import RedisBroadcaster

        return RedisBroadcaster(url)
    raise ValueError(f"unsupported broadcast URL {url!r} (memory:// or redis://)")
