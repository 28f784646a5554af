"""Storage fails for two seconds under a full queue: intake stores again as soon as it returns."""

import asyncio
import threading
import time
from dataclasses import dataclass, field

import orjson
import pytest
import websockets
from sqlalchemy import Engine, text

from backend.config import Settings
from backend.tps.rollup import check as check_rollup
from tests.conftest import start_server
from tests.factories import MiniRegistry, device_token
from tests.helpers import field_socket, ping, send, storage_outage, uuid7

PHONES = 10
FRAMES_PER_PHONE = 100  # 1,000 frames in all
RESEND_AFTER_S = 0.25  # a phone told "storage" waits a moment, then resends the same events


@dataclass
class Phones:
    """What the phones sent and what came back, with the moment each stored ack arrived."""

    frames: dict[str, str] = field(default_factory=dict)  # event id -> frame
    stored_at: dict[str, float] = field(default_factory=dict)  # event id -> monotonic time
    duplicate: set[str] = field(default_factory=set)
    refused: dict[str, int] = field(default_factory=dict)  # event id -> storage errors seen
    lock: threading.Lock = field(default_factory=threading.Lock)
    connected: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    go: threading.Event = field(default_factory=threading.Event)

    def done(self) -> bool:
        """Every event answered stored or duplicate."""
        return len(self.stored_at) + len(self.duplicate) == len(self.frames)


async def _phone(url: str, token: str, events: list[str], phones: Phones) -> None:
    async with websockets.connect(
        f"{url}/ws/field", additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        # Connected before the outage: signing in needs the database (PostgreSQL is all gone).
        phones.connected.release()
        await asyncio.to_thread(phones.go.wait)
        for eid in events:
            await ws.send(phones.frames[eid])
        answered = 0
        deadline = time.monotonic() + 90
        while answered < len(events):
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=deadline - time.monotonic())
            except TimeoutError:
                return  # the test reports what is missing
            reply = orjson.loads(raw)
            now = time.monotonic()
            if reply["type"] == "ack":
                answered += 1
                with phones.lock:
                    if reply["result"] == "stored":
                        phones.stored_at[reply["event_id"]] = now
                    else:
                        assert reply["result"] == "duplicate", reply
                        phones.duplicate.add(reply["event_id"])
                continue
            assert reply["error"]["field"] == "storage", reply  # nothing acked: resend
            for eid in reply["event_ids"]:
                with phones.lock:
                    phones.refused[eid] = phones.refused.get(eid, 0) + 1
                asyncio.get_running_loop().call_later(
                    RESEND_AFTER_S, lambda f=phones.frames[eid]: asyncio.ensure_future(ws.send(f))
                )


def _run_phones(url: str, tokens: list[str], phones: Phones) -> None:
    ids = list(phones.frames)

    async def main() -> None:
        shares = [ids[i :: len(tokens)] for i in range(len(tokens))]
        await asyncio.gather(
            *[_phone(url, tokens[i], shares[i], phones) for i in range(len(tokens))]
        )

    asyncio.run(main())


@pytest.mark.slow
def test_intake_stores_again_within_two_seconds_of_storage_returning(
    settings: Settings, engine: Engine, mini: MiniRegistry
) -> None:
    # A long credential cache: the phones' sockets must not need the database while it is away.
    srv = start_server(settings.model_copy(update={"credential_cache_s": 600.0}))
    try:
        writer = srv.server.config.app.state.runtime.writer  # type: ignore[attr-defined]
        officer_of = {code: ids[0] for code, ids in mini.assignments.items()}
        tokens = {oid: device_token(engine, oid) for oid in mini.officer_ids}
        first_ping = ping(mini.tps_codes[0], minutes=-60)
        with field_socket(srv.ws_url, tokens[mini.officer_ids[0]]) as ws:  # up and running
            assert send(ws, first_ping)["result"] == "stored"
        phones = Phones()
        phone_tokens: list[str] = []
        for p in range(PHONES):
            code = mini.tps_codes[p % len(mini.tps_codes)]
            phone_tokens.append(tokens[officer_of[code]])
        for i in range(PHONES * FRAMES_PER_PHONE):
            p = i % PHONES
            code = mini.tps_codes[p % len(mini.tps_codes)]
            body = ping(code, minutes=i / 100, event_id=uuid7())
            phones.frames[body["event_id"]] = orjson.dumps(body).decode()
        load = threading.Thread(
            target=_run_phones, args=(srv.ws_url, phone_tokens, phones), daemon=True
        )
        load.start()
        for _ in range(PHONES):
            assert phones.connected.acquire(timeout=30)
        with storage_outage(engine, writer):
            phones.go.set()
            # Every frame has met the outage (answered "storage") before it lasts two seconds.
            deadline = time.monotonic() + 20
            while len(phones.refused) < len(phones.frames) and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(2.0)
            assert not phones.stored_at, "stored while storage was refusing writes"
        returned_at = time.monotonic()
        load.join(timeout=120)
    finally:
        srv.stop()
    # Measured on an observed event (the first `stored` ack), with a generous deadline: the
    # stall this guards against lasted about a minute.
    first = min(phones.stored_at.values(), default=float("inf")) - returned_at
    assert first < 2.0, f"first commit {first:.1f} s after storage returned"
    assert phones.done(), f"{len(phones.stored_at) + len(phones.duplicate)} answered"
    assert len(phones.refused) == len(phones.frames)  # every frame met the outage
    with engine.connect() as c:
        rows = [str(r[0]).replace("-", "") for r in c.execute(text("SELECT event_id FROM ping"))]
    # Nothing acked is lost, nothing doubled: each event is there once (and the first ping).
    sent = {e.replace("-", "") for e in [*phones.frames, first_ping["event_id"]]}
    assert sorted(rows) == sorted(sent)
    assert check_rollup(engine) == 0  # the counts per kecamatan still match the states
