"""OwnTracks HTTP mode against the running server: locations, other types, reportLocation."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import Engine

from backend.config import Settings
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import count
from tests.positions.conftest import bind, positions

URL = "/api/v1/channels/owntracks"
REPORT_LOCATION = [{"_type": "cmd", "action": "reportLocation"}]


def location(tst: int, **extra: object) -> dict[str, object]:
    """A location message as the booklet documents it."""
    return {
        "_type": "location",
        "_id": "c5bf0e62",
        "tid": "B7",
        "lat": -6.2146,
        "lon": 106.8451,
        "tst": tst,
        "created_at": tst + 2,
        "acc": 12,
        "alt": 35,
        "batt": 87,
        "bs": 1,
        "conn": "m",
        "t": "u",
        "topic": "owntracks/brimob/hp07",
        **extra,
    }


def post(server: LiveServer, nrp: str, key: str, body: object) -> httpx.Response:
    """POST one message with HTTP Basic auth, as the app does."""
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(
        server.url + URL,
        content=content,
        auth=(nrp, key),
        headers={"Content-Type": "application/json", "X-Limit-U": nrp, "X-Limit-D": "hp07"},
        timeout=10,
    )


def now_s() -> int:
    """The server's clock in epoch seconds (real time in these tests)."""
    return int(time.time())


def test_fresh_location_is_stored_and_answered_with_nothing_to_do(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    tst = now_s()
    r = post(server, mini.officer_nrps[0], key, location(tst, vel=36))
    assert r.status_code == 200 and r.json() == []
    (fix,) = positions(engine)
    assert fix["device_time"] == datetime.fromtimestamp(tst, UTC)
    assert (fix["accuracy_m"], fix["battery"], fix["source"]) == (12, 87, "owntracks")
    assert fix["speed_ms"] == pytest.approx(10.0)  # 36 km/h


def test_a_resent_location_is_stored_once(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    body = location(now_s())
    for _ in range(2):  # owntracks/ios#785: the same tst sent again
        assert post(server, mini.officer_nrps[0], key, body).status_code == 200
    assert len(positions(engine)) == 1


@pytest.mark.parametrize(
    "message",
    [
        {"_type": "transition", "event": "enter", "desc": "TPS 3", "tst": 1, "wtst": 1},
        {"_type": "card", "tid": "B7", "name": "Bripka Budi"},
        {"_type": "status", "android": {}},
        {"_type": "waypoint", "desc": "Posko", "lat": -4.3, "lon": 104.3, "rad": 50, "tst": 1},
        {"_type": "encrypted", "data": "AAAA"},
    ],
)
def test_other_types_are_answered_200_and_not_stored(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str, message: dict[str, object]
) -> None:
    assert post(server, mini.officer_nrps[0], key, location(now_s())).json() == []
    r = post(server, mini.officer_nrps[0], key, message)
    assert r.status_code == 200 and r.json() == []
    assert len(positions(engine)) == 1
    assert count(engine, "dead_letter") == 0


def test_empty_body_is_answered_200(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    # Sent when a friend is deleted: nothing to do. The officer has no fix yet, so he is asked.
    r = post(server, mini.officer_nrps[0], key, b"")
    assert r.status_code == 200 and r.json() in ([], REPORT_LOCATION)
    assert positions(engine) == []


def test_silent_officer_is_asked_for_a_fix_once_per_bound(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    nrp = mini.officer_nrps[0]
    card = {"_type": "card", "tid": "B7", "name": "Bripka Budi"}
    assert post(server, nrp, key, card).json() == REPORT_LOCATION  # no fix at all yet
    assert post(server, nrp, key, card).json() == []  # asked a moment ago: not again
    assert post(server, nrp, key, location(now_s())).json() == []  # the answer came


def test_a_queued_old_location_is_stored_and_asks_for_a_fresh_one(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    old = int((datetime.now(UTC) - timedelta(hours=2)).timestamp())
    r = post(server, mini.officer_nrps[0], key, location(old))
    assert r.status_code == 200 and r.json() == REPORT_LOCATION
    assert len(positions(engine)) == 1


def test_wrong_or_missing_password_is_401_and_recorded(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    r = post(server, mini.officer_nrps[0], "not-the-key-at-all", location(now_s()))
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")
    r = httpx.post(server.url + URL, json=location(now_s()), timeout=10)
    assert r.status_code == 401
    assert positions(engine) == []
    deadline = time.monotonic() + 5
    while count(engine, "auth_failure", "path = '/api/v1/channels/owntracks'") < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_bad_location_is_answered_200_and_kept(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    r = post(server, mini.officer_nrps[0], key, location(now_s(), lat="utara"))
    assert r.status_code == 200
    assert count(engine, "dead_letter", "field = 'owntracks.lat'") == 1
    assert positions(engine) == []


def test_silence_bound_is_configurable(
    settings: Settings, engine: Engine, mini: MiniRegistry
) -> None:
    quick = settings.model_copy(update={"positions_silent_s": 1.0, "positions_ask_every_s": 0.5})
    nrp = mini.officer_nrps[1]
    key = bind(engine, nrp)
    srv = start_server(quick)
    try:
        assert post(srv, nrp, key, location(now_s() - 5)).json() == REPORT_LOCATION
        assert post(srv, nrp, key, location(now_s())).json() == []
    finally:
        srv.stop()


def test_the_phones_device_credential_also_works(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    token = device_token(engine, mini.officer_ids[2])
    r = httpx.post(
        server.url + URL,
        json=location(now_s()),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 200 and r.json() == []
    (fix,) = positions(engine)
    assert fix["officer_id"] == mini.officer_ids[2]
    viewer = person_token(engine)
    r = httpx.post(
        server.url + URL,
        json=location(now_s() + 1),
        headers={"Authorization": f"Bearer {viewer}"},
        timeout=10,
    )
    assert r.status_code == 401  # a person's credential places nobody
