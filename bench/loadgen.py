"""A load process: phones sending ~200-byte pings over websockets or signed webhooks, counting acks.

    python -m bench.loadgen CONFIG_JSON   (prints one JSON result line)

Run in processes of its own so the clients never share the server's GIL. Every connection
sends frames with up to `window` unacknowledged at once (devices queue offline pings and send
them without waiting for each ack), the sending stops at the end of the window, and the
connection drains its outstanding acks before closing, so `stored_total` is every ack of
"stored" this process received: the caller compares it with the rows the database gained.
"""

import asyncio
import hashlib
import hmac
import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect

from bench.ids import PHASES, SITUATIONS, uuid7


class Counter:
    """Acks seen by this process, and how many arrived inside the measured window."""

    def __init__(self, t_from: float, t_to: float) -> None:
        self.t_from = t_from
        self.t_to = t_to
        self.in_window = 0
        self.stored = 0
        self.duplicate = 0
        self.rejected = 0
        self.errors = 0
        self.sent = 0

    def acks(self, acks: list[dict[str, Any]]) -> None:
        """Count one frame's acks."""
        now = time.time()
        stored = 0
        for a in acks:
            r = a.get("result")
            if r == "stored":
                stored += 1
            elif r == "duplicate":
                self.duplicate += 1
            else:
                self.rejected += 1
        self.stored += stored
        if self.t_from <= now < self.t_to:
            self.in_window += stored


class Codes:
    """The TPS a phone reports on: random, or each in turn (so every TPS gets pinged)."""

    def __init__(self, codes: list[str], rng: random.Random, cycle: bool) -> None:
        self.codes = codes
        self.rng = rng
        self.cycle = cycle
        self.i = 0

    def next(self) -> str:
        """The next TPS code."""
        if not self.cycle:
            return self.rng.choice(self.codes)
        code = self.codes[self.i % len(self.codes)]
        self.i += 1
        return code


def make_frame(rng: random.Random, codes: Codes, n: int, lat: float, lon: float) -> list[Any]:
    """N pings (~200 bytes each on the wire)."""
    now = datetime.now(UTC).isoformat()
    return [
        {
            "type": "ping",
            "event_id": uuid7(),
            "tps": codes.next(),
            "phase": rng.choice(PHASES),
            "situation": rng.choice(SITUATIONS),
            "device_time": now,
            "lat": lat,
            "lon": lon,
        }
        for _ in range(n)
    ]


async def ws_phone(
    cfg: dict[str, Any], dev: dict[str, Any], c: Counter, path: str, gate: "Gate"
) -> None:
    """One websocket connection: keep `window` frames in flight until the stop time."""
    rng = random.Random(dev["token"])
    codes = Codes(dev["tps"], rng, cfg.get("cycle", False))
    frame_n: int = cfg["frame"]
    window = asyncio.Semaphore(cfg["window"])
    headers = {"Authorization": f"Bearer {dev['token']}"}
    async with connect(
        cfg["url"] + path,
        additional_headers=headers,
        compression=None,
        max_size=None,
        # No keepalive timeout on our side: a server that stalls is measured, not hung up on.
        ping_interval=None,
    ) as ws:
        outstanding = 0
        done_sending = asyncio.Event()

        async def reader() -> None:
            try:
                await read_acks()
            finally:
                # If the connection dies, wake the sender so it stops instead of waiting for
                # acks that will never come (the error surfaces as this task's exception).
                for _ in range(cfg["window"]):
                    window.release()

        async def read_acks() -> None:
            nonlocal outstanding
            while not (done_sending.is_set() and outstanding == 0):
                msg = orjson.loads(await ws.recv())
                if isinstance(msg, dict) and msg.get("type") == "error":
                    c.errors += 1
                    acks: list[dict[str, Any]] = []
                else:
                    acks = msg if isinstance(msg, list) else [msg]
                c.acks(acks)
                outstanding -= 1
                window.release()

        await gate.arrive()
        stop_at = c.t_to
        task = asyncio.create_task(reader())
        while time.time() < stop_at and not task.done():
            await window.acquire()
            if task.done():
                break
            batch = make_frame(rng, codes, frame_n, -4.1, 104.2)
            outstanding += 1
            c.sent += frame_n
            await ws.send(orjson.dumps(batch[0] if frame_n == 1 else batch).decode())
        done_sending.set()
        if task.done():
            task.result()  # raises what killed the connection
        elif outstanding == 0:
            task.cancel()
        else:
            await asyncio.wait_for(task, timeout=120)


