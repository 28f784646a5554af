"""Duplicates, shuffles and late replays over real sockets: the state is exactly the merge."""

import random
import threading
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import Engine

from backend.tps.state import PingFacts, StateRow, merge_all
from schemas.enums import Phase, Situation
from tests.conftest import LiveServer
from tests.factories import NOW, MiniRegistry, device_token
from tests.helpers import field_socket, ping, state_of, uuid7


@pytest.mark.slow
def test_fifty_fold_duplicates_in_any_order_leave_exactly_the_merged_state(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    rng = random.Random(27)
    codes = mini.tps_codes[:4]
    officers = mini.officer_ids[:3]
    unique = []
    for code in codes:
        for _ in range(60):
            unique.append(
                (
                    code,
                    rng.choice(officers),
                    ping(
                        code,
                        rng.choice(list(Phase)).value,
                        rng.choice(list(Situation)).value,
                        minutes=rng.randint(-300, 300),
                        event_id=uuid7(),
                    ),
                )
            )
    deliveries = [u for u in unique for _ in range(rng.choice([1, 1, 2, 5, 50]))]
    rng.shuffle(deliveries)
    by_officer: dict[int, list[str]] = {o: [] for o in officers}
    for _, officer, body in deliveries:
        by_officer[officer].append(orjson.dumps(body).decode())
    tokens = {o: device_token(engine, o) for o in officers}
    results: dict[str, set[str]] = {"stored": set(), "duplicate": set()}
    lock = threading.Lock()

    def phone(officer: int) -> None:
        frames = by_officer[officer]
        with field_socket(server.ws_url, tokens[officer]) as ws:
            for f in frames:
                ws.send(f)
            for _ in frames:
                ack = orjson.loads(ws.recv(timeout=30))
                with lock:
                    results[ack["result"]].add(ack["event_id"])

    threads = [threading.Thread(target=phone, args=(o,)) for o in officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results["stored"] == {body["event_id"] for _, _, body in unique}
    for code in codes:
        facts = [
            PingFacts(
                at=datetime.fromisoformat(body["device_time"]).astimezone(UTC),
                received_at=NOW,
                phase=Phase(body["phase"]),
                situation=Situation(body["situation"]),
                officer_id=officer,
                # Officers not assigned to the TPS only claim a phase (tps/state.py).
                claim=officer not in mini.assignments[c],
            )
            for c, officer, body in unique
            if c == code
        ]
        expected = merge_all(StateRow(tps_id=0), facts)
        got = state_of(engine, code)
        assert got["phase"] == (expected.phase.value if expected.phase else None)
        assert got["situation"] == expected.situation.value  # type: ignore[union-attr]
        assert got["phase_rank"] == expected.phase_rank
        assert got["claimed_rank"] == expected.claimed_rank
        assert got["claimed_officer_id"] == expected.claimed_officer_id
        assert got["last_officer_id"] == expected.last_officer_id
        seen = got["last_seen_at"]
        seen = seen if isinstance(seen, datetime) else datetime.fromisoformat(seen)
        seen = seen.replace(tzinfo=UTC) if seen.tzinfo is None else seen.astimezone(UTC)
        assert seen == expected.last_seen_at


def test_a_frame_the_database_refuses_does_not_hold_back_other_frames(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    from sqlalchemy import text

    # A TPS vanishes from the database behind the running server's back: pings about it now
    # break a foreign key, which no validation in front of the writer can see.
    gone = mini.tps_codes[-1]
    with engine.begin() as c:
        tps_id = c.execute(text("SELECT id FROM tps WHERE code = :c"), {"c": gone}).scalar_one()
        for table, col in (("assignment", "tps_id"), ("tps_state", "tps_id"), ("tps", "id")):
            c.execute(text(f"DELETE FROM {table} WHERE {col} = :i"), {"i": tps_id})
    good_token = device_token(engine, mini.officer_ids[0])
    bad_token = device_token(engine, mini.officer_ids[1])
    load = [orjson.dumps(ping(mini.tps_codes[i % 6], minutes=i)).decode() for i in range(3000)]
    with (
        field_socket(server.ws_url, good_token) as good,
        field_socket(server.ws_url, bad_token) as bad,
    ):
        for frame in load:  # keep the writer busy so the next frames share a batch
            good.send(frame)
        bad.send(orjson.dumps(ping(gone)).decode())
        good.send(orjson.dumps(ping(mini.tps_codes[0], minutes=9999)).decode())
        replies = [orjson.loads(good.recv(timeout=30)) for _ in range(len(load) + 1)]
        refused = orjson.loads(bad.recv(timeout=30))
    assert all(r["result"] == "stored" for r in replies)
    assert refused["type"] == "error" and refused["error"]["field"] == "storage"
    assert refused["event_ids"] and refused["event_ids"][0] is not None
