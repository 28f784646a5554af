"""Field intake over a real websocket: acks after commit, idempotency, order, bad input."""

import time

import orjson
import pytest
from sqlalchemy import Engine
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer
from tests.factories import MiniRegistry, device_token
from tests.helpers import count, field_socket, incident, ping, send, state_of


def test_ping_is_acked_stored_only_once_it_is_in_the_database(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    p = ping(mini.tps_codes[0])
    with field_socket(server.ws_url, device) as ws:
        ack = send(ws, p)
    assert ack == {"type": "ack", "event_id": p["event_id"], "result": "stored"}
    # The ack promised durability: a fresh connection must see the row.
    assert count(engine, "ping", f"event_id = '{p['event_id'].replace('-', '')}'") == 1
    assert state_of(engine, mini.tps_codes[0])["phase"] == "pemungutan"


def test_ten_thousand_pings_stored_then_all_duplicate_with_no_new_rows(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    pings = [ping(mini.tps_codes[i % 3], minutes=i / 100) for i in range(10_000)]
    frames = [orjson.dumps(p).decode() for p in pings]

    def blast() -> list[dict[str, str]]:
        with field_socket(server.ws_url, device) as ws:
            for f in frames:  # pipelined: the device does not wait for each ack
                ws.send(f)
            return [orjson.loads(ws.recv(timeout=30)) for _ in frames]

    first = blast()
    assert [a["result"] for a in first] == ["stored"] * 10_000
    assert [a["event_id"] for a in first] == [p["event_id"] for p in pings]  # in order
    assert count(engine, "ping") == 10_000
    again = blast()
    assert [a["result"] for a in again] == ["duplicate"] * 10_000
    assert count(engine, "ping") == 10_000


def test_duplicate_event_changes_state_once(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    code = mini.tps_codes[0]
    p = ping(code)
    with field_socket(server.ws_url, device) as ws:
        assert send(ws, p)["result"] == "stored"
        version = state_of(engine, code)["version"]
        for _ in range(49):
            assert send(ws, p)["result"] == "duplicate"
    assert state_of(engine, code)["version"] == version
    assert count(engine, "ping") == 1


def test_batch_frame_gets_array_of_acks_in_order(
    server: LiveServer, device: str, mini: MiniRegistry
) -> None:
    batch = [ping(mini.tps_codes[0]), ping(mini.tps_codes[1], phase="bogus"), ping("1")]
    with field_socket(server.ws_url, device) as ws:
        acks = send(ws, batch)
    assert [a["result"] for a in acks] == ["stored", "rejected", "rejected"]
    assert [a["event_id"] for a in acks] == [b["event_id"] for b in batch]
    assert acks[1]["error"]["field"] == "phase"
    assert acks[2]["error"]["field"] == "tps"


def test_bad_phase_is_rejected_naming_phase_and_kept_as_dead_letter(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    p = ping(mini.tps_codes[0], phase="istirahat")
    with field_socket(server.ws_url, device) as ws:
        ack = send(ws, p)
    assert ack["result"] == "rejected"
    assert ack["event_id"] == p["event_id"]
    assert ack["error"]["field"] == "phase"
    assert "pemungutan" in ack["error"]["reason"]
    assert count(engine, "dead_letter", "field = 'phase'") == 1
    assert count(engine, "ping") == 0


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p.pop("event_id"), "event_id"),
        (lambda p: p.update(event_id="not-a-uuid"), "event_id"),
        (lambda p: p.update(situation="rusuh"), "situation"),
        (lambda p: p.update(device_time="2024-11-27T08:00:00"), "device_time"),
        (lambda p: p.update(tps="16.08.01.1007-999"), "tps"),
        (lambda p: p.update(tps=12), "tps"),
        (lambda p: p.update(lat=123.0, lon=104.0), "lat"),
        (lambda p: p.update(lat=-4.2), "event"),
        (lambda p: p.update(type="selfie"), "type"),
        (lambda p: p.pop("type"), "type"),
        (lambda p: p.update(note="x" * 501), "note"),
    ],
)
def test_every_kind_of_bad_field_is_named_and_dead_lettered(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine, mutate, field: str
) -> None:
    p = ping(mini.tps_codes[0])
    mutate(p)
    with field_socket(server.ws_url, device) as ws:
        ack = send(ws, p)
    assert ack["result"] == "rejected"
    assert ack["error"]["field"] == field, ack
    assert ack["error"]["reason"]
    assert count(engine, "dead_letter") == 1


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ("{not json", "body"),
        ("42", "body"),
        ("[]", "body"),
        ('"ping"', "body"),
        ("[1, 2]", "event"),
    ],
)
def test_broken_frames_are_explained_and_kept(
    server: LiveServer, device: str, engine: Engine, frame: str, field: str
) -> None:
    with field_socket(server.ws_url, device) as ws:
        ws.send(frame)
        reply = orjson.loads(ws.recv(timeout=10))
    first = reply[0] if isinstance(reply, list) else reply
    assert first["result"] == "rejected"
    assert first["error"]["field"] == field
    assert count(engine, "dead_letter") >= 1


def test_binary_and_oversize_frames_are_rejected_and_kept(
    server: LiveServer, device: str, engine: Engine, mini: MiniRegistry
) -> None:
    with field_socket(server.ws_url, device) as ws:
        ws.send(b"\x00\x01binary")
        assert orjson.loads(ws.recv(timeout=10))["error"]["field"] == "frame"
        huge = ping(mini.tps_codes[0], note="x")
        huge["padding"] = "y" * 300_000
        ws.send(orjson.dumps(huge).decode())
        ack = orjson.loads(ws.recv(timeout=10))
        assert ack["result"] == "rejected" and ack["error"]["field"] == "frame"
        # The connection survives bad frames.
        assert send(ws, ping(mini.tps_codes[0]))["result"] == "stored"
    assert count(engine, "dead_letter") == 2


