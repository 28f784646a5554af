"""Play a day plan against a running server: one phone per officer, every event acked or resent.

Two clocks are involved. The *schedule clock* decides when a planned step is due; the *device
clock* stamps `device_time` on each event as it happens. Both are the server's clock
(`GET /api/v1/clock`, polled every few seconds and run forward locally at its `speed` in
between), so against a server in exercise mode the day plays at the exercise's pace and every
event carries the exercise time, +07:00. Against a server on real time (speed 1), `--speed X
--start ISO` makes the schedule clock a local one that starts at ISO and runs X times faster,
while `device_time` is still the server's real time: the server sees fresh events, compressed.

A phone speaks over `WS /ws/field` (Bearer token) or, for about a fifth of the officers, over
the webhooks (Bearer, or HMAC-signed for half of those). Each keeps its events until the server
acknowledges them; after a dropped connection, an error frame or an HTTP 5xx it reconnects with
exponential backoff and jitter and sends the unacknowledged events again with the same event
ids, so the server stores each exactly once and nothing planned is silently lost: whatever is
still unacknowledged at the end is counted and reported as such.
"""

import asyncio
import contextlib
import hashlib
import random
import ssl
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Protocol

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from backend.auth.service import sign
from backend.config import WIB
from backend.simulate.plan import (
    Action,
    DayPlan,
    OfficerInfo,
    PlannedPing,
    PlanOptions,
    Step,
    TpsInfo,
    uuid7,
)
from backend.simulate.provision import DeviceCredentials
from schemas.enums import Phase
from schemas.live import TpsPage
from schemas.registry import OfficersPublic

HTTP_BATCH_MAX = 200  # events per webhook request when a phone has a backlog


class SimulateError(RuntimeError):
    """The run cannot start: say why and what to do."""


class Refused(Exception):
    """The server refused a phone's credential: nothing this phone sends will be taken."""


class ServerTrouble(Exception):
    """The server could not take a frame (error frame, 5xx, mismatched acks): send it again."""


# --- clocks ---------------------------------------------------------------------------------------


class Clock(Protocol):
    """A clock the runner reads: current time, and how far away a moment is in real seconds."""

    speed: float

    def now(self) -> datetime:
        """The current time on this clock."""
        ...

    def real_seconds_until(self, at: datetime) -> float:
        """Real seconds until this clock shows `at` (negative when past)."""
        ...


class ServerClock:
    """The server's clock, read now and then and run forward locally at the server's speed.

    Like NTP, it trusts the reading with the shortest round trip: the server read its clock
    somewhere inside the round trip, so the midpoint is off by at most half of it, and at x1200
    a busy server's 200 ms answer would otherwise put device times 2 minutes off (and make the
    server flag them `clock_skew`). A reading that disagrees with the estimate by more than both
    uncertainties together means the clock really moved (a restarted exercise): it is taken.
    """

    def __init__(self) -> None:
        self.speed = 1.0
        self.exercise: str | None = None
        self.jumps = 0  # times the server's clock was not where the estimate expected it
        self._at: datetime | None = None
        self._mono = 0.0
        self._rtt = 0.0

    async def sync(self, client: httpx.AsyncClient) -> None:
        """Read the server's clock once."""
        t0 = time.monotonic()
        r = await client.get("/api/v1/clock")
        t1 = time.monotonic()
        r.raise_for_status()
        body = r.json()
        at = datetime.fromisoformat(body["now"])
        speed = float(body["speed"])
        self.exercise = body.get("exercise")
        mono, rtt = (t0 + t1) / 2, t1 - t0
        if self._at is not None and speed == self.speed:
            expected = self._at + timedelta(seconds=(mono - self._mono) * speed)
            slack = (rtt + self._rtt) / 2 * speed + 1.0
            if abs((at - expected).total_seconds()) <= slack:
                if rtt >= self._rtt:
                    return  # consistent, and no sharper than the reading we have
            else:
                self.jumps += 1
        self._at, self._mono, self._rtt, self.speed = at, mono, rtt, speed

    def now(self) -> datetime:
        """The server's time now, estimated."""
        assert self._at is not None, "sync() first"
        return self._at + timedelta(seconds=(time.monotonic() - self._mono) * self.speed)

    def real_seconds_until(self, at: datetime) -> float:
        """Real seconds until the server's clock shows `at`."""
        return (at - self.now()).total_seconds() / self.speed


