"""The live stream: deltas after each commit, sequence numbers, resync when too slow."""

import asyncio

import httpx
import orjson
import pytest
from websockets.sync.client import connect

from backend.realtime.broadcast import MemoryBroadcaster
from backend.realtime.hub import RESYNC, LiveHub
from tests.conftest import LiveServer
from tests.factories import MiniRegistry
from tests.helpers import field_socket, incident, ping, send


def _live(server: LiveServer, token: str, **params: str):
    query = "&".join(f"{k}={v}" for k, v in {"token": token, **params}.items())
    return connect(f"{server.ws_url}/ws/live?{query}", open_timeout=10)


def _next_delta(ws) -> dict:
    while True:
        msg = orjson.loads(ws.recv(timeout=10))
        if msg["type"] == "delta":
            return msg


def test_ping_reaches_live_subscriber_as_delta_with_sequence(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry
) -> None:
    with _live(server, viewer) as live:
        hello = orjson.loads(live.recv(timeout=10))
        assert hello["type"] == "hello" and hello["channel"] == "nat"
        with field_socket(server.ws_url, device) as ws:
            send(ws, ping(mini.tps_codes[0], "pemungutan", "waspada"))
            send(ws, ping(mini.tps_codes[1], "persiapan", "aman"))
        d1, d2 = _next_delta(live), _next_delta(live)
    assert d2["seq"] == d1["seq"] + 1 == hello["seq"] + 2
    first = d1["tps"][0]
    assert first["code"] == mini.tps_codes[0]
    assert (first["phase"], first["situation"]) == ("pemungutan", "waspada")
    assert first["last_officer"] == mini.officer_nrps[0]
    assert {e["kind"] for e in d1["log"]} == {"phase", "situation"}


def test_incident_reaches_live_subscriber(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry
) -> None:
    with _live(server, viewer, area="16.08") as live:
        assert orjson.loads(live.recv(timeout=10))["channel"] == "kab:16.08"
        with field_socket(server.ws_url, device) as ws:
            send(ws, incident(mini.tps_codes[0], severity=4))
        delta = _next_delta(live)
    assert delta["incidents"][0]["severity"] == 4
    assert delta["incidents"][0]["tps"] == mini.tps_codes[0]
    assert delta["log"][0]["kind"] == "incident"


def test_snapshot_seq_and_deltas_line_up(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry
) -> None:
    with _live(server, viewer) as live:
        orjson.loads(live.recv(timeout=10))
        with field_socket(server.ws_url, device) as ws:
            send(ws, ping(mini.tps_codes[0]))
        delta = _next_delta(live)
        snap = httpx.get(
            server.url + "/api/v1/snapshot", headers={"authorization": f"Bearer {viewer}"}
        ).json()
    assert snap["seq"] == delta["seq"]
    assert len(snap["tps"]) == 12
    row = next(t for t in snap["tps"] if t["code"] == mini.tps_codes[0])
    assert row["version"] == delta["tps"][0]["version"]


def test_device_token_cannot_subscribe_and_area_outside_scope_is_refused(
    server: LiveServer, device: str, engine, mini: MiniRegistry
) -> None:
    from tests.factories import person_token

    with _live(server, device) as live:
        assert orjson.loads(live.recv(timeout=10))["type"] == "error"
    polres = person_token(engine, area="16.08")
    with _live(server, polres, area="16.07") as live:
        msg = orjson.loads(live.recv(timeout=10))
    assert msg["type"] == "error" and msg["error"]["field"] == "area"


async def test_slow_subscriber_is_told_to_resync_and_never_blocks_publishing() -> None:
    hub = LiveHub(MemoryBroadcaster(), queue_max=5)
    await hub.start()
    slow = await hub.subscribe("nat")
    fast = await hub.subscribe("nat")
    for i in range(20):
        await hub.broadcaster.publish("nat", {"type": "delta", "i": i})
        while not fast.queue.empty():
            fast.queue.get_nowait()
    items = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
    assert RESYNC in items
    assert slow.queue.qsize() == 0 and len(items) <= 5
    assert hub.broadcaster.current_seq("nat") == 20
    await asyncio.sleep(0)