def test_late_ping_never_rolls_phase_or_situation_back(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    code = mini.tps_codes[0]
    with field_socket(server.ws_url, device) as ws:
        assert send(ws, ping(code, "penghitungan", "waspada", minutes=360))["result"] == "stored"
        # A phone replays its buffer: older device times arrive after the newer one.
        late = send(ws, ping(code, "pemungutan", "gangguan", minutes=60))
        assert late["result"] == "stored"
    s = state_of(engine, code)
    assert s["phase"] == "penghitungan"
    assert s["situation"] == "waspada"
    assert count(engine, "ping", "phase = 'pemungutan'") == 1  # kept for the timeline


def test_device_clock_far_ahead_is_flagged(settings, engine: Engine, mini: MiniRegistry) -> None:
    from tests.conftest import start_server

    settings.clock_skew_tolerance_s = 120
    settings.max_future_s = 24 * 3600
    srv = start_server(settings)
    try:
        from datetime import UTC, datetime, timedelta

        token = device_token(engine, mini.officer_ids[0])
        ahead = datetime.now(UTC) + timedelta(hours=2)
        with field_socket(srv.ws_url, token) as ws:
            ack = send(ws, ping(mini.tps_codes[0], at=ahead))
            too_far = send(ws, ping(mini.tps_codes[0], at=ahead + timedelta(days=2)))
        assert ack["result"] == "stored" and ack["flags"] == ["clock_skew"]
        assert too_far["result"] == "rejected" and too_far["error"]["field"] == "device_time"
    finally:
        srv.stop()


def test_officer_not_assigned_is_flagged_not_refused(
    server: LiveServer, device: str, mini: MiniRegistry
) -> None:
    with field_socket(server.ws_url, device) as ws:
        ack = send(ws, ping(mini.tps_codes[-1]))
    assert ack["result"] == "stored"
    assert ack["flags"] == ["unassigned"]


def test_connection_without_token_is_refused_and_recorded(
    server: LiveServer, engine: Engine
) -> None:
    with field_socket(server.ws_url, None) as ws:
        frame = orjson.loads(ws.recv(timeout=10))
        assert frame["type"] == "error" and frame["error"]["field"] == "token"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    _wait_for(lambda: count(engine, "auth_failure", "reason = 'missing credential'") == 1)


@pytest.mark.parametrize("token", ["pkd_wrong", "x" * 500])
def test_wrong_token_is_refused(server: LiveServer, engine: Engine, token: str) -> None:
    with field_socket(server.ws_url, token) as ws:
        assert orjson.loads(ws.recv(timeout=10))["type"] == "error"
    _wait_for(lambda: count(engine, "auth_failure") == 1)


def test_reader_token_cannot_send_field_events(
    server: LiveServer, viewer: str, engine: Engine
) -> None:
    with field_socket(server.ws_url, viewer) as ws:
        frame = orjson.loads(ws.recv(timeout=10))
    assert frame["error"]["reason"] == "not a device credential"


def test_incident_reports_of_one_trouble_become_one_incident(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]
    tokens = [device_token(engine, oid) for oid in mini.officer_ids[:3]]
    for i, token in enumerate(tokens):
        with field_socket(server.ws_url, token) as ws:
            assert send(ws, incident(code, severity=2 + i % 2, minutes=i))["result"] == "stored"
    with field_socket(server.ws_url, tokens[0]) as ws:
        assert send(ws, incident(code, "politik_uang", minutes=5))["result"] == "stored"
        near = incident(None, minutes=6, lat=-4.2970, lon=104.3465)
        assert send(ws, near)["result"] == "stored"
    assert count(engine, "incident_report") == 5
    assert count(engine, "incident") == 2  # the riot (4 reports) and the vote buying
    assert count(engine, "incident", "category = 'kericuhan' AND severity = 3") == 1


def _wait_for(cond, timeout: float = 30.0) -> None:
    # A deadline for a condition, not a claim about speed: generous for a busy machine.
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_timeline_sees_pings_before_and_after_the_bulk_index_catches_up(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine, viewer: str
) -> None:
    import httpx

    code = mini.tps_codes[0]
    with field_socket(server.ws_url, device) as ws:
        for i in range(5):
            assert send(ws, ping(code, minutes=i))["result"] == "stored"
        # The writer folds the tail into ping_by_tps about once a second.
        _wait_for(lambda: count(engine, "ping_by_tps") == 5)
        for i in range(5, 8):
            assert send(ws, ping(code, minutes=i))["result"] == "stored"
    events = httpx.get(
        f"{server.url}/api/v1/tps/{code}", headers={"authorization": f"Bearer {viewer}"}
    ).json()["events"]
    assert len(events) == 8  # indexed rows and the tail, each exactly once
    assert len({e["event_id"] for e in events}) == 8
    times = [e["device_time"] for e in events]
    assert times == sorted(times, reverse=True)


def test_exercise_clock_continues_after_a_restart(settings, engine: Engine, mini) -> None:
    from datetime import UTC, datetime

    import httpx

    from tests.conftest import start_server

    settings.clock_start = datetime(2024, 11, 27, 0, 0, tzinfo=UTC)
    settings.clock_speed = 60.0
    first = start_server(settings)
    t1 = datetime.fromisoformat(httpx.get(first.url + "/api/v1/clock").json()["now"])
    first.stop()
    time.sleep(1.0)
    second = start_server(settings)
    try:
        t2 = datetime.fromisoformat(httpx.get(second.url + "/api/v1/clock").json()["now"])
    finally:
        second.stop()
    # A second of real time is a minute of exercise time; a restart must not jump back.
    assert (t2 - t1).total_seconds() >= 55
