"""The Redis fan-out: one sequence per channel across nodes, and what a node does without Redis."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any

import httpx
import orjson
import pytest
from redis import Redis
from sqlalchemy import Engine
from websockets.sync.client import connect

from backend.config import Settings
from backend.realtime.broadcast import RESYNC, Message
from backend.realtime.redis_broadcast import RedisBroadcaster
from schemas.enums import Role
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import field_socket, ping, send
from tests.scale.conftest import REDIS_HOST, REDIS_PORT, TcpProxy, redis_url

pytestmark = pytest.mark.redis
CH = "kab:16.08"
Make = Callable[..., Awaitable[tuple[RedisBroadcaster, list[Message]]]]


@pytest.fixture
async def make(redis_prefix: str) -> AsyncIterator[Make]:
    """Connect broadcasters ("nodes") on this test's prefix; disconnected afterwards."""
    made: list[RedisBroadcaster] = []

    async def _make(
        port: int = REDIS_PORT, **options: str
    ) -> tuple[RedisBroadcaster, list[Message]]:
        extra = "".join(f"&{k}={v}" for k, v in options.items())
        b = RedisBroadcaster(redis_url(redis_prefix, port) + extra)
        got: list[Message] = []
        await b.connect(got.append)
        made.append(b)
        return b, got

    yield _make
    for b in made:
        await b.disconnect()


