"""The cluster lease: one holder at a time, renewed by its holder, taken over once expired."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from backend.cluster import LeasedTask, LeaseGrant, acquire, current_holder, release


def test_one_holder_renews_and_another_takes_over_only_after_expiry(engine: Engine) -> None:
    a = acquire(engine=engine, name="job", holder="node-a", ttl_s=0.5)
    assert a is not None and a.fence == 1
    assert acquire(engine=engine, name="job", holder="node-b", ttl_s=0.5) is None
    renewed = acquire(engine=engine, name="job", holder="node-a", ttl_s=0.5)
    assert renewed is not None and renewed.fence == 1 and renewed.expires_at >= a.expires_at
    assert current_holder(engine=engine, name="job") == "node-a"
    time.sleep(0.7)  # node-a stopped renewing: dead, paused or cut off
    assert current_holder(engine=engine, name="job") is None
    b = acquire(engine=engine, name="job", holder="node-b", ttl_s=0.5)
    assert b is not None and b.fence == 2  # a new holder, a higher fence
    assert acquire(engine=engine, name="job", holder="node-a", ttl_s=0.5) is None
    # Leases of other names are independent.
    assert acquire(engine=engine, name="other", holder="node-a", ttl_s=0.5) is not None


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


async def test_leased_task_runs_on_one_node_and_moves_when_the_leader_stops(
    engine: Engine,
) -> None:
    runs: dict[str, int] = {"a": 0, "b": 0}

    def task(holder: str) -> LeasedTask:
        async def work(_grant: LeaseGrant) -> None:
            runs[holder] += 1

        return LeasedTask(engine=engine, name="tick", interval_s=0.05, work=work, holder=holder)

    a, b = task("a"), task("b")
    await a.start()
    await asyncio.sleep(0.3)
    await b.start()
    await asyncio.sleep(0.4)
    assert a.is_leader and not b.is_leader
    assert runs["a"] > 3 and runs["b"] == 0
    await a.stop()  # releases: b takes over on its next tick, not after the TTL
    await asyncio.sleep(0.3)
    assert b.is_leader and runs["b"] > 0
    await b.stop()