class LocalClock:
    """A simulated clock: starts at `start` and runs `speed` times faster than real time."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.speed = speed
        self._start = start
        self._mono = time.monotonic()

    def now(self) -> datetime:
        """The simulated time now."""
        return self._start + timedelta(seconds=(time.monotonic() - self._mono) * self.speed)

    def real_seconds_until(self, at: datetime) -> float:
        """Real seconds until the simulated clock shows `at`."""
        return (at - self.now()).total_seconds() / self.speed


# --- counting -------------------------------------------------------------------------------------


@dataclass
class Stats:
    """What happened to the events: every event sent gets exactly one final ack, or is unacked."""

    sent: int = 0  # events handed to phones: planned sends, replays, planned retries, load
    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    resent: int = 0  # events sent again after a failure (same event id)
    retried: int = 0  # planned retries acked
    retry_duplicate: int = 0  # ... of which answered `duplicate`, as they should be
    replayed: int = 0  # events sent late in a buffered batch
    load: int = 0  # extra pings from --rate
    shed: int = 0  # --rate pings not generated because the server was too far behind
    skipped: int = 0  # steps already past when the run started
    failures: int = 0  # dropped connections, error frames, 5xx, refused connects
    connects: int = 0
    refused: int = 0  # phones whose credential the server refused
    flags: Counter[str] = field(default_factory=Counter)
    rejections: Counter[str] = field(default_factory=Counter)
    stored_ids: set[uuid.UUID] = field(default_factory=set, repr=False)  # with track_ids
    acked_ids: set[uuid.UUID] = field(default_factory=set, repr=False)  # with track_ids

    @property
    def acked(self) -> int:
        """Events with a final answer."""
        return self.stored + self.duplicate + self.rejected

    @property
    def unacked(self) -> int:
        """Events sent and not (yet) acknowledged."""
        return self.sent - self.acked

    def line(self) -> str:
        """The counts on one line."""
        flags = " ".join(f"{k} {v}" for k, v in sorted(self.flags.items()))
        return (
            f"sent {self.sent} stored {self.stored} dup {self.duplicate} rej {self.rejected} "
            f"resent {self.resent} unacked {self.unacked} | retries {self.retry_duplicate}/"
            f"{self.retried} dup | replayed {self.replayed}"
            + (f" | skipped {self.skipped} (before the start)" if self.skipped else "")
            + (f" | load {self.load}" if self.load else "")
            + (f" shed {self.shed}" if self.shed else "")
            + (f" | flags: {flags}" if flags else "")
        )


# --- phones ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Frame:
    """One message from a phone: an event or a batch, serialized once, resent byte for byte."""

    ids: list[str]
    text: str
    is_single: bool
    kind: str  # "ping", "incident", "custody" or "mixed": picks the webhook path
    is_retry: bool = False
    attempts: int = 0

    @classmethod
    def of(cls, events: list[dict[str, Any]], *, is_retry: bool = False) -> "Frame":
        """A frame of one event (sent as an object) or several (sent as an array)."""
        kinds = {e["type"] for e in events}
        payload: Any = events[0] if len(events) == 1 else events
        return cls(
            ids=[e["event_id"] for e in events],
            text=orjson.dumps(payload).decode(),
            is_single=len(events) == 1,
            kind=kinds.pop() if len(kinds) == 1 else "mixed",
            is_retry=is_retry,
        )

    @classmethod
    def joined(cls, frames: list["Frame"]) -> "Frame":
        """Several frames as one batch, events in order."""
        parts = [f.text if f.is_single else f.text[1:-1] for f in frames]
        kinds = {f.kind for f in frames}
        return cls(
            ids=[i for f in frames for i in f.ids],
            text="[" + ",".join(parts) + "]",
            is_single=False,
            kind=kinds.pop() if len(kinds) == 1 else "mixed",
        )


class Backoff:
    """Exponential backoff with jitter, so phones that lost the server do not return in step."""

    # Capped at 3 s like the screens' (live.js): a phone is back within ~3 s of the server.
    def __init__(self, rng: random.Random, base: float = 0.25, cap: float = 3.0) -> None:
        self._rng = rng
        self._base = base
        self._cap = cap
        self._n = 0

    def reset(self) -> None:
        """Connected again: start over."""
        self._n = 0

    def next(self) -> float:
        """Seconds to wait before the next attempt."""
        d = min(self._cap, self._base * 2**self._n)
        self._n += 1
        return d / 2 + self._rng.uniform(0, d / 2)


class Phone:
    """An officer's phone: a queue of frames, each kept until the server acknowledges it."""

    transport = "?"

    def __init__(self, nrp: str, creds: DeviceCredentials, runner: "Runner") -> None:
        self.nrp = nrp
        self.creds = creds
        self.runner = runner
        self.queue: deque[Frame] = deque()
        self.inflight: deque[Frame] = deque()
        self.buffer: list[dict[str, Any]] = []  # events held while out of signal
        self.wake = asyncio.Event()
        self.is_online = False
        self.is_refused = False
        self.acked = 0  # events this phone got an answer for
        self.backoff = Backoff(random.Random(f"{runner.config.seed}:backoff:{nrp}"))

    @property
    def pending(self) -> int:
        """Events not yet acknowledged."""
        return sum(len(f.ids) for f in self.queue) + sum(len(f.ids) for f in self.inflight)

    @property
    def is_idle(self) -> bool:
        """Nothing waiting for an ack."""
        return not self.queue and not self.inflight

    def submit(self, frame: Frame) -> None:
        """Queue a frame for sending."""
        self.runner.stats.sent += len(frame.ids)
        self.queue.append(frame)
        self.wake.set()

    def _take(self) -> Frame:
        frame = self.queue.popleft()
        frame.attempts += 1
        if frame.attempts > 1:
            self.runner.stats.resent += len(frame.ids)
        return frame

    def _requeue_inflight(self) -> None:
        # Unacknowledged frames go back to the front in their order: a resend keeps the order.
        self.queue.extendleft(reversed(self.inflight))
        self.inflight.clear()

    def _acks_of(self, frame: Frame, reply: Any) -> list[dict[str, Any]]:
        """The acks of `frame` in `reply`, one per event, checked against its event ids."""
        if isinstance(reply, dict) and reply.get("result") == "rejected" and not frame.is_single:
            # A frame refused as a whole (unreadable, too big) gets one ack: it covers them all.
            return [{**reply, "event_id": i} for i in frame.ids]
        acks = [reply] if frame.is_single else reply
        if not isinstance(acks, list) or len(acks) != len(frame.ids):
            raise ServerTrouble(f"acks do not match the frame: {str(reply)[:200]}")
        out = []
        for ack, eid in zip(acks, frame.ids, strict=True):
            if not isinstance(ack, dict) or ack.get("type") != "ack":
                raise ServerTrouble(f"not an ack: {str(ack)[:200]}")
            if ack.get("event_id") != eid:
                if ack.get("result") != "rejected":
                    raise ServerTrouble(f"ack for {ack.get('event_id')}, expected {eid}")
                ack = {**ack, "event_id": eid}  # an unreadable event is rejected without its id
            out.append(ack)
        return out

    def _refuse(self, reason: str) -> None:
        self.is_refused = True
        self.runner.stats.refused += 1
        self.runner.say(f"phone {self.nrp}: credential refused ({reason}); its events stay unsent")

    async def run(self) -> None:
        """Send until the run closes and every frame is acknowledged (or the phone is refused)."""
        raise NotImplementedError


