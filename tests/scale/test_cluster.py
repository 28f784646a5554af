"""Several real `posko serve` processes on one PostgreSQL database and one Redis."""

import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, text
from websockets.sync.client import ClientConnection, connect

from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from backend.tps.rollup import check
from schemas.enums import Phase, Role, Situation
from tests.conftest import start_server
from tests.factories import NOW, MiniRegistry, device_token, person_token, seed_mini
from tests.helpers import field_socket, ping
from tests.scale.conftest import Node, node_env, redis_url, start_node

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def cluster_db(pg_url: str) -> Iterator[tuple[str, Engine, MiniRegistry]]:
    """A migrated PostgreSQL database with the mini registry, shared by every node."""
    engine = make_engine(Settings(database_url=pg_url))
    upgrade(engine)
    mini = seed_mini(engine)
    yield pg_url, engine, mini
    engine.dispose()


def _two_nodes(
    nodes: list[Node], url: str, prefix: str, tmp_path: Path, **extra: str
) -> tuple[Node, Node]:
    env = node_env(url, POSKO_BROADCAST_URL=redis_url(prefix), **extra)
    nodes.append(start_node(env, tmp_path))
    nodes.append(start_node(env, tmp_path))
    return nodes[0], nodes[1]


@contextmanager
def _live(node: Node, token: str, area: str | None = None) -> Iterator[ClientConnection]:
    query = f"token={token}" + (f"&area={area}" if area else "")
    with connect(f"{node.ws_url}/ws/live?{query}", open_timeout=10) as ws:
        assert orjson.loads(ws.recv(timeout=10))["type"] == "hello"
        yield ws


def _deltas(ws: ClientConnection, n: int) -> list[dict[str, Any]]:
    """Deltas until n of them carried TPS states (the sweeper may publish alert-only ones)."""
    out: list[dict[str, Any]] = []
    while sum(1 for d in out if d["tps"]) < n:
        frame = orjson.loads(ws.recv(timeout=15))
        assert frame["type"] in ("delta", "heartbeat"), frame
        if frame["type"] == "delta":
            out.append(frame)
    return out


