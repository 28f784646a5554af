"""A field-load generator for fault tests: pipelined pings over real websockets, every ack kept."""

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from datetime import timedelta

import orjson
import websockets

from tests.factories import NOW
from tests.helpers import ping, uuid7


@dataclass
class Ledger:
    """What the devices sent and what the server answered, by event id."""

    sent: dict[str, str] = field(default_factory=dict)  # event_id -> frame
    stored: set[str] = field(default_factory=set)
    duplicate: set[str] = field(default_factory=set)
    rejected: set[str] = field(default_factory=set)

    @property
    def unacked(self) -> list[str]:
        """Events sent and never answered."""
        done = self.stored | self.duplicate | self.rejected
        return [e for e in self.sent if e not in done]


async def _phone(
    url: str,
    token: str,
    codes: list[str],
    ledger: Ledger,
    stop: asyncio.Event,
    resend: list[str],
    max_inflight: int,
    generate: bool,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    outstanding = 0
    room = asyncio.Event()
    room.set()
    drained = asyncio.Event()
    closed = False
    try:
        async with websockets.connect(
            f"{url}/ws/field", additional_headers=headers, max_size=None, compression=None
        ) as ws:

            async def read() -> None:
                nonlocal outstanding, closed
                try:
                    async for raw in ws:
                        ack = orjson.loads(raw)
                        if ack.get("type") != "ack":
                            continue
                        {"stored": ledger.stored, "duplicate": ledger.duplicate}.get(
                            ack["result"], ledger.rejected
                        ).add(ack["event_id"])
                        outstanding -= 1
                        room.set()
                        if not outstanding:
                            drained.set()
                finally:
                    closed = True  # wake a writer waiting for room on a dead socket
                    room.set()
                    drained.set()

            async def put(frame: str) -> None:
                nonlocal outstanding
                while outstanding >= max_inflight and not closed:
                    room.clear()
                    await room.wait()
                if closed:
                    raise OSError("connection lost")
                outstanding += 1
                drained.clear()
                await ws.send(frame)

            reader = asyncio.create_task(read())
            try:
                for eid in resend:
                    await put(ledger.sent[eid])
                rng = random.Random()
                i = 0
                while generate and not stop.is_set():
                    event = ping(
                        rng.choice(codes),
                        rng.choice(["pemungutan", "penghitungan"]),
                        rng.choice(["aman", "waspada"]),
                        at=NOW + timedelta(seconds=i),
                        event_id=uuid7(),
                    )
                    frame = orjson.dumps(event).decode()
                    ledger.sent[event["event_id"]] = frame
                    await put(frame)
                    i += 1
                if outstanding:
                    # The last acks: a generous deadline (a dead server ends the wait at once).
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(drained.wait(), timeout=60)
            finally:
                reader.cancel()
    except (OSError, websockets.exceptions.WebSocketException):
        pass  # the server died under us: that is the point


async def run_load(
    url: str,
    tokens: list[str],
    codes: list[str],
    ledger: Ledger,
    stop: asyncio.Event,
    resend: list[str] | None = None,
    max_inflight: int = 500,
    generate: bool = True,
) -> None:
    """Run one phone per token (resending `resend` first) until `stop` or the server dies."""
    resend = resend or []
    shares = [resend[i :: len(tokens)] for i in range(len(tokens))]
    await asyncio.gather(
        *[
            _phone(url, t, codes, ledger, stop, shares[i], max_inflight, generate)
            for i, t in enumerate(tokens)
        ]
    )