class WsPhone(Phone):
    """A phone on the field websocket: frames pipelined, acks matched in order."""

    transport = "ws"

    async def run(self) -> None:
        """Stay connected; reconnect with backoff and resend what was not acknowledged."""
        cfg = self.runner.config
        headers = {"Authorization": f"Bearer {self.creds.token}"}
        while not (self.runner.is_closing and self.is_idle):
            try:
                async with connect(
                    self.runner.ws_url + "/ws/field",
                    additional_headers=headers,
                    open_timeout=10,
                    close_timeout=2,
                    ping_interval=20,
                    max_size=None,
                    compression=None,  # phones' websocket stacks rarely deflate tiny frames
                ) as ws:
                    self.is_online = True
                    self.runner.stats.connects += 1
                    self.backoff.reset()
                    await self._session(ws, cfg.window)
                    return
            except Refused as exc:
                self._refuse(str(exc))
                return
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, ServerTrouble):
                self.runner.stats.failures += 1
            finally:
                self.is_online = False
                self._requeue_inflight()
            await asyncio.sleep(self.backoff.next())

    async def _session(self, ws: ClientConnection, window: int) -> None:
        reader = asyncio.create_task(self._read(ws))
        writer = asyncio.create_task(self._write(ws, window))
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # raises what ended the session, if anything did
            if reader in done:
                raise ServerTrouble("server closed the connection")
        finally:
            for task in (reader, writer):
                task.cancel()
            # asyncio.wait, not `await task` under suppress(CancelledError): that would also
            # swallow this phone's own cancellation (Ctrl-C arriving here), and the phone would
            # reconnect instead of stopping.
            await asyncio.wait({reader, writer})

    async def _write(self, ws: ClientConnection, window: int) -> None:
        while True:
            while self.queue and len(self.inflight) < window:
                frame = self._take()
                self.inflight.append(frame)
                await ws.send(frame.text)  # text frames: the server refuses binary ones
            if self.runner.is_closing and self.is_idle:
                return
            self.wake.clear()
            await self.wake.wait()

    async def _read(self, ws: ClientConnection) -> None:
        async for message in ws:
            try:
                reply = orjson.loads(message)
            except orjson.JSONDecodeError as exc:
                raise ServerTrouble(f"not JSON: {exc}") from None
            if isinstance(reply, dict) and reply.get("type") == "error":
                err = reply.get("error") or {}
                if err.get("field") == "token":
                    raise Refused(str(err.get("reason")))
                raise ServerTrouble(f"error frame: {err}")
            if not self.inflight:
                raise ServerTrouble(f"an ack nobody waited for: {str(reply)[:200]}")
            acks = self._acks_of(self.inflight[0], reply)
            self.acked += len(acks)
            self.runner.record(self.inflight.popleft(), acks)
            self.wake.set()