@pytest.mark.parametrize("path", ["/api/v1/tps", "/api/v1/officers", "/api/v1/summary"])
def test_read_api_needs_a_reading_credential(
    server: LiveServer, device: str, viewer: str, path: str
) -> None:
    assert httpx.get(server.url + path).status_code == 401
    assert (
        httpx.get(server.url + path, headers={"authorization": f"Bearer {device}"}).status_code
        == 403
    )
    assert (
        httpx.get(server.url + path, headers={"authorization": f"Bearer {viewer}"}).status_code
        == 200
    )


def test_read_api_shows_state_officers_timeline_and_summary(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]
    with field_socket(server.ws_url, device) as ws:
        send(ws, ping(code, "persiapan", minutes=-30))
        send(ws, ping(code, "pemungutan", "waspada"))
        send(ws, incident(code))
    h = {"authorization": f"Bearer {viewer}"}
    tps = httpx.get(server.url + "/api/v1/tps", headers=h, params={"phase": "pemungutan"}).json()
    assert [t["code"] for t in tps["data"]] == [code]
    assert tps["data"][0]["last_officer"] == mini.officer_nrps[0]
    assert tps["data"][0]["desa"] == "Dusun Martapura"
    timeline = httpx.get(server.url + f"/api/v1/tps/{code}", headers=h).json()
    kinds = [e["kind"] for e in timeline["events"]]
    assert sorted(kinds) == ["incident", "ping", "ping"]
    assert timeline["events"][-1]["phase"] == "persiapan"  # oldest device time last
    officers = httpx.get(server.url + "/api/v1/officers", headers=h).json()
    first = next(o for o in officers["data"] if o["nrp"] == mini.officer_nrps[0])
    assert first["tps"] == mini.tps_codes[:3] and first["last_seen_at"] is not None
    summary = httpx.get(server.url + "/api/v1/summary", headers=h).json()
    martapura = next(k for k in summary["data"] if k["kecamatan_code"] == "16.08.01")
    assert martapura["phases"] == {"pemungutan": 1, "belum": 5}
    assert summary["total"] == 12
    opened = httpx.get(server.url + "/api/v1/incidents/open", headers=h).json()
    assert opened["count"] == 1
    health = httpx.get(server.url + "/healthz").json()
    assert health["status"] == "ok" and health["tps_registered"] == 12
    metrics = httpx.get(server.url + "/metrics").text
    assert 'posko_acks_total{result="stored"}' in metrics


def test_timeline_log_and_boundaries(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]
    with field_socket(server.ws_url, device) as ws:
        send(ws, ping(code, "persiapan", minutes=-60))
        send(ws, ping(code, "pemungutan", "waspada", minutes=0))
    h = {"authorization": f"Bearer {viewer}"}
    params = {"start": "2024-11-26T23:00:00+00:00", "end": "2024-11-27T03:00:00+00:00"}
    tl = httpx.get(server.url + "/api/v1/timeline", headers=h, params=params).json()
    assert tl["bins"] == 48 and len(tl["rows"]) == 12
    row = next(r for r in tl["rows"] if r["code"] == code)
    # Bin k shows the state at its end (23:00 + 5 min x (k + 1)): a change at 00:00 first
    # shows in bin 12, which ends at 00:05; the one at 01:00 in bin 24.
    assert row["phase"] == [[0, None], [12, "persiapan"], [24, "pemungutan"]]
    assert row["situation"] == [[0, None], [12, "aman"], [24, "waspada"]]
    log = httpx.get(server.url + "/api/v1/log", headers=h).json()
    assert [e["after"] for e in log[:2]] in (["pemungutan", "waspada"], ["waspada", "pemungutan"])
    geo = httpx.get(server.url + "/api/v1/geo/kecamatan", headers=h)
    assert geo.status_code == 200 and len(geo.json()["features"]) == 20  # the shipped files
    assert httpx.get(server.url + "/api/v1/geo/kecamatan").status_code == 401


def test_token_link_sets_cookie_that_opens_the_read_api(
    server: LiveServer, viewer: str, device: str
) -> None:
    with httpx.Client(base_url=server.url) as c:
        r = c.get("/login", params={"token": viewer, "next": "https://evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert "httponly" in r.headers["set-cookie"].lower()
        assert c.get("/api/v1/summary").status_code == 200
    assert httpx.get(server.url + "/login", params={"token": device}).status_code == 403
    assert httpx.get(server.url + "/login", params={"token": "nope"}).status_code == 401
