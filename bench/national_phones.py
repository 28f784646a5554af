"""Officers' phones for bench.national_day: open-loop pings on a schedule, queued while offline.

    python -m bench.national_phones @CONFIG_JSON   ("ready" when every phone is connected,
                                                    then "go <epoch>" on stdin; one JSON line out)

Each phone is one officer's device on /ws/field reporting its assigned TPS. It makes pings at
its TPS's rate times the schedule's multiplier (Poisson arrivals: open loop, so a slow server
shows as latency, not as a lower offered rate), whether or not it is connected: while its
network is down (the configured province outage) or its node is gone, pings wait in the phone's
queue and go out in frames of up to 50 when it is back, as the real app does. Pings sent but
not acknowledged when a connection drops are sent again with the same event id. A phone that
loses its node connects to the next one (a balancer's health check would).

Writes every acknowledged event id (stored or duplicate) to `<out>.acked` and, per
acknowledgement, the send offset from `go` and the latency to `<out>.lat` (JSON).
"""

import asyncio
import collections
import contextlib
import json
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.ids import uuid7

WIB_OPEN = (7, 0)  # voting opens 07:00 WIB: phones report pemungutan from then on
SITUATIONS = (("aman", 0.94), ("waspada", 0.05), ("gangguan", 0.01))
FRAME_MAX = 50


class Shared:
    """What every phone of this process records."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.go = 0.0
        self.acked: list[str] = []
        self.lat: list[tuple[float, float]] = []  # (send offset s, latency s)
        self.rejected = 0
        self.errors = 0
        self.made = 0
        self.resent = 0
        self.outages: list[tuple[float, float]] = []  # (lost, back) offsets, node loss only
        self.sim0 = datetime.fromisoformat(cfg["clock"]["sim0"])
        self.real0: float = cfg["clock"]["real0"]
        self.speed: float = cfg["clock"]["speed"]

    def sim_now(self) -> datetime:
        """The server's exercise clock, computed here (start, speed, real origin)."""
        return self.sim0 + timedelta(seconds=(time.time() - self.real0) * self.speed)

    def mult(self, t: float) -> float:
        """The schedule's multiplier at offset t (0 outside every segment)."""
        for a, b, m in self.cfg["segments"]:
            if a <= t < b:
                return float(m)
        return 0.0

    def offline(self, prov: str, t: float) -> bool:
        """Whether this province's network is down at offset t."""
        o = self.cfg.get("outage")
        return bool(o) and o["province"] == prov and o["from"] <= t < o["to"]


