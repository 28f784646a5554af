"""The cluster lease: one holder at a time, renewed by its holder, taken over once expired."""

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from backend.cluster import LeasedTask, LeaseGrant, acquire, current_holder, release


def _until_expired(engine: Engine, name: str, timeout: float = 30.0) -> None:
    """Wait for the lease to expire (a deadline for a condition, not a claim about time)."""
    deadline = time.monotonic() + timeout
    while current_holder(engine=engine, name=name) is not None:
        assert time.monotonic() < deadline, "the lease never expired"
        time.sleep(0.05)


def test_one_holder_renews_and_another_takes_over_only_after_expiry(engine: Engine) -> None:
    # Leases that hold for a minute while the test looks: a busy machine cannot expire them
    # between two statements; expiry is then brought about by a renewal with a short TTL.
    a = acquire(engine=engine, name="job", holder="node-a", ttl_s=60)
    assert a is not None and a.fence == 1
    assert acquire(engine=engine, name="job", holder="node-b", ttl_s=60) is None
    renewed = acquire(engine=engine, name="job", holder="node-a", ttl_s=60)
    assert renewed is not None and renewed.fence == 1 and renewed.expires_at >= a.expires_at
    assert current_holder(engine=engine, name="job") == "node-a"
    assert acquire(engine=engine, name="job", holder="node-a", ttl_s=0.2) is not None
    _until_expired(engine, "job")  # node-a stopped renewing: dead, paused or cut off
    b = acquire(engine=engine, name="job", holder="node-b", ttl_s=60)
    assert b is not None and b.fence == 2  # a new holder, a higher fence
    assert acquire(engine=engine, name="job", holder="node-a", ttl_s=60) is None
    # Leases of other names are independent.
    assert acquire(engine=engine, name="other", holder="node-a", ttl_s=60) is not None


def test_a_released_lease_is_taken_at_once(engine: Engine) -> None:
    assert acquire(engine=engine, name="job", holder="a", ttl_s=60) is not None
    assert release(engine=engine, name="job", holder="b") is False  # not theirs to release
    assert release(engine=engine, name="job", holder="a") is True
    assert acquire(engine=engine, name="job", holder="b", ttl_s=60) is not None


def test_of_many_simultaneous_takers_exactly_one_wins(engine: Engine) -> None:
    def take(i: int) -> LeaseGrant | None:
        return acquire(engine=engine, name="race", holder=f"node-{i}", ttl_s=30)

    with ThreadPoolExecutor(8) as pool:
        grants = [g for g in pool.map(take, range(8)) if g is not None]
    assert len(grants) == 1
    assert current_holder(engine=engine, name="race") == grants[0].holder


async def _until(cond: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_leased_task_runs_on_one_node_and_moves_when_the_leader_stops(
    engine: Engine,
) -> None:
    runs: dict[str, int] = {"a": 0, "b": 0}

    def task(holder: str) -> LeasedTask:
        async def work(_grant: LeaseGrant) -> None:
            runs[holder] += 1

        # Ticks every 50 ms, but a lease of 20 s: a stalled tick on a busy machine cannot let
        # the lease lapse, so only a release can move the work within the waits below.
        return LeasedTask(
            engine=engine, name="tick", interval_s=0.05, ttl_s=20, work=work, holder=holder
        )

    a, b = task("a"), task("b")
    await a.start()
    await _until(lambda: runs["a"] > 3)
    await b.start()
    assert await b.tick() is False  # b asks while a holds the lease: nothing runs on b
    await _until(lambda: runs["a"] > 6)  # both keep ticking meanwhile
    assert a.is_leader and not b.is_leader and runs["b"] == 0
    await a.stop()  # releases: b takes over on its next tick, not after the 20 s TTL
    await _until(lambda: b.is_leader and runs["b"] > 0, within=15)
    await b.stop()
