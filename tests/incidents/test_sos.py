"""An officer's SOS: stored, never grouped, alarmed at once and first until acknowledged."""

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from pydantic import ValidationError

from backend.alerts.rules import IncidentFacts, SosFacts, evaluate
from backend.config import Settings
from schemas.enums import IncidentStatus
from schemas.events import FIELD_EVENT_ADAPTER
from schemas.ops import AlertKind, AlertSeverity
from tests.alerts.test_rules import SETTINGS, facts, kinds, tps
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry
from tests.helpers import field_socket, incident, ping, send
from tests.ops.conftest import auth
from tests.ops.harness import wib

M = timedelta(minutes=1)
SENDER = SosFacts("85010000", "Petugas 0", "Bripka", "Polres OKU Timur", None, None, None)


def _sos(tps: str | None = None, **extra: Any) -> dict[str, Any]:
    body = incident(tps, "lainnya", 4, sos=True, **extra)
    body["description"] = "SOS"
    return body


def test_an_sos_has_severity_4_and_may_come_without_any_position() -> None:
    event = FIELD_EVENT_ADAPTER.validate_python(_sos())
    assert event.type == "incident" and event.sos and event.tps is None and event.lat is None
    with pytest.raises(ValidationError) as err:
        FIELD_EVENT_ADAPTER.validate_python({**_sos(), "severity": 3})
    assert err.value.errors()[0]["loc"][-1] == "severity"
    with pytest.raises(ValidationError, match="needs tps or lat/lon"):
        FIELD_EVENT_ADAPTER.validate_python({**_sos(), "sos": False})


def test_an_open_sos_is_a_critical_alert_of_its_own_held_under_nothing_until_acknowledged() -> None:
    now = wib(27, "14:00")
    silent = [tps(f"16.08.01.1007-{n:03d}", now - 60 * M) for n in range(1, 6)]  # an outage
    elsewhere = [tps(f"16.08.03.2001-{n:03d}", now) for n in range(1, 6)]
    sos = IncidentFacts(5, IncidentStatus.BARU, 4, "16.08", "16.08.01", None, now - M, sos=SENDER)
    d = evaluate(facts(now, [*silent, *elsewhere], incidents=[sos]), SETTINGS)
    alert = d[(AlertKind.SOS, "5")]
    assert (AlertKind.NETWORK_OUTAGE, "16.08.01") in d
    assert alert.parent is None and alert.severity is AlertSeverity.CRITICAL
    assert alert.detail["nrp"] == "85010000" and alert.detail["rank"] == "Bripka"
    # The SOS alarm says it all: no second "severe incident" alert for the same incident.
    assert (AlertKind.INCIDENT_SEVERE, "5") not in d
    seen = IncidentFacts(
        5,
        IncidentStatus.BARU,
        4,
        "16.08",
        None,
        None,
        now - M,
        sos=replace(SENDER, acknowledged=True),
    )
    accepted = IncidentFacts(6, IncidentStatus.DITERIMA, 4, "16.08", None, None, now, sos=SENDER)
    assert kinds(evaluate(facts(now, [], incidents=[seen, accepted]), SETTINGS)) == set()


@pytest.fixture
def sos_server(settings: Settings, mini: MiniRegistry) -> Iterator[LiveServer]:
    """A server whose sweeper never ticks on its own: only a wake-up can raise an alarm."""
    srv = start_server(
        settings.model_copy(update={"clock_start": wib(27, "08:00"), "sweep_interval_s": 3600})
    )
    yield srv
    srv.stop()


