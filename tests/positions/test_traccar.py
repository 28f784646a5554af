"""Traccar Client's OsmAnd protocol against the running server: all three client generations."""

import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from sqlalchemy import Engine

from backend.config import Settings
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry
from tests.helpers import count
from tests.positions.conftest import as_utc, bind, positions

URL = "/api/v1/channels/traccar"
T0 = 1755842400  # 2025-08-22 06:00:00 UTC, the SDK documentation's sample
AT0 = datetime(2025, 8, 22, 6, 0, tzinfo=UTC)


def sdk_form(key: str, **extra: object) -> dict[str, object]:
    """The v9.7.20+/v10 SDK's form body, values from its documentation."""
    return {
        "id": key,
        "lat": -6.2146,
        "lon": 106.8451,
        "timestamp": T0,
        "accuracy": 12.0,
        "altitude": 35.0,
        "speed": 0.0,
        "bearing": 0.0,
        "batt": 87,
        "charge": "false",
        **extra,
    }


def test_legacy_query_string_is_stored_with_speed_in_metres_per_second(
    server: LiveServer, engine: Engine, key: str
) -> None:
    q = urlencode(sdk_form(key, speed=10.0))
    r = httpx.post(f"{server.url}{URL}?{q}", timeout=10)
    assert r.status_code == 200
    (fix,) = positions(engine)
    assert fix["device_time"] == AT0
    assert (fix["lat"], fix["lon"]) == (-6.2146, 106.8451)
    assert fix["speed_ms"] == pytest.approx(5.144, abs=1e-3)  # 10 knots
    assert (fix["battery"], fix["accuracy_m"], fix["source"]) == (87, 12.0, "traccar")


def test_sdk_form_body_is_stored(server: LiveServer, engine: Engine, key: str) -> None:
    r = httpx.post(server.url + URL, data=sdk_form(key), timeout=10)  # type: ignore[arg-type]
    assert r.status_code == 200
    (fix,) = positions(engine)
    assert (fix["device_time"], fix["speed_ms"], fix["altitude_m"]) == (AT0, 0.0, 35.0)


def test_sdk_get_with_query_string_is_stored(server: LiveServer, engine: Engine, key: str) -> None:
    r = httpx.get(f"{server.url}{URL}?{urlencode(sdk_form(key))}", timeout=10)
    assert r.status_code == 200
    assert len(positions(engine)) == 1


def test_flutter_json_keeps_metres_per_second_and_battery_fraction(
    server: LiveServer, engine: Engine, key: str
) -> None:
    body = {
        "location": {
            "timestamp": "2025-06-15T13:45:12.862Z",
            "coords": {
                "latitude": -6.11,
                "longitude": 106.68,
                "accuracy": 3.8,
                "speed": 18.67,
                "heading": 63,
                "altitude": 35.7,
            },
            "is_moving": True,
            "odometer": 0,
            "event": "motionchange",
            "battery": {"level": 0.79, "is_charging": False},
            "activity": {"type": "still"},
            "extras": {},
        },
        "device_id": key,
    }
    r = httpx.post(server.url + URL, json=body, timeout=10)
    assert r.status_code == 200
    (fix,) = positions(engine)
    assert fix["device_time"] == datetime(2025, 6, 15, 13, 45, 12, 862000, tzinfo=UTC)
    assert (fix["speed_ms"], fix["battery"], fix["heading"]) == (18.67, 79.0, 63)


@pytest.mark.parametrize(
    "stamp", [str(T0), str(T0 * 1000), "2025-08-22T06:00:00Z", "2025-08-22 13:00:00"]
)
def test_seconds_milliseconds_iso_and_local_times_are_one_instant(
    server: LiveServer, engine: Engine, key: str, stamp: str
) -> None:
    r = httpx.post(server.url + URL, data=sdk_form(key, timestamp=stamp), timeout=10)  # type: ignore[arg-type]
    assert r.status_code == 200
    assert [f["device_time"] for f in positions(engine)] == [AT0]


def test_a_resent_position_is_stored_once(server: LiveServer, engine: Engine, key: str) -> None:
    for _ in range(3):  # the app resends when it missed our 200
        r = httpx.post(server.url + URL, data=sdk_form(key), timeout=10)  # type: ignore[arg-type]
        assert r.status_code == 200
    moved = sdk_form(key, lat=-6.2147)
    assert httpx.post(server.url + URL, data=moved, timeout=10).status_code == 200  # type: ignore[arg-type]
    assert len(positions(engine)) == 2


def test_unknown_device_is_answered_200_and_kept(
    server: LiveServer, engine: Engine, key: str
) -> None:
    r = httpx.post(server.url + URL, data=sdk_form("48241179"), timeout=10)  # type: ignore[arg-type]
    assert r.status_code == 200  # a 4xx would stall the app's queue
    assert positions(engine) == []
    assert count(engine, "dead_letter", "field = 'traccar.id'") == 1
    assert count(engine, "auth_failure", "reason = 'unknown tracker id'") >= 1


