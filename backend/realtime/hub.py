"""Live subscribers of this node: bounded queues, so a slow screen never slows intake."""

import asyncio
import threading
from dataclasses import dataclass, field

from backend.metrics import METRICS
from backend.realtime.broadcast import RESYNC, Broadcaster, Deliver, Message

__all__ = ["RESYNC", "LiveHub", "Subscriber", "channel_for_area", "channels_for_kabupaten"]


def channel_for_area(area_code: str | None) -> str:
    """The live channel of an area: national, a province (2 digits) or a kabupaten."""
    if area_code is None:
        return "nat"
    return f"prov:{area_code}" if len(area_code) == 2 else f"kab:{area_code}"


def channels_for_kabupaten(kabupaten_code: str) -> tuple[str, str, str]:
    """Every channel that carries a kabupaten's deltas."""
    return (f"kab:{kabupaten_code}", f"prov:{kabupaten_code[:2]}", "nat")


@dataclass(eq=False, slots=True)
class Subscriber:
    """One /ws/live connection's queue."""

    channel: str
    queue: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    dropped: int = 0


class LiveHub:
    """Routes published messages to this node's subscribers of each channel."""

    def __init__(self, broadcaster: Broadcaster, queue_max: int) -> None:
        self.broadcaster = broadcaster
        self._queue_max = queue_max
        self._subs: dict[str, set[Subscriber]] = {}
        self._listeners: dict[str, Deliver] = {}  # node-internal channels (auth:revoked)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: int | None = None

    async def start(self) -> None:
        """Connect to the broadcaster."""
        # Kept so that request threads can publish (backend.auth.revocation.announce).
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        await self.broadcaster.connect(self.deliver)

    async def listen(self, channel: str, listener: Deliver) -> None:
        """Hand every message of a channel (resyncs too) to `listener`, on the event loop."""
        self._listeners[channel] = listener
        await self.broadcaster.watch(channel)

    async def stop(self) -> None:
        """Disconnect and wake every subscriber so its connection can close."""
        await self.broadcaster.disconnect()

    async def subscribe(self, channel: str) -> Subscriber:
        """Register a subscriber of one channel."""
        await self.broadcaster.watch(channel)
        sub = Subscriber(channel, asyncio.Queue(maxsize=self._queue_max))
        self._subs.setdefault(channel, set()).add(sub)
        METRICS.live_subscribers.inc()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a subscriber."""
        subs = self._subs.get(sub.channel)
        if subs is not None and sub in subs:
            subs.discard(sub)
            METRICS.live_subscribers.dec()

    def resync_all(self) -> None:
        """Tell every subscriber to reload (this node may have missed messages)."""
        for subs in self._subs.values():
            for sub in subs:
                self._overflow(sub)

    def deliver(self, msg: Message) -> None:
        """Queue a message for every subscriber of its channel, never waiting."""
        listener = self._listeners.get(msg.channel)
        if listener is not None:
            listener(msg)
        for sub in self._subs.get(msg.channel, ()):
            try:
                sub.queue.put_nowait(msg.data)
            except asyncio.QueueFull:
                self._overflow(sub)

    def _overflow(self, sub: Subscriber) -> None:
        # Dropping the backlog and asking for a snapshot is cheaper for everyone than
        # holding an unbounded queue for a screen that cannot keep up.
        while not sub.queue.empty():
            sub.queue.get_nowait()
            sub.dropped += 1
        sub.queue.put_nowait(RESYNC)
        METRICS.live_resyncs.inc()

    @property
    def subscriber_count(self) -> int:
        """Open subscriptions on this node."""
        return sum(len(s) for s in self._subs.values())