class HttpPhone(Phone):
    """A phone on the webhooks: one request at a time (its backlog batched), Bearer or HMAC."""

    transport = "http"

    def __init__(self, nrp: str, creds: DeviceCredentials, runner: "Runner", *, signed: bool):
        super().__init__(nrp, creds, runner)
        self.is_signed = signed
        self.batches = 0  # requests that carried a backlog of several frames
        self._signed_at: dict[str, int] = {}  # body digest -> last timestamp signed

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if not self.is_signed:
            headers["authorization"] = f"Bearer {self.creds.token}"
            return headers
        assert self.creds.hmac_key_id is not None and self.creds.hmac_secret is not None
        # The server refuses a signature it has seen: the same body (a retry) signed in the
        # same second would be one, so a resend always gets a newer timestamp.
        digest = hashlib.sha256(body).hexdigest()
        ts = int(time.time())
        ts = max(ts, self._signed_at.get(digest, 0) + 1)
        if len(self._signed_at) > 4096:
            self._signed_at = {k: v for k, v in self._signed_at.items() if v > ts - 900}
        self._signed_at[digest] = ts
        headers["x-posko-key-id"] = str(self.creds.hmac_key_id)
        headers["x-posko-timestamp"] = str(ts)
        headers["x-posko-signature"] = sign(self.creds.hmac_secret, str(ts), body)
        return headers

    async def run(self) -> None:
        """Post each frame until acknowledged; back off and resend on failures."""
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=self.runner.config.url, timeout=15, limits=limits, verify=self.runner.tls
        ) as client:
            while True:
                if not self.queue:
                    if self.runner.is_closing:
                        return
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                # A phone with a backlog posts it as one batch, as a phone app would after a
                # slow spell; each frame still gets its own acks back.
                frames = [self._take()]
                size = len(frames[0].ids)
                while self.queue and size + len(self.queue[0].ids) <= HTTP_BATCH_MAX:
                    frames.append(self._take())
                    size += len(frames[-1].ids)
                self.inflight.extend(frames)
                try:
                    await self._post(client, frames)
                except Refused as exc:
                    self._refuse(str(exc))
                    return
                except (httpx.HTTPError, ServerTrouble):
                    self.is_online = False
                    self.runner.stats.failures += 1
                    self._requeue_inflight()
                    await asyncio.sleep(self.backoff.next())

    async def _post(self, client: httpx.AsyncClient, frames: list[Frame]) -> None:
        whole = frames[0] if len(frames) == 1 else Frame.joined(frames)
        self.batches += len(frames) > 1
        path = {
            "ping": "/api/v1/pings",
            "incident": "/api/v1/incidents",
            "custody": "/api/v1/custody",
        }.get(whole.kind, "/api/v1/events")
        body = whole.text.encode()
        r = await client.post(path, content=body, headers=self._headers(body))
        if not self.is_online:
            self.is_online = True
            self.runner.stats.connects += 1
            self.backoff.reset()
        if r.status_code == 401:
            reason = _reason_of(r)
            if "replay" in reason or "timestamp" in reason:
                raise ServerTrouble(reason)  # a signing hiccup, not a bad credential
            raise Refused(reason)
        if r.status_code not in (200, 207, 400, 413, 422):
            raise ServerTrouble(f"HTTP {r.status_code}: {r.text[:200]}")
        try:
            reply = orjson.loads(r.content)
        except orjson.JSONDecodeError as exc:
            raise ServerTrouble(f"HTTP {r.status_code}, not JSON: {exc}") from None
        acks = self._acks_of(whole, reply)
        self.acked += len(acks)
        self.inflight.clear()
        for frame in frames:
            self.runner.record(frame, acks[: len(frame.ids)])
            acks = acks[len(frame.ids) :]