def test_a_revoked_key_no_longer_places_the_officer(
    settings: Settings, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    # A short credential cache (5 s by default): the wait below outlasts it.
    server_cache_s = 1.0
    server = start_server(settings.model_copy(update={"credential_cache_s": server_cache_s}))
    try:
        assert httpx.post(server.url + URL, data=sdk_form(key), timeout=10).status_code == 200  # type: ignore[arg-type]
        assert len(positions(engine)) == 1  # the key is now cached
        bind(engine, mini.officer_nrps[0])  # a new key revokes the old one
        time.sleep(server_cache_s + 0.5)
        moved = sdk_form(key, lat=-6.2147)
        r = httpx.post(server.url + URL, data=moved, timeout=10)  # type: ignore[arg-type]
        assert r.status_code == 200
    finally:
        server.stop()
    assert len(positions(engine)) == 1
    assert count(engine, "dead_letter", "field = 'traccar.id'") == 1


def test_missing_id_and_bad_values_are_kept_as_dead_letters(
    server: LiveServer, engine: Engine, key: str
) -> None:
    cases = [
        {k: v for k, v in sdk_form(key).items() if k != "id"},
        sdk_form(key, lat=200),
        sdk_form(key, batt="penuh"),
        sdk_form(key, timestamp="kemarin"),
    ]
    for form in cases:
        r = httpx.post(server.url + URL, data=form, timeout=10)  # type: ignore[arg-type]
        assert r.status_code == 200
    assert positions(engine) == []
    fields = {"traccar.id", "traccar.lat", "traccar.batt", "traccar.timestamp"}
    assert count(engine, "dead_letter", "field LIKE 'traccar.%'") == 4
    with engine.connect() as c:
        from sqlalchemy import text

        got = {r[0] for r in c.execute(text("SELECT field FROM dead_letter"))}
        payloads = [r[0] for r in c.execute(text("SELECT payload FROM dead_letter"))]
    assert got == fields
    assert not any(key in p for p in payloads)  # the key works like a password: never kept whole


def test_heartbeat_without_position_is_answered_and_not_placed(
    server: LiveServer, engine: Engine, key: str
) -> None:
    r = httpx.post(server.url + URL, data={"id": key, "notificationToken": "abc"}, timeout=10)
    assert r.status_code == 200
    assert positions(engine) == []
    assert count(engine, "dead_letter") == 0


def test_latest_fix_never_moves_back_to_an_older_one(
    server: LiveServer, engine: Engine, key: str
) -> None:
    newer = sdk_form(key, timestamp=T0 + 60, lat=-6.3)
    older = sdk_form(key, timestamp=T0, lat=-6.2)
    for form in (newer, older):  # a queue drained late sends the old one after
        assert httpx.post(server.url + URL, data=form, timeout=10).status_code == 200  # type: ignore[arg-type]
    with engine.connect() as c:
        from sqlalchemy import text

        lat, at = c.execute(text("SELECT lat, device_time FROM officer_last_fix")).one()
    assert (lat, as_utc(at)) == (-6.3, datetime(2025, 8, 22, 6, 1, tzinfo=UTC))
    assert len(positions(engine)) == 2


def test_alarm_sos_is_an_sos_incident_stored_once(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    form = sdk_form(key, alarm="sos")
    for _ in range(2):
        assert httpx.post(server.url + URL, data=form, timeout=10).status_code == 200  # type: ignore[arg-type]
    assert count(engine, "incident", "is_sos = true") == 1
    assert (
        count(engine, "incident_report", f"is_sos = true AND officer_id = {mini.officer_ids[0]}")
        == 1
    )
    assert len(positions(engine)) == 1
    alerts = httpx.get(
        server.url + "/api/v1/incidents",
        headers={"Authorization": "Bearer " + _viewer(engine)},
        timeout=10,
    ).json()
    assert any(i.get("sos") for i in alerts["data"])


def test_sos_without_a_fix_is_still_an_sos(server: LiveServer, engine: Engine, key: str) -> None:
    r = httpx.post(server.url + URL, data={"id": key, "alarm": "sos", "timestamp": T0}, timeout=10)
    assert r.status_code == 200
    assert count(engine, "incident", "is_sos = true") == 1


def _viewer(engine: Engine) -> str:
    from tests.factories import person_token

    return person_token(engine)


def test_json_that_is_not_an_object_is_kept(server: LiveServer, engine: Engine, key: str) -> None:
    r = httpx.post(
        server.url + URL,
        content=orjson.dumps([1, 2]),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 200
    assert count(engine, "dead_letter", "field = 'traccar.body'") == 1