async def _until(cond: Callable[[], bool], within: float = 30.0) -> None:
    # A generous deadline for a condition; how quickly it holds is not what these tests claim.
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _completes_without_waiting(step: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine one step: it must finish without suspending (no I/O, no waiting)."""
    try:
        step.send(None)
    except StopIteration:
        return
    step.close()
    raise AssertionError("it suspended: it waited for something")


def _bodies(msgs: list[Message]) -> list[dict]:
    return [orjson.loads(m.data) for m in msgs if m.data != RESYNC]


async def test_events_of_two_nodes_reach_both_in_one_order_with_the_clusters_numbers(
    make: Make,
) -> None:
    a, got_a = await make()
    b, got_b = await make()
    assert a.healthy and b.healthy
    await a.watch(CH)
    await b.watch(CH)

    async def burst(node: RedisBroadcaster, name: str) -> None:
        for i in range(200):
            await node.publish(CH, {"type": "delta", "from": name, "i": i})
            if i % 20 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(burst(a, "a"), burst(b, "b"))
    await _until(lambda: len(got_a) == 400 and len(got_b) == 400)
    # Both nodes deliver the very same bytes in the very same order.
    assert [m.data for m in got_a] == [m.data for m in got_b]
    seqs = [m.seq for m in got_a]
    assert seqs == list(range(seqs[0], seqs[0] + 400))
    bodies = _bodies(got_a)
    assert [b["seq"] for b in bodies] == seqs and {b["channel"] for b in bodies} == {CH}
    for name in ("a", "b"):  # each node's own order is kept inside the merged one
        assert [x["i"] for x in bodies if x["from"] == name] == list(range(200))
    assert a.current_seq(CH) == b.current_seq(CH) == seqs[-1]
    # A node that never watched a channel still answers its number (from Redis, off the loop).
    assert await asyncio.to_thread(a.current_seq, CH) == seqs[-1]
    other = await make()
    assert await asyncio.to_thread(other[0].current_seq, CH) == seqs[-1]


async def test_a_channel_only_reaches_nodes_that_watch_it(make: Make) -> None:
    a, got_a = await make()
    b, got_b = await make()
    await b.watch("kab:16.07")
    await a.publish(CH, {"type": "delta", "x": 1})
    await a.publish("kab:16.07", {"type": "delta", "x": 2})
    await _until(lambda: len(got_b) == 1)
    await asyncio.sleep(0.2)
    assert [m.channel for m in got_b] == ["kab:16.07"] and got_a == []


async def test_a_node_cut_off_from_redis_resyncs_catches_up_and_loses_nothing_silently(
    make: Make, proxy: TcpProxy
) -> None:
    a, got_a = await make(port=proxy.port)
    b, got_b = await make()
    await a.watch(CH)
    await b.watch(CH)
    await a.publish(CH, {"type": "delta", "n": 0})
    await _until(lambda: len(got_a) == 1 and len(got_b) == 1)

    proxy.cut()
    await _until(lambda: not a.healthy)
    # Its screens are told at once that they are no longer live.
    await _until(lambda: got_a[-1].data == RESYNC)
    # Intake goes on: publishing never waits for Redis (it does not even yield to the loop).
    for n in range(1, 6):
        _completes_without_waiting(a.publish(CH, {"type": "delta", "n": n, "from": "a"}))
    for n in range(1, 4):
        await b.publish(CH, {"type": "delta", "n": n, "from": "b"})
    await _until(lambda: len(got_b) == 4)

    proxy.restore()
    await _until(lambda: a.healthy)
    # B gets A's messages from the outage, in order; A catches up B's from the stream.
    await _until(lambda: len(got_b) == 9)
    await _until(lambda: sum(1 for m in got_a if m.data != RESYNC) == 9)
    assert [x.get("n") for x in _bodies(got_b) if x.get("from") == "a"] == [1, 2, 3, 4, 5]
    assert [m.seq for m in got_a if m.data != RESYNC] == [m.seq for m in got_b]
    assert a.dropped_total == 0


async def test_a_node_starting_without_redis_serves_and_joins_when_redis_comes(
    make: Make, proxy: TcpProxy
) -> None:
    proxy.cut()
    # It starts anyway, degraded (a deadline, not a speed claim: it must not wait for Redis).
    a, got_a = await asyncio.wait_for(make(port=proxy.port), timeout=30)
    assert not a.healthy
    await a.watch(CH)  # a wall subscribes meanwhile
    await a.publish(CH, {"type": "delta", "n": 1})  # and intake publishes
    b, got_b = await make()
    await b.watch(CH)
    proxy.restore()
    await _until(lambda: a.healthy)
    await _until(lambda: len(got_b) == 1 and any(m.data != RESYNC for m in got_a))
    assert _bodies(got_b)[0]["n"] == 1
    # The wall that subscribed blind is told to load a snapshot once its numbers are known.
    assert got_a[0].data == RESYNC and got_a[-1].seq == got_b[0].seq


async def test_messages_dropped_while_cut_off_make_every_node_resync_that_channel(
    make: Make, proxy: TcpProxy
) -> None:
    a, _ = await make(port=proxy.port, outbox="3")
    b, got_b = await make()
    await b.watch(CH)
    proxy.cut()
    await _until(lambda: not a.healthy)
    for n in range(10):
        await a.publish(CH, {"type": "delta", "n": n})
    assert a.dropped_total == 7
    proxy.restore()
    await _until(lambda: a.healthy)
    await _until(lambda: len(got_b) == 4)
    assert [x["n"] for x in _bodies(got_b)] == [0, 1, 2]
    # The last one B hears is "reload": it knows it missed seven, instead of never knowing.
    assert got_b[-1].data == RESYNC and got_b[-1].seq == got_b[-2].seq + 1


async def test_a_gap_in_the_stream_becomes_a_resync_not_a_silent_hole(
    make: Make, proxy: TcpProxy, redis_prefix: str
) -> None:
    a, got_a = await make(port=proxy.port, maxlen="10")
    b, _ = await make(maxlen="10")
    await a.watch(CH)
    await b.publish(CH, {"type": "delta", "n": 0})
    await _until(lambda: len(got_a) == 1)
    proxy.cut()
    await _until(lambda: not a.healthy)
    got_a.clear()
    for n in range(1, 400):  # far more than the stream keeps
        await b.publish(CH, {"type": "delta", "n": n})
    await _until(lambda: b.pending == 0)
    proxy.restore()
    await _until(lambda: a.healthy)
    await _until(lambda: any(m.data != RESYNC for m in got_a))
    first_data = next(i for i, m in enumerate(got_a) if m.data != RESYNC)
    assert RESYNC in [m.data for m in got_a[:first_data]]  # told to reload before the rest


async def test_an_emptied_redis_never_numbers_a_channel_below_what_screens_have_seen(
    make: Make, redis_prefix: str
) -> None:
    a, got = await make()
    await a.watch(CH)
    await a.publish(CH, {"type": "delta"})
    await _until(lambda: len(got) == 1)
    r = Redis(host=REDIS_HOST, port=REDIS_PORT)
    r.delete(*list(r.scan_iter(match=redis_prefix + "*")))  # as a restart without disk would
    r.close()
    b, _ = await make()
    await b.publish(CH, {"type": "delta"})
    await _until(lambda: b.pending == 0)
    assert await asyncio.to_thread(b.current_seq, CH) > got[0].seq


# --- the same through a server -------------------------------------------------------------------


@pytest.fixture
def cut_server(
    settings: Settings, mini: MiniRegistry, redis_prefix: str, proxy: TcpProxy
) -> Iterator[LiveServer]:
    """A server whose Redis is behind the proxy."""
    srv = start_server(
        settings.model_copy(update={"broadcast_url": redis_url(redis_prefix, proxy.port)})
    )
    yield srv
    srv.stop()


def test_without_redis_a_node_says_so_keeps_storing_and_recovers(
    cut_server: LiveServer, proxy: TcpProxy, engine: Engine, mini: MiniRegistry
) -> None:
    srv = cut_server
    viewer = person_token(engine, Role.VIEWER, area="16.08")
    assert httpx.get(srv.url + "/healthz").json()["broadcast"] == "ok"
    with connect(f"{srv.ws_url}/ws/live?token={viewer}", open_timeout=10) as live:
        hello = orjson.loads(live.recv(timeout=10))
        assert hello["type"] == "hello" and hello["degraded"] is False
        proxy.cut()
        frame = orjson.loads(live.recv(timeout=10))
        assert frame["type"] == "resync" and frame["degraded"] is True
        health = httpx.get(srv.url + "/healthz")
        assert health.status_code == 503 and health.json()["broadcast"] == "down"
        # ...yet the node is ready for field events: a balancer must keep sending them.
        assert httpx.get(srv.url + "/readyz").status_code == 200
        with field_socket(srv.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
            ack = send(ws, ping(mini.tps_codes[0], "pemungutan", "waspada"))
        assert ack["result"] == "stored"  # intake does not depend on the live fan-out
        proxy.restore()
        deadline = time.monotonic() + 30
        while (frame := orjson.loads(live.recv(timeout=30)))["type"] != "delta":
            assert time.monotonic() < deadline
        # The delta committed during the outage arrives after recovery.
        assert frame["tps"][0]["code"] == mini.tps_codes[0]
    assert httpx.get(srv.url + "/healthz").status_code == 200