def _wait(fetch: Any, what: str, timeout: float = 10.0) -> Any:
    """A generous deadline for a condition (not a timing claim)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fetch()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _alerts(server: LiveServer, token: str, state: str = "open") -> list[dict[str, Any]]:
    r = httpx.get(server.url + "/api/v1/alerts", headers=auth(token), params={"state": state})
    return list(r.json()["data"])


def _incident_with(server: LiveServer, token: str, text: str) -> dict[str, Any]:
    data = httpx.get(server.url + "/api/v1/incidents", headers=auth(token)).json()["data"]
    found = [i for i in data if i["description"] == text]
    assert len(found) == 1, found
    return dict(found[0])


def test_an_sos_at_the_end_of_a_full_batch_is_acked_with_it_and_alarms_at_once_and_first(
    sos_server: LiveServer, tokens: dict[str, str], mini: MiniRegistry
) -> None:
    server, viewer = sos_server, tokens["viewer"]
    now = httpx.get(server.url + "/api/v1/clock", headers=auth(viewer)).json()["now"]
    at = datetime.fromisoformat(now)
    batch = [ping(mini.tps_codes[i % 3], at=at) for i in range(999)] + [_sos(at=at)]
    with field_socket(server.ws_url, tokens["device"]) as ws:
        ws.send(orjson.dumps(batch).decode())
        acks = orjson.loads(ws.recv(timeout=30))  # one answer for the whole frame
        assert len(acks) == 1000 and {a["result"] for a in acks} == {"stored"}
        assert acks[-1]["event_id"] == batch[-1]["event_id"]
        sos = _incident_with(server, viewer, "SOS")
        assert sos["sos"] and sos["severity"] == 4 and sos["tps"] is None
        assert sos["lat"] is None and sos["kabupaten_code"] == "16.08"
        # Raised by the sweeper woken by this commit: it would otherwise tick in an hour.
        alarm = _wait(
            lambda: [a for a in _alerts(server, viewer) if a["kind"] == "sos"], "the SOS alarm"
        )[0]
        assert alarm["subject"] == str(sos["id"]) and alarm["severity"] == "critical"
        assert alarm["detail"]["nrp"] == mini.officer_nrps[0]
        assert alarm["detail"]["rank"] == "Bripka" and alarm["detail"]["name"] == "Petugas 0"
        assert alarm["detail"]["unit"] == "Polres OKU Timur" and alarm["parent_id"] is None
        # A severe incident reported later raises a newer critical alert: the SOS stays first.
        riot = incident(mini.tps_codes[1], "kericuhan", 4, at=at)
        assert send(ws, riot)["result"] == "stored"
    later = _wait(
        lambda: [a for a in _alerts(server, viewer) if a["kind"] == "incident_severe"],
        "the severe incident's alert",
    )[0]
    assert later["raised_at"] >= alarm["raised_at"]
    assert _alerts(server, viewer)[0]["id"] == alarm["id"]


def test_an_sos_is_never_grouped_with_another_report(
    sos_server: LiveServer, tokens: dict[str, str], mini: MiniRegistry
) -> None:
    server, viewer, code = sos_server, tokens["viewer"], mini.tps_codes[0]
    with field_socket(server.ws_url, tokens["device"]) as ws:
        first = _sos(tps=code)
        first["description"] = "SOS satu"
        second = _sos(tps=code)
        second["description"] = "SOS dua"
        plain = incident(code, "lainnya", 4)
        plain["description"] = "laporan biasa"
        for body in (first, second, plain):
            assert send(ws, body)["result"] == "stored"
    texts = ("SOS satu", "SOS dua", "laporan biasa")
    ids = [_incident_with(server, viewer, t)["id"] for t in texts]
    assert len(set(ids)) == 3

    def alarmed() -> set[str]:
        return {a["subject"] for a in _alerts(server, viewer) if a["kind"] == "sos"}

    _wait(lambda: len(alarmed()) == 2, "an alarm for each SOS")
    assert alarmed() == {str(ids[0]), str(ids[1])}


def test_acknowledging_the_sos_alert_or_accepting_its_incident_ends_the_alarm_at_once(
    sos_server: LiveServer, tokens: dict[str, str], mini: MiniRegistry
) -> None:
    server, viewer = sos_server, tokens["viewer"]
    ended: dict[str, int] = {}
    for how in ("acknowledge", "accept"):
        body = _sos(lat=-4.15, lon=104.64)
        body["description"] = f"SOS {how}"
        with field_socket(server.ws_url, tokens["device"]) as ws:
            assert send(ws, body)["result"] == "stored"
        sos = _incident_with(server, viewer, f"SOS {how}")
        alarm = _wait(
            lambda sos=sos: [
                a
                for a in _alerts(server, viewer)
                if a["kind"] == "sos" and a["subject"] == str(sos["id"])
            ],
            "the alarm",
        )[0]
        assert alarm["detail"]["lat"] == -4.15
        if how == "acknowledge":
            r = httpx.post(
                f"{server.url}/api/v1/alerts/{alarm['id']}/acknowledge",
                headers=auth(tokens["commander"]),
            )
        else:
            r = httpx.post(
                f"{server.url}/api/v1/incidents/{sos['id']}/accept",
                headers=auth(tokens["operator"]),
                json={"version": sos["version"]},
            )
        assert r.status_code == 200, r.text
        # Cleared by the sweep the action woke (the next tick is an hour away).
        _wait(
            lambda alarm=alarm: any(
                a["id"] == alarm["id"] and a["cleared_at"] for a in _alerts(server, viewer, "all")
            ),
            f"the alarm cleared after {how}",
        )
        ended[how] = alarm["id"]
    assert not [a for a in _alerts(server, viewer) if a["kind"] == "sos"]
    # The acknowledged SOS stays an open incident (baru) for the commander to act on.
    assert _incident_with(server, viewer, "SOS acknowledge")["status"] == "baru"
    audit = httpx.get(
        server.url + "/api/v1/audit",
        headers=auth(tokens["commander"]),
        params={"action": "alert.acknowledged"},
    ).json()
    assert [e["data"]["alert_id"] for e in audit] == [ended["acknowledge"]]