async def http_phone(cfg: dict[str, Any], dev: dict[str, Any], c: Counter, gate: "Gate") -> None:
    """One keep-alive HTTP connection posting signed webhook requests, one at a time."""
    rng = random.Random(dev["token"])
    host, port = cfg["url"].split("//", 1)[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    secret = dev["secret"].encode()
    key_id = str(dev["key_id"])
    await gate.arrive()
    try:
        while time.time() < c.t_to:
            batch = make_frame(rng, Codes(dev["tps"], rng, False), cfg["frame"], -4.1, 104.2)
            body = orjson.dumps(batch[0] if cfg["frame"] == 1 else batch)
            ts = str(int(time.time()))
            sig = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
            head = (
                f"POST {cfg['path']} HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                f"X-Posko-Key-Id: {key_id}\r\nX-Posko-Timestamp: {ts}\r\n"
                f"X-Posko-Signature: sha256={sig}\r\n\r\n"
            )
            writer.write(head.encode() + body)
            c.sent += cfg["frame"]
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            data = await reader.readexactly(length)
            code = int(status_line.split()[1])
            if code not in (200, 207, 422):
                c.errors += 1
                continue
            msg = orjson.loads(data)
            c.acks(msg if isinstance(msg, list) else [msg])
    finally:
        writer.close()


class Gate:
    """Every connection of every process is open before any sends: the parent says when to go."""

    def __init__(self, n: int, c: Counter, cfg: dict[str, Any]) -> None:
        self.waiting = n
        self.c = c
        self.cfg = cfg
        self.go = asyncio.Event()

    async def arrive(self) -> None:
        """Wait for the start; the last connection to arrive reports ready and reads the go."""
        self.waiting -= 1
        await self._maybe_open()
        await self.go.wait()

    async def abandon(self) -> None:
        """A connection that failed before arriving must not hold the others back."""
        self.waiting -= 1
        await self._maybe_open()

    async def _maybe_open(self) -> None:
        if self.waiting == 0:
            print("ready", flush=True)
            line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            start = float(line.split()[1])
            self.c.t_from = start + self.cfg["warmup"]
            self.c.t_to = self.c.t_from + self.cfg["seconds"]
            await asyncio.sleep(max(0.0, start - time.time()))
            self.go.set()


async def main_async(cfg: dict[str, Any]) -> dict[str, Any]:
    """Run every connection of this process."""
    c = Counter(0.0, 0.0)
    devs = cfg["devices"]
    gate = Gate(cfg["connections"], c, cfg)
    conns = []
    for i in range(cfg["connections"]):
        dev = devs[i % len(devs)]
        if cfg["mode"] == "ws":
            conns.append(ws_phone(cfg, dev, c, cfg["path"], gate))
        else:
            conns.append(http_phone(cfg, dev, c, gate))

    async def guarded(coro: Any) -> None:
        try:
            await coro
        except BaseException:
            if not gate.go.is_set():
                await gate.abandon()
            raise

    results = await asyncio.gather(*(guarded(p) for p in conns), return_exceptions=True)
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    return {
        "in_window": c.in_window,
        "stored_total": c.stored,
        "duplicate": c.duplicate,
        "rejected": c.rejected,
        "errors": c.errors + len(failures),
        "sent": c.sent,
        "failures": failures[:3],
    }


def main() -> None:
    """Read the config from the command line, print the result."""
    arg = sys.argv[1]
    cfg = json.loads(Path(arg[1:]).read_text() if arg.startswith("@") else arg)
    import uvloop

    print(json.dumps(uvloop.run(main_async(cfg))), flush=True)


if __name__ == "__main__":
    main()
