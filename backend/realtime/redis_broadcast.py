"""Fan-out across nodes through Redis streams: one sequence per channel for the whole cluster.

`POSKO_BROADCAST_URL=redis://host:6379/0` (options in the query: `prefix=posko:live:`,
`maxlen=2000` entries kept per channel, `outbox=10000` messages waiting at most).

Publishing runs a Lua script that, atomically, takes the channel's next sequence number (INCR)
and appends the message to the channel's stream under that number (`XADD <seq>-0`, trimmed to
about `maxlen` entries). The script splices `"seq"` and `"channel"` into the JSON once; every
node then delivers those same bytes. Every node reads the streams of the channels its
subscribers watch with one blocking XREAD, from the last number it delivered, so each
dashboard gets every message of its channel, in order, with the cluster's numbers, whichever
node its events came in on. A node's own messages come back the same way: one order for all.

Failure behaviour (`healthy` is what /healthz reports):
- `publish` never waits for Redis: it appends to a bounded outbox that a task flushes in
  pipelines. The writer (and so intake) never blocks on the broadcast.
- Redis unreachable (connection error, or no answer within the socket timeout): `healthy`
  turns False, every local subscriber is told to resync (and again every `DEGRADED_RESYNC_S`,
  so screens refresh from snapshots while live deltas are down). Messages stay in the outbox;
  when it is full they are dropped and their channel remembered.
- Redis back: the outbox is flushed in order (remote screens catch up), then every channel
  that lost messages gets a `resync` marker through the stream, so every node tells its
  subscribers of that channel to reload. The reader continues from its last number; if the
  stream no longer holds the next one (trimmed, or Redis restarted empty), the channel's
  subscribers are told to resync instead of silently missing messages.
- A restarted, empty Redis starts a channel's sequence at its clock in microseconds, never
  below numbers that screens have already seen.
"""

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from backend.realtime.broadcast import RESYNC, Deliver, Message

log = logging.getLogger("posko.broadcast")

DEGRADED_RESYNC_S = 15.0  # while Redis is down, screens reload their snapshot this often
RETRY_S = 0.5  # how often a node that lost Redis tries again
BLOCK_MS = 1000  # XREAD waits at most this long: also how fast a silent loss is noticed
PIPELINE_MAX = 500  # messages per round trip to Redis

# KEYS: sequence counter, stream. ARGV: body (a JSON object), channel (a JSON string), maxlen,
# kind ("d" delta, "r" resync marker).
_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then
  local t = redis.call('TIME')
  seq = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('SET', KEYS[1], string.format('%d', seq))