def test_events_on_one_node_reach_walls_on_every_node_in_order_with_the_same_numbers(
    cluster_db: tuple[str, Engine, MiniRegistry],
    nodes: list[Node],
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    url, engine, mini = cluster_db
    a, b = _two_nodes(nodes, url, redis_prefix, tmp_path)
    wall = person_token(engine, Role.VIEWER, area="16.08")
    polda = person_token(engine, Role.VIEWER, area="16")
    with _live(a, wall) as wall_a, _live(b, wall) as wall_b, _live(b, polda) as polda_b:
        device = device_token(engine, mini.officer_ids[0])
        with field_socket(a.ws_url, device) as on_a, field_socket(b.ws_url, device) as on_b:
            for i in range(12):
                phone = on_a if i % 3 else on_b  # mostly node A, some node B
                phone.send(orjson.dumps(ping(mini.tps_codes[i % 3], minutes=i)).decode())
                assert orjson.loads(phone.recv(timeout=10))["result"] == "stored"
        seen_a, seen_b = _deltas(wall_a, 12), _deltas(wall_b, 12)
        seen_polda = _deltas(polda_b, 12)
    # One order and one numbering for the whole cluster, whichever node took the event.
    pings_a = [d for d in seen_a if d["tps"]]
    pings_b = [d for d in seen_b if d["tps"]]
    assert [d["seq"] for d in pings_a] == [d["seq"] for d in pings_b]
    assert [d["tps"] for d in pings_a] == [d["tps"] for d in pings_b]
    seqs = [d["seq"] for d in seen_b]  # alert-only deltas take numbers too: no gap anywhere
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert {d["channel"] for d in seen_b} == {"kab:16.08"}
    assert {d["channel"] for d in seen_polda} == {"prov:16"}
    # Every state the walls saw arrived in device-time order: nothing reordered on the way.
    seen_at = [d["tps"][0]["last_seen_at"] for d in pings_b]
    assert seen_at == sorted(seen_at)
    # A snapshot taken on the other node lines up with the walls' numbers.
    snap = httpx.get(
        a.url + "/api/v1/snapshot", headers={"authorization": f"Bearer {wall}"}, timeout=10
    ).json()
    # (Later, only if the sweeper published alert changes after the last ping.)
    assert snap["seq"] >= seqs[-1] and snap["channel"] == "kab:16.08"


def _day_of_pings(mini: MiniRegistry, n: int, seed: int) -> list[dict[str, Any]]:
    """n pings over the mini registry, each TPS's device times distinct, phases wandering."""
    rng = random.Random(seed)
    phases = [p.value for p in Phase]
    out = []
    for i in range(n):
        tps = mini.tps_codes[i % len(mini.tps_codes)]
        out.append(
            ping(
                tps,
                rng.choice(phases),
                rng.choice([s.value for s in Situation]),
                at=NOW + timedelta(seconds=i),  # distinct: the merge never needs a tie-break
                event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            )
        )
    return out


def _send_all(node_ws_url: str, token: str, events: list[dict[str, Any]], acks: list[str]) -> None:
    with field_socket(node_ws_url, token) as ws:
        for i in range(0, len(events), 25):
            ws.send(orjson.dumps(events[i : i + 25]).decode())
            reply = orjson.loads(ws.recv(timeout=30))
            acks.extend(a["result"] for a in reply)


_STATE = (
    "SELECT t.code, s.phase, s.phase_rank, s.phase_at, s.postponed_at, s.situation, "
    "s.situation_at, s.last_seen_at, o.nrp FROM tps_state s JOIN tps t ON t.id = s.tps_id "
    "LEFT JOIN officer o ON o.id = s.last_officer_id ORDER BY t.code"
)


def test_the_same_events_reaching_two_nodes_at_once_are_stored_once_and_merge_alike(
    cluster_db: tuple[str, Engine, MiniRegistry],
    nodes: list[Node],
    redis_prefix: str,
    tmp_path: Path,
    settings: Settings,
) -> None:
    url, engine, mini = cluster_db
    a, b = _two_nodes(nodes, url, redis_prefix, tmp_path)
    n = 900
    events = _day_of_pings(mini, n, seed=7)
    token = device_token(engine, mini.officer_ids[0])
    # Each node gets every event at the same time, over three phones' connections, each in its
    # own shuffled order: a phone retrying through the load balancer, for every single event.
    # A node commits its phones' frames together, so the two nodes' transactions overlap in
    # many events at once, in different orders.
    jobs: list[tuple[Node, list[dict[str, Any]]]] = []
    for k, node in enumerate((a, b)):
        order = events[:]
        random.Random(k).shuffle(order)
        jobs += [(node, order[i::3]) for i in range(3)]
    acks: list[list[str]] = [[] for _ in jobs]
    threads = [
        threading.Thread(target=_send_all, args=(node.ws_url, token, part, got))
        for (node, part), got in zip(jobs, acks, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    results = [r for got in acks for r in got]
    assert len(results) == 2 * n
    # Every event acknowledged by both nodes, stored by exactly one of them.
    assert results.count("stored") == n and results.count("duplicate") == n
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM ping")).scalar_one() == n
        assert c.execute(text("SELECT count(DISTINCT event_id) FROM ping")).scalar_one() == n
        assert c.execute(text("SELECT count(*) FROM ping_by_tps")).scalar_one() == n
        clustered = c.execute(text(_STATE)).all()
    # Never rolled back: the same state as one server given the events one by one, in order.
    single = _single_writer_states(settings, events)
    assert _normal([tuple(r) for r in clustered]) == single
    assert check(engine) == 0  # and the rollup moved with the states


def _single_writer_states(settings: Settings, events: list[dict[str, Any]]) -> list[tuple]:
    engine = make_engine(settings)
    upgrade(engine)
    mini = seed_mini(engine)
    srv = start_server(settings)
    try:
        with field_socket(srv.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
            for event in events:
                ws.send(orjson.dumps(event).decode())
                assert orjson.loads(ws.recv(timeout=10))["result"] == "stored"
    finally:
        srv.stop()
    with engine.connect() as c:
        rows = [tuple(r) for r in c.execute(text(_STATE)).all()]
    engine.dispose()
    return _normal(rows)


def _normal(rows: list[tuple]) -> list[tuple]:
    """Times as naive UTC datetimes, whichever database they came from."""

    def norm(v: Any) -> Any:
        if isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", v):
            v = datetime.fromisoformat(v)
        if isinstance(v, datetime) and v.tzinfo is not None:
            v = v.astimezone(UTC).replace(tzinfo=None)
        return v

    return [tuple(norm(v) for v in r) for r in rows]


_RUNS = re.compile(r'^posko_leased_runs_total\{job="rollup-check"\} (\S+)$', re.M)


def _runs(node: Node) -> float:
    try:
        m = _RUNS.search(httpx.get(node.url + "/metrics", timeout=5).text)
    except httpx.HTTPError:
        return -1.0
    return float(m.group(1)) if m else 0.0


def _holder(engine: Engine) -> tuple[str, int]:
    with engine.connect() as c:
        row = c.execute(text("SELECT holder, fence FROM lease WHERE name = 'rollup-check'")).one()
    return str(row[0]), int(row[1])


def test_periodic_work_runs_on_one_node_and_moves_when_that_node_is_killed(
    cluster_db: tuple[str, Engine, MiniRegistry],
    nodes: list[Node],
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    url, engine, _ = cluster_db
    # The lease lasts three intervals (3 s): long beside a stall of a busy machine, so the
    # work stays where it is until its node dies. How fast it moves is not asserted here.
    interval = 1.0
    a, b = _two_nodes(nodes, url, redis_prefix, tmp_path, POSKO_ROLLUP_CHECK_S=str(interval))
    leader = _wait(lambda: next((n for n in (a, b) if _runs(n) > 0), None), "nobody ran the work")
    other = b if leader is a else a
    holder, fence = _holder(engine)
    assert f":{leader.proc.pid}:" in holder
    # Three more runs on the leader; the other node asked as often meanwhile and was refused.
    base = _runs(leader)
    _wait(lambda: _runs(leader) >= base + 3, "the leader stopped running the work")
    assert _runs(other) == 0, "the work ran on both nodes"  # once across the cluster
    assert _holder(engine) == (holder, fence)

    leader.kill()  # no shutdown: the lease is not released, it must expire
    killed_at = time.monotonic()
    _wait(lambda: _runs(other) > 0, "nobody took the work over")
    print(f"\nthe work moved {time.monotonic() - killed_at:.1f} s after the kill")
    new_holder, new_fence = _holder(engine)
    assert f":{other.proc.pid}:" in new_holder and new_fence == fence + 1


def _wait(probe: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll until `probe` returns something truthy (a generous deadline, not a claim)."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return found


def test_posko_serve_with_several_workers_shares_one_live_picture(
    cluster_db: tuple[str, Engine, MiniRegistry],
    nodes: list[Node],
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    url, engine, mini = cluster_db
    env = node_env(url, POSKO_BROADCAST_URL=redis_url(redis_prefix))
    node = start_node(env, tmp_path, workers=2)
    nodes.append(node)
    wall = person_token(engine, Role.VIEWER)
    device = device_token(engine, mini.officer_ids[0])
    # Connections spread over the workers; every wall must still see every delta, numbered alike.
    with ExitStack() as stack:
        walls = [stack.enter_context(_live(node, wall)) for _ in range(4)]
        for i in range(6):
            with field_socket(node.ws_url, device) as ws:
                ws.send(orjson.dumps(ping(mini.tps_codes[i], minutes=i)).decode())
                assert orjson.loads(ws.recv(timeout=10))["result"] == "stored"
        seen = [[d["seq"] for d in _deltas(w, 6)] for w in walls]
    assert all(s == seen[0] for s in seen)
    assert seen[0] == list(range(seen[0][0], seen[0][0] + 6))