# --- the run --------------------------------------------------------------------------------------


@dataclass
class RunConfig:
    """How to run: where, as whom, which plan, how fast, how long."""

    url: str
    viewer: str
    devices: dict[str, DeviceCredentials]
    seed: int
    rate: float = 0.0  # extra pings per second, for benchmarks
    officers: int | None = None  # only the first N officers (by NRP)
    duration: float | None = None  # real seconds of scheduling, then drain
    speed: float | None = None  # simulate the day locally this much faster (server on real time)
    start: datetime | None = None  # ... starting at this moment of the plan
    webhook_share: float = 0.2
    signed_share: float = 0.5
    window: int = 64  # frames in flight per websocket
    progress_s: float = 5.0
    clock_poll_s: float = 5.0
    drain_s: float = 30.0  # after scheduling, how long to wait for the last acks
    max_pending: int = 50_000  # events queued across phones before the schedule waits
    plan_options: PlanOptions | None = None
    track_ids: bool = False  # keep every acked event id (tests)
    out: Callable[[str], None] = print


class Runner:
    """Plays a plan: schedules steps on a clock, hands events to phones, counts the acks."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.url = config.url.rstrip("/")
        self.ws_url = "ws" + self.url.removeprefix("http")
        self.stats = Stats()
        self.is_closing = False
        self.phones: dict[str, Phone] = {}
        self.plan: DayPlan | None = None
        self.device_clock = ServerClock()
        self.schedule_clock: Clock = self.device_clock
        self._retry_bodies: dict[uuid.UUID, dict[str, Any]] = {}
        self._last_line = (time.monotonic(), 0)
        self._room = asyncio.Event()  # set when acks bring the backlog under half the limit
        # One TLS context for every client: loading the CA bundle costs ~20 ms each time.
        self.tls = ssl.create_default_context()

    def say(self, text: str) -> None:
        """Print one line."""
        self.config.out(text)

    def record(self, frame: Frame, acks: list[dict[str, Any]]) -> None:
        """Count the acks of a frame."""
        s = self.stats
        for ack in acks:
            result = ack.get("result")
            if result == "stored":
                s.stored += 1
            elif result == "duplicate":
                s.duplicate += 1
            else:
                s.rejected += 1
                err = ack.get("error") or {}
                s.rejections[f"{err.get('field')}: {err.get('reason')}"] += 1
            for flag in ack.get("flags") or ():
                s.flags[flag] += 1
            if frame.is_retry:
                s.retried += 1
                s.retry_duplicate += result == "duplicate"
            if self.config.track_ids and result in ("stored", "duplicate"):
                eid = uuid.UUID(ack["event_id"])
                s.acked_ids.add(eid)
                if result == "stored":
                    s.stored_ids.add(eid)
        if s.unacked <= self.config.max_pending // 2:
            self._room.set()

    async def run(self) -> Stats:
        """Play the plan (or `duration` seconds of it), wait for the last acks, return counts."""
        cfg = self.config
        async with httpx.AsyncClient(base_url=self.url, timeout=30, verify=self.tls) as api:
            tps, officers = await self._registry(api)
            plan = self.plan = DayPlan(tps, officers, cfg.seed, options=cfg.plan_options)
            await self.device_clock.sync(api)
            self._pick_schedule_clock(plan)
            self._make_phones(plan)
            background = [
                asyncio.create_task(self._poll_clock(api)),
                asyncio.create_task(self._progress()),
            ]
            if cfg.rate > 0:
                background.append(asyncio.create_task(self._pump(plan)))
            phones = [
                asyncio.create_task(p.run(), name=f"phone-{n}") for n, p in self.phones.items()
            ]
            try:
                await self._schedule(plan)
                self._close()
                _, late = await asyncio.wait(phones, timeout=cfg.drain_s)
                if late:
                    self.say(f"{len(late)} phones still unacknowledged after {cfg.drain_s:g} s")
            finally:
                self.is_closing = True
                for task in (*phones, *background):
                    task.cancel()
                await asyncio.gather(*phones, *background, return_exceptions=True)
                # Also on Ctrl-C: what was sent and what is still unacknowledged.
                self.say("done: " + self.stats.line())
                for reason, n in self.stats.rejections.most_common(5):
                    self.say(f"  rejected x{n}: {reason}")
        return self.stats

    async def _registry(self, api: httpx.AsyncClient) -> tuple[list[TpsInfo], list[OfficerInfo]]:
        """Read TPS and officers over the read API, waiting a little for a server that starts."""
        headers = {"authorization": f"Bearer {self.config.viewer}"}
        deadline = time.monotonic() + 30
        while True:
            try:
                rt = await api.get("/api/v1/tps", headers=headers)
                ro = await api.get("/api/v1/officers", headers=headers)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SimulateError(f"no server answers at {self.url}") from None
                await asyncio.sleep(0.5)
        for r in (rt, ro):
            if r.status_code != 200:
                raise SimulateError(f"GET {r.url.path}: HTTP {r.status_code} {r.text[:200]}")
        tps = [
            TpsInfo(t.code, t.risk, t.lat, t.lon, t.kecamatan_code)
            for t in TpsPage.model_validate_json(rt.content).data
        ]
        people = OfficersPublic.model_validate_json(ro.content).data
        officers = sorted(
            (OfficerInfo(o.nrp, tuple(o.tps)) for o in people if o.nrp in self.config.devices),
            key=lambda o: o.nrp,
        )
        missing = len(people) - len(officers)
        if missing:
            self.say(f"{missing} officers have no device token in the devices file: left out")
        if self.config.officers is not None:
            officers = officers[: self.config.officers]
        if not officers:
            raise SimulateError("no officer with a device token: run `posko simulate provision`")
        return tps, officers

    def _pick_schedule_clock(self, plan: DayPlan) -> None:
        cfg, server = self.config, self.device_clock
        if cfg.speed is not None or cfg.start is not None:
            if server.speed != 1.0:
                raise SimulateError(
                    f"the server runs an exercise clock (x{server.speed:g}): follow it, "
                    "without --speed/--start"
                )
            start = cfg.start or plan.start - timedelta(minutes=1)
            self.schedule_clock = LocalClock(start, cfg.speed or 1.0)
            how = (
                f"simulated clock from {start.astimezone(WIB):%d-%m %H:%M} WIB x{cfg.speed or 1:g}"
            )
        else:
            self.schedule_clock = server
            how = f"server clock x{server.speed:g}"
        now = self.schedule_clock.now()
        if now > plan.end:
            first, last = plan.start.astimezone(WIB), plan.end.astimezone(WIB)
            over = (
                f"the clock ({now.astimezone(WIB):%Y-%m-%d %H:%M} WIB) is past the planned day "
                f"({first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} WIB)"
            )
            if not cfg.rate:
                raise SimulateError(
                    f"{over}: start the server with --clock/--speed, or pass --speed and --start"
                )
            self.say(f"{over}: sending only the --rate load")
        wait = self.schedule_clock.real_seconds_until(plan.start)
        self.say(
            f"plan seed {cfg.seed}: {len(plan.officers)} officers, {len(plan.schedules)} TPS, "
            f"{len(plan.troubles)} incidents, postponed {', '.join(plan.postponed) or '-'}; "
            f"{how}" + (f"; first event in {wait:.0f} s" if wait > 1 else "")
        )

    def _make_phones(self, plan: DayPlan) -> None:
        cfg = self.config
        nrps = [o.nrp for o in plan.officers]
        order = nrps[:]
        random.Random(f"{cfg.seed}:transport").shuffle(order)
        n_http = round(len(order) * cfg.webhook_share)
        if cfg.webhook_share > 0 and len(order) >= 2:
            n_http = max(1, n_http)
        http = order[:n_http]
        can_sign = [n for n in http if cfg.devices[n].hmac_secret is not None]
        n_signed = round(len(http) * cfg.signed_share)
        if cfg.signed_share > 0 and can_sign:
            n_signed = max(1, n_signed)
        signed = set(can_sign[:n_signed])
        for nrp in nrps:
            creds = cfg.devices[nrp]
            if nrp in http:
                self.phones[nrp] = HttpPhone(nrp, creds, self, signed=nrp in signed)
            else:
                self.phones[nrp] = WsPhone(nrp, creds, self)

    async def _schedule(self, plan: DayPlan) -> None:
        cfg, clock = self.config, self.schedule_clock
        deadline = time.monotonic() + cfg.duration if cfg.duration is not None else None
        started = clock.now()
        n = 0
        for step in plan.steps():
            if step.at < started:
                self.stats.skipped += 1
                continue
            while (wait := clock.real_seconds_until(step.at)) > 0:
                if deadline is not None and time.monotonic() + wait > deadline:
                    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
                    return
                await asyncio.sleep(min(wait, 0.5))
            if deadline is not None and time.monotonic() >= deadline:
                return
            if self.stats.unacked > cfg.max_pending:
                # The server is behind: wait for acks rather than pile up memory.
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), timeout=5)
            self._dispatch(step)
            n += 1
            if n % 100 == 0:
                await asyncio.sleep(0)  # a burst of due steps must not starve the phones

    def _dispatch(self, step: Step) -> None:
        phone = self.phones[step.officer]
        event = step.event
        if step.action is Action.FLUSH:
            self._flush(phone)
            return
        assert event is not None
        if step.action is Action.RETRY:
            body = self._retry_bodies.pop(event.event_id, None)
            if body is None:
                self.stats.skipped += 1  # its first send was before the run started
                return
            phone.submit(Frame.of([body], is_retry=True))
            return
        body = event.wire(self.device_clock.now())
        if step.action is Action.HOLD:
            phone.buffer.append(body)  # stamped now, sent when the signal returns
            return
        if event.is_retried:
            self._retry_bodies[event.event_id] = body
        phone.submit(Frame.of([body]))

    def _flush(self, phone: Phone) -> None:
        """Signal is back: the phone sends what it held, oldest first, in batches."""
        if phone.buffer:
            self.stats.replayed += len(phone.buffer)
            for chunk in _chunks(phone.buffer, 500):
                phone.submit(Frame.of(chunk))
            phone.buffer = []

    def _close(self) -> None:
        """Stop scheduling: send what phones still hold, and let them finish."""
        for phone in self.phones.values():
            self._flush(phone)
        self.is_closing = True
        for phone in self.phones.values():
            phone.wake.set()

    async def _poll_clock(self, api: httpx.AsyncClient) -> None:
        jumps = 0
        while True:
            await asyncio.sleep(self.config.clock_poll_s)
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                await self.device_clock.sync(api)
            if self.device_clock.jumps > jumps:
                jumps = self.device_clock.jumps
                now = self.device_clock.now().astimezone(WIB)
                self.say(f"server clock jumped (restarted?): now {now:%d-%m %H:%M:%S} WIB")

    async def _progress(self) -> None:
        while True:
            await asyncio.sleep(self.config.progress_s)
            self.say(self.progress_line())

    def progress_line(self) -> str:
        """Where the run is, in one line."""
        now, acked = time.monotonic(), self.stats.acked
        t0, a0 = self._last_line
        self._last_line = (now, acked)
        rate = (acked - a0) / (now - t0) if now > t0 else 0.0
        online = sum(p.is_online for p in self.phones.values())
        at = self.schedule_clock.now().astimezone(WIB)
        return (
            f"{at:%d-%m %H:%M} WIB | {self.stats.line()} | "
            f"phones {online}/{len(self.phones)} online | {rate:.0f} acks/s"
        )

    async def _pump(self, plan: DayPlan) -> None:
        """Extra load: `rate` pings per second from random officers about their own TPS."""
        rng = random.Random(f"{self.config.seed}:load")
        officers = [o for o in plan.officers if o.tps and o.nrp in self.phones]
        tick, carry = 0.02, 0.0
        due = time.monotonic()
        while True:
            due += tick
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if self.is_closing:
                return  # a phone that finished would never send what came now
            carry += self.config.rate * tick
            n, carry = int(carry), carry - int(carry)
            if self.stats.unacked > self.config.max_pending:
                self.stats.shed += n  # the server is behind: shed load rather than memory
                continue
            at = self.schedule_clock.now()
            device_at = self.device_clock.now()
            for _ in range(n):
                o = rng.choice(officers)
                code = rng.choice(o.tps)
                s, t = plan.schedules[code], plan.tps[code]
                ping = PlannedPing(
                    uuid7(
                        int(device_at.timestamp() * 1000), rng.getrandbits(12), rng.getrandbits(62)
                    ),
                    code,
                    s.phase_at(at) or Phase.LOGISTIK_TIBA,
                    s.situation_at(at),
                    t.lat,
                    t.lon,
                )
                self.stats.load += 1
                self.phones[o.nrp].submit(Frame.of([ping.wire(device_at)]))


def _reason_of(r: httpx.Response) -> str:
    """The reason in a refusal body, `{"detail": {"field", "reason"}}`."""
    try:
        return str(r.json()["detail"]["reason"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {r.status_code}"


def _chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    it = iter(items)
    return list(iter(lambda: list(islice(it, size)), []))
