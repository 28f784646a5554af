"""The custody read API and the PPK places: counts, boxes on the road, timeline, area cuts."""

from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine

from schemas.enums import Role
from tests.conftest import LiveServer
from tests.custody.builders import custody
from tests.factories import MiniRegistry, person_token
from tests.helpers import count, field_socket, send


def _get(server: LiveServer, path: str, token: str) -> httpx.Response:
    return httpx.get(server.url + path, headers={"authorization": f"Bearer {token}"}, timeout=10)


def _send_all(server: LiveServer, device: str, events: list[dict[str, object]]) -> None:
    with field_socket(server.ws_url, device) as ws:
        for e in events:
            assert send(ws, e)["result"] == "stored"


def test_custody_counts_boxes_on_the_road_and_timeline(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry
) -> None:
    a, b, c = mini.tps_codes[:3]  # kecamatan 16.08.01, assigned to the device's officer
    _send_all(
        server,
        device,
        [
            custody(a, "segel"),
            custody(b, "segel"),
            custody(b, "berangkat", minutes=10, lat=-4.29, lon=104.35),
            custody(c, "segel"),
            custody(c, "berangkat", minutes=5),
            custody(c, "tiba", minutes=30),
            custody(c, "serah_terima", minutes=35),
        ],
    )
    body = _get(server, "/api/v1/custody", viewer).json()
    kec = {k["kecamatan_code"]: k for k in body["kecamatan"]}
    assert kec["16.08.01"] == {
        "kecamatan_code": "16.08.01",
        "name": "Martapura",
        "tps": 6,
        "sealed": 1,
        "on_road": 1,
        "arrived": 0,
        "received": 1,
    }
    assert kec["16.08.03"]["sealed"] == 0 and kec["16.08.03"]["tps"] == 6
    assert (body["sealed"], body["on_road_total"], body["received"]) == (1, 1, 1)
    (box,) = body["on_road"]
    assert box["tps"] == b
    assert (box["lat"], box["lon"]) == (-4.29, 104.35)  # where the departure was reported
    assert box["expected_at"] > box["departed_at"]
    assert box["vehicle"] == "BG 1234 XY"

    tl = _get(server, f"/api/v1/tps/{c}/custody", viewer).json()
    assert [s["step"] for s in tl["steps"]] == ["segel", "berangkat", "tiba", "serah_terima"]
    assert tl["steps"][0]["seal_numbers"] == ["SGL-0001", "SGL-0002"]
    assert tl["steps"][0]["officer_nrp"] == mini.officer_nrps[0]
    assert tl["steps"][3]["receiver_name"] == "Hj. Siti Aminah"
    assert tl["ppk"]["is_default"] is True and tl["ppk"]["name"] == "PPK Kecamatan Martapura"


def test_custody_reads_are_cut_to_the_callers_area(
    server: LiveServer, device: str, engine: Engine, mini: MiniRegistry
) -> None:
    code = mini.tps_codes[0]
    _send_all(server, device, [custody(code, "segel")])
    elsewhere = person_token(engine, area="16.07")
    body = _get(server, "/api/v1/custody", elsewhere).json()
    assert body["kecamatan"] == [] and body["sealed"] == 0
    assert _get(server, f"/api/v1/tps/{code}/custody", elsewhere).status_code == 404
    r = _get(server, "/api/v1/custody?area=16.08", elsewhere)
    assert r.status_code == 403 and r.json()["detail"]["field"] == "area"
    assert _get(server, "/api/v1/custody?area=16%25", elsewhere).status_code == 422
    assert _get(server, "/api/v1/ppk", elsewhere).json() == []


def test_an_admin_sets_a_ppk_place_audited_inside_their_area(
    server: LiveServer, device: str, viewer: str, engine: Engine, mini: MiniRegistry
) -> None:
    admin = person_token(engine, Role.ADMIN, area="16.08")
    place = {"name": "Kantor Camat Martapura", "lat": -4.31, "lon": 104.36}
    url = server.url + "/api/v1/ppk/16.08.01"
    r = httpx.put(url, json=place, headers={"authorization": f"Bearer {viewer}"}, timeout=10)
    assert r.status_code == 403
    # The sweeper may audit alerts meanwhile: count what people did.
    people = "actor != 'system'"
    audits = count(engine, "audit_entry", people)
    r = httpx.put(url, json=place, headers={"authorization": f"Bearer {admin}"}, timeout=10)
    assert r.status_code == 200
    assert r.json()["is_default"] is False and r.json()["name"] == "Kantor Camat Martapura"
    assert count(engine, "audit_entry", "action = 'ppk.place'") == 1
    assert count(engine, "audit_entry", people) == audits + 1
    places = {p["kecamatan_code"]: p for p in _get(server, "/api/v1/ppk", viewer).json()}
    assert places["16.08.01"]["lat"] == -4.31 and places["16.08.03"]["is_default"] is True
    outsider = person_token(engine, Role.ADMIN, area="16.07")
    r = httpx.put(url, json=place, headers={"authorization": f"Bearer {outsider}"}, timeout=10)
    assert r.status_code == 404
    bad = httpx.put(
        url, json={**place, "lat": 91}, headers={"authorization": f"Bearer {admin}"}, timeout=10
    )
    assert bad.status_code == 422
    # The expected arrival follows the new place.
    _send_all(server, device, [custody(mini.tps_codes[0], "berangkat")])
    tl = _get(server, f"/api/v1/tps/{mini.tps_codes[0]}/custody", viewer).json()
    assert tl["ppk"]["name"] == "Kantor Camat Martapura"
    assert tl["expected_at"] is not None
    travel = datetime.fromisoformat(tl["expected_at"]) - datetime.fromisoformat(
        tl["steps"][0]["device_time"]
    )
    assert timedelta(0) < travel < timedelta(hours=1)