class Phone:
    """One officer's phone."""

    def __init__(self, sh: Shared, dev: dict[str, Any], home: int) -> None:
        self.sh = sh
        self.dev = dev
        self.node = home
        self.rng = random.Random(dev["token"])
        self.queue: collections.deque[dict[str, Any]] = collections.deque()
        self.pending: dict[str, tuple[float, dict[str, Any]]] = {}
        self.wake = asyncio.Event()
        self.i = self.rng.randrange(len(dev["tps"]))
        self.connected = asyncio.Event()
        self.making = True
        self.drain_until = float("inf")

    def make(self) -> dict[str, Any]:
        """The next ping, about the next of this officer's TPS in turn."""
        now = self.sh.sim_now()
        wib = now + timedelta(hours=7)
        phase = "pemungutan" if (wib.hour, wib.minute) >= WIB_OPEN else "persiapan"
        code = self.dev["tps"][self.i % len(self.dev["tps"])]
        self.i += 1
        situation = self.rng.choices([s for s, _ in SITUATIONS], [w for _, w in SITUATIONS])[0]
        return {
            "type": "ping",
            "event_id": uuid7(),
            "tps": code,
            "phase": phase,
            "situation": situation,
            "device_time": now.isoformat(),
        }

    async def produce(self, end: float) -> None:
        """Make pings on the schedule until the end, connected or not."""
        per_tps: float = self.sh.cfg["per_tps_rate"]
        n = len(self.dev["tps"])
        while (t := time.time() - self.sh.go) < end:
            rate = n * per_tps * self.sh.mult(t)
            if rate <= 0:
                await asyncio.sleep(0.2)
                continue
            gap = self.rng.expovariate(rate)
            if gap > 1.0:  # re-read the multiplier at least every second
                await asyncio.sleep(1.0)
                continue
            await asyncio.sleep(gap)
            self.queue.append(self.make())
            self.sh.made += 1
            self.wake.set()
        self.making = False
        self.wake.set()

    async def run(self, end: float, ready: "Ready", opening: asyncio.Semaphore) -> None:
        """Connect, send, reconnect; return when everything made was acknowledged."""
        urls: list[str] = self.sh.cfg["nodes"]
        headers = {"Authorization": f"Bearer {self.dev['token']}"}
        first = True
        lost_at: float | None = None
        producer: asyncio.Task[None] | None = None
        self.drain_until = drain_until = end + float(self.sh.cfg.get("drain_s", 120.0))
        while True:
            t = time.time() - self.sh.go if self.sh.go else -1.0
            if not first and not self.making and not self.queue and not self.pending:
                break
            if self.sh.go and t > drain_until:
                break  # what is still queued or unacknowledged is reported as such
            if self.sh.go and self.sh.offline(self.dev["prov"], t):
                await asyncio.sleep(0.1)
                continue
            try:
                if first:
                    await opening.acquire()  # handshakes at a time: accept queues are finite
                async with connect(
                    urls[self.node] + "/ws/field",
                    additional_headers=headers,
                    compression=None,
                    max_size=None,
                    ping_interval=None,
                    open_timeout=60,  # a loaded node answers late; a retry would queue twice
                ) as ws:
                    if first:
                        first = False
                        opening.release()
                        await ready.arrive()
                        producer = asyncio.create_task(self.produce(end))
                    elif lost_at is not None:
                        self.sh.outages.append((lost_at, time.time() - self.sh.go))
                        lost_at = None
                    await self.session(ws)
                    if not self.making and not self.queue and not self.pending:
                        break
            except Exception:  # any failure of the connection: the phone tries again
                if first:
                    opening.release()
            # The connection is gone: what was sent and not acknowledged goes out again.
            if self.pending:
                self.sh.resent += len(self.pending)
                self.queue.extendleft(ev for _, ev in reversed(list(self.pending.values())))
                self.pending.clear()
            if self.sh.go and not self.sh.offline(self.dev["prov"], time.time() - self.sh.go):
                if lost_at is None:
                    lost_at = time.time() - self.sh.go
                self.node = (self.node + 1) % len(urls)
                await asyncio.sleep(0.2 + self.rng.random() * 0.3)
            elif not self.sh.go and first:
                self.node = (self.node + 1) % len(urls)  # as a balancer would
                await asyncio.sleep(0.5)
        if producer is not None:
            await producer

    async def session(self, ws: ClientConnection) -> None:
        """Send queued pings and read acks until the connection ends or the network goes."""

        async def reader() -> None:
            async for raw in ws:
                msg = orjson.loads(raw)
                now = time.time()
                if isinstance(msg, dict) and msg.get("type") == "error":
                    self.sh.errors += 1
                    continue
                for a in msg if isinstance(msg, list) else [msg]:
                    eid = a.get("event_id")
                    sent = self.pending.pop(eid, None)
                    if a.get("result") in ("stored", "duplicate"):
                        self.sh.acked.append(eid)
                        if sent is not None:
                            self.sh.lat.append((sent[0] - self.sh.go, now - sent[0]))
                    else:
                        self.sh.rejected += 1
                if not self.making and not self.queue and not self.pending:
                    return

        read = asyncio.create_task(reader())
        try:
            while not read.done():
                t = time.time() - self.sh.go
                if self.sh.offline(self.dev["prov"], t):
                    ws.transport.abort()  # the network is gone: no goodbye
                    break
                if not self.making and t > self.drain_until:
                    break
                # Done: the reader returns only on an ack, and a phone whose last ack came
                # before its schedule ended would otherwise sit here until the drain deadline.
                if not self.making and not self.queue and not self.pending:
                    break
                if not self.queue:
                    self.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), 0.5)
                    continue
                batch = [self.queue.popleft() for _ in range(min(FRAME_MAX, len(self.queue)))]
                sent = time.time()
                for ev in batch:
                    self.pending[ev["event_id"]] = (sent, ev)
                await ws.send(orjson.dumps(batch[0] if len(batch) == 1 else batch).decode())
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(read), 0.1)
        finally:
            read.cancel()
            with contextlib.suppress(BaseException):
                await read


class Ready:
    """Every phone connected once before the schedule starts; the parent says when."""

    def __init__(self, n: int, sh: Shared) -> None:
        self.waiting = n
        self.sh = sh
        self.go = asyncio.Event()

    async def arrive(self) -> None:
        """Wait for go; the last phone to arrive reports ready and reads it."""
        self.waiting -= 1
        if self.waiting == 0:
            print("ready", flush=True)
            line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            self.sh.go = float(line.split()[1])
            await asyncio.sleep(max(0.0, self.sh.go - time.time()))
            self.go.set()
        await self.go.wait()


async def main_async(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run every phone of this process."""
    sh = Shared(cfg)
    devs = cfg["devices"]
    ready = Ready(len(devs), sh)
    phones = [Phone(sh, d, i % len(cfg["nodes"])) for i, d in enumerate(devs)]
    end = float(cfg["end"])
    opening = asyncio.Semaphore(32)
    results = await asyncio.wait_for(
        asyncio.gather(*(p.run(end, ready, opening) for p in phones), return_exceptions=True),
        end + float(cfg.get("drain_s", 120.0)) + 300,
    )
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    out = Path(cfg["out"])
    out.with_suffix(".acked").write_text("\n".join(sh.acked) + "\n")
    out.with_suffix(".lat").write_bytes(orjson.dumps(sh.lat))
    return {
        "phones": len(phones),
        "made": sh.made,
        "acked": len(sh.acked),
        "rejected": sh.rejected,
        "errors": sh.errors,
        "resent": sh.resent,
        "reconnects": sh.outages,
        "unacked": sum(len(p.pending) + len(p.queue) for p in phones),
        "failures": failures[:3],
    }


def main() -> None:
    """Read the config, run, print the result."""
    arg = sys.argv[1]
    cfg = json.loads(Path(arg[1:]).read_text() if arg.startswith("@") else arg)
    import uvloop

    print(json.dumps(uvloop.run(main_async(cfg))), flush=True)


if __name__ == "__main__":
    main()