end
local s = string.format('%d', seq)
local data = string.sub(ARGV[1], 1, -2) .. ',"seq":' .. s .. ',"channel":' .. ARGV[2] .. '}'
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], s .. '-0', 'd', data, 'k', ARGV[4])
return s
"""


def _options(url: str) -> tuple[str, dict[str, str]]:
    """Split Posko's own options off the URL's query; the rest goes to redis-py."""
    parts = urlsplit(url)
    ours, theirs = {}, []
    for key, value in parse_qsl(parts.query):
        if key in ("prefix", "maxlen", "outbox"):
            ours[key] = value
        else:
            theirs.append((key, value))
    return urlunsplit(parts._replace(query=urlencode(theirs))), ours


class RedisBroadcaster:
    """Cluster-wide fan-out: Redis streams, one atomic sequence per channel."""

    def __init__(self, url: str) -> None:
        self.url, options = _options(url)
        self.prefix = options.get("prefix", "posko:live:")
        self.maxlen = int(options.get("maxlen", "2000"))
        self.outbox_max = int(options.get("outbox", "10000"))
        self.healthy = False
        self._deliver: Deliver | None = None
        # Watched channel -> last sequence number delivered here (0: none yet; None: unknown,
        # to be read from Redis, and the channel's subscribers resynced, when it answers).
        self._pos: dict[str, int | None] = {}
        self._by_stream: dict[bytes, str] = {}
        self._outbox: deque[tuple[str, bytes, str]] = deque()
        self._dropped: set[str] = set()
        self._wake_key = f"{self.prefix}wake:{uuid.uuid4().hex}"
        self._wake_id = b"0-0"
        self._flush = asyncio.Event()
        self._drained = asyncio.Event()  # the outbox is empty
        self._up = asyncio.Event()  # Redis answered since the last loss
        self._tasks: list[asyncio.Task[None]] = []
        self._r: Redis | None = None  # commands and publishing
        self._rx: Redis | None = None  # the blocking XREAD, on a connection of its own
        self._sync: SyncRedis | None = None  # current_seq from request threads
        self._loop_thread: int | None = None
        self._degraded_at = 0.0
        self._script_sha: str | None = None
        self.dropped_total = 0

    # --- keys ---------------------------------------------------------------------------------

    def _seq_key(self, channel: str) -> str:
        return f"{self.prefix}seq:{channel}"

    def _stream_key(self, channel: str) -> str:
        return f"{self.prefix}s:{channel}"

    # --- lifecycle ----------------------------------------------------------------------------

    async def connect(self, deliver: Deliver) -> None:
        """Open the connections and start reading and publishing (a down Redis is retried)."""
        self._deliver = deliver
        self._loop_thread = threading.get_ident()
        no_retry = Retry(NoBackoff(), 0)  # we notice failures ourselves, at once
        self._r = Redis.from_url(
            self.url, socket_timeout=2.0, socket_connect_timeout=2.0, retry=no_retry
        )
        self._rx = Redis.from_url(
            self.url,
            socket_timeout=BLOCK_MS / 1000 + 2.0,
            socket_connect_timeout=2.0,
            retry=no_retry,
        )
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="posko-broadcast-read"),
            asyncio.create_task(self._publish_loop(), name="posko-broadcast-publish"),
        ]
        # Give a reachable Redis a moment, so a node starts healthy; never wait long for one.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up.wait(), 2.0)

    async def disconnect(self) -> None:
        """Flush what is queued (briefly), then stop and close."""
        if self.healthy and self._outbox:
            self._flush.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), 2.0)
        for task in self._tasks:
            task.cancel()
        # A node's shutdown must never hang on Redis: redis-py's close can wait forever for a
        # connection whose peer went away (redis/redis-py#3941; a test teardown here once hung
        # 300 s after its proxy was cut), so every step gets a bound.
        if self._tasks:
            done, _ = await asyncio.wait(self._tasks, timeout=2.0)
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved: a failure on the way out is not news
        self._tasks = []
        for client in (self._r, self._rx):
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.aclose(), 2.0)
        if self._sync is not None:
            with contextlib.suppress(Exception):
                self._sync.close()
        self._deliver = None
        self.healthy = False

    @property
    def pending(self) -> int:
        """Messages waiting in the outbox for Redis."""
        return len(self._outbox)

    # --- the protocol -------------------------------------------------------------------------

    async def publish(self, channel: str, body: dict[str, Any]) -> None:
        """Queue `body` for the channel's next number; never waits for Redis."""
        if not body:
            raise ValueError("a live message is a non-empty JSON object")
        self._enqueue(channel, orjson.dumps(body), "d")

    async def watch(self, channel: str) -> None:
        """Read this channel's stream from its current number on."""
        if channel in self._pos:
            return
        self._pos[channel] = None
        self._by_stream[self._stream_key(channel).encode()] = channel
        if self.healthy and self._r is not None:
            with contextlib.suppress(RedisError, OSError):  # else the reader recovers it
                self._pos[channel] = await self._counter(self._r, channel)
            with contextlib.suppress(RedisError, OSError):
                # Wake the blocked XREAD so it starts reading this stream now, not in a second.
                await self._r.xadd(self._wake_key, {"w": "1"}, maxlen=1)
                await self._r.expire(self._wake_key, 60)

    def current_seq(self, channel: str) -> int:
        """The last number of the channel this node delivered (or, if unwatched, Redis's)."""
        pos = self._pos.get(channel)
        if pos is not None:
            return pos
        if not self.healthy or threading.get_ident() == self._loop_thread:
            return 0  # never block the event loop; 0 makes a screen apply every delta it gets
        try:
            if self._sync is None:
                self._sync = SyncRedis.from_url(
                    self.url, socket_timeout=0.5, socket_connect_timeout=0.5
                )
            value = self._sync.get(self._seq_key(channel))
        except (RedisError, OSError):
            return 0
        return int(value) if value else 0

    def publish_blocking(self, channel: str, body: dict[str, Any]) -> None:
        """Publish one message at once from a process with no hub (the CLI); raises RedisError."""
        client = SyncRedis.from_url(self.url, socket_timeout=2.0, socket_connect_timeout=2.0)
        try:
            client.eval(
                _PUBLISH,
                2,
                self._seq_key(channel),
                self._stream_key(channel),
                orjson.dumps(body),
                orjson.dumps(channel),
                self.maxlen,
                "d",
            )
        finally:
            client.close()

    # --- publishing ---------------------------------------------------------------------------

    def _enqueue(self, channel: str, data: bytes, kind: str) -> None:
        if len(self._outbox) >= self.outbox_max:
            # Never wait and never grow: drop, and make sure every screen of the channel
            # reloads once the broadcast works again.
            self._dropped.add(channel)
            self.dropped_total += 1
            return
        self._outbox.append((channel, data, kind))
        self._drained.clear()
        self._flush.set()

    async def _publish_loop(self) -> None:
        while True:
            await self._flush.wait()
            self._flush.clear()
            while self.healthy and (self._outbox or self._dropped):
                if not self._outbox:
                    # Everything queued went out: now tell every node which channels lost
                    # messages, in the stream itself so the marker is ordered with the rest.
                    at = time.time()
                    for channel in sorted(self._dropped):
                        body = {"type": "resync", "reason": "messages dropped", "at": at}
                        self._outbox.append((channel, orjson.dumps(body), "r"))
                    self._dropped.clear()
                batch = [self._outbox[i] for i in range(min(PIPELINE_MAX, len(self._outbox)))]
                try:
                    await self._send(batch)
                except (RedisError, OSError) as exc:
                    # Unknown which of these reached Redis: resending could repeat some,
                    # dropping could lose some. Drop them and have their channels resync.
                    for _ in batch:
                        self._outbox.popleft()
                    self._dropped.update(channel for channel, _, _ in batch)
                    self._lost(exc)
                    break
                for _ in batch:
                    self._outbox.popleft()
            if not self._outbox:
                self._drained.set()

    async def _send(self, batch: list[tuple[str, bytes, str]]) -> None:
        assert self._r is not None
        if self._script_sha is None:
            self._script_sha = await self._r.script_load(_PUBLISH)
        pipe = self._r.pipeline(transaction=False)
        for channel, data, kind in batch:
            pipe.evalsha(
                self._script_sha,
                2,
                self._seq_key(channel),
                self._stream_key(channel),
                data,
                orjson.dumps(channel),
                self.maxlen,
                kind,
            )
        results = await pipe.execute(raise_on_error=False)
        if any(isinstance(r, Exception) and "NOSCRIPT" in str(r) for r in results):
            # Redis restarted and forgot the script: load it and send the batch again. A
            # NOSCRIPT reply means that call did nothing, so nothing is published twice.
            self._script_sha = None
            failed = [
                m
                for m, r in zip(batch, results, strict=True)
                if isinstance(r, Exception) and "NOSCRIPT" in str(r)
            ]
            await self._send(failed)
            return
        for (channel, _, _), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                log.error("publishing on %s failed: %s", channel, result)
                self._dropped.add(channel)

    # --- reading ------------------------------------------------------------------------------

    async def _counter(self, client: Redis, channel: str) -> int:
        value = await client.get(self._seq_key(channel))
        return int(value) if value else 0

    async def _read_loop(self) -> None:
        while True:
            if not self.healthy:
                await self._reconnect()
                continue
            try:
                await self._read_once()
            except (RedisError, OSError) as exc:
                self._lost(exc)

    async def _read_once(self) -> None:
        assert self._rx is not None
        streams: dict[Any, Any] = {self._wake_key: self._wake_id}
        for channel, pos in self._pos.items():
            if pos is not None:
                streams[self._stream_key(channel)] = f"{pos}-0"
        reply: Any = await self._rx.xread(streams, count=PIPELINE_MAX, block=BLOCK_MS)
        if isinstance(reply, dict):  # RESP3 answers with a map
            reply = list(reply.items())
        for stream, entries in reply or ():
            watched = self._by_stream.get(stream)
            if watched is None:
                if entries:
                    self._wake_id = entries[-1][0]
                continue
            for entry_id, fields in entries:
                self._deliver_entry(watched, entry_id, fields)

    def _deliver_entry(self, channel: str, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        seq = int(entry_id.split(b"-", 1)[0])
        pos = self._pos.get(channel)
        if pos is not None and seq <= pos:
            return  # already delivered (a position read while this entry was in flight)
        deliver = self._deliver
        if deliver is None:
            return
        self._pos[channel] = seq
        if pos and seq != pos + 1:
            # The stream no longer holds what came between: this node's screens missed it.
            log.warning("live channel %s jumped from %d to %d: resync", channel, pos, seq)
            deliver(Message(channel, seq, RESYNC))
        if fields.get(b"k") == b"r":
            deliver(Message(channel, seq, RESYNC))
        else:
            deliver(Message(channel, seq, fields[b"d"]))

    # --- losing and finding Redis ---------------------------------------------------------------

    def _lost(self, exc: BaseException) -> None:
        if self.healthy:
            log.error("live broadcast down (Redis: %s); intake continues, screens resync", exc)
        self.healthy = False
        self._up.clear()
        self._resync_everyone()

    def _resync_everyone(self) -> None:
        self._degraded_at = time.monotonic()
        deliver = self._deliver
        if deliver is None:
            return
        for channel in list(self._pos):
            deliver(Message(channel, self._pos.get(channel) or 0, RESYNC))

    async def _reconnect(self) -> None:
        assert self._r is not None
        try:
            await self._r.ping()
            for channel, pos in list(self._pos.items()):
                if pos is None:
                    self._pos[channel] = await self._counter(self._r, channel)
                    if self._deliver is not None:
                        self._deliver(Message(channel, self._pos[channel] or 0, RESYNC))
        except (RedisError, OSError):
            if time.monotonic() - self._degraded_at >= DEGRADED_RESYNC_S:
                self._resync_everyone()
            await asyncio.sleep(RETRY_S)
            return
        if self._script_sha is not None:
            self._script_sha = None  # a restarted Redis has forgotten it; load again
        log.info("live broadcast up (Redis %s)", self.url)
        self.healthy = True
        self._up.set()
        self._flush.set()
