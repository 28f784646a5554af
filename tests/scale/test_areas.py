"""Each command sees its own: a Polres credential reads and subscribes inside its kabupaten only."""

from collections.abc import Iterator

import httpx
import orjson
import pytest
from sqlalchemy import Engine
from websockets.sync.client import connect

from backend.areas import AreaError, contains, narrow
from backend.config import Settings
from schemas.enums import Role
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import field_socket, incident, ping, send
from tests.scale.conftest import Banyuasin, add_banyuasin


@pytest.fixture
def banyuasin(engine: Engine, mini: MiniRegistry) -> Banyuasin:
    """OKU Timur (16.08, the mini registry) and Banyuasin (16.07) side by side."""
    return add_banyuasin(engine)


@pytest.fixture
def two_kab_server(settings: Settings, banyuasin: Banyuasin) -> Iterator[LiveServer]:
    """A server on both kabupaten."""
    srv = start_server(settings)
    yield srv
    srv.stop()


def _get(server: LiveServer, token: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(
        server.url + path, params=params, headers={"authorization": f"Bearer {token}"}, timeout=10
    )


def _live_first(server: LiveServer, token: str, area: str | None = None) -> dict:
    query = f"token={token}" + (f"&area={area}" if area else "")
    with connect(f"{server.ws_url}/ws/live?{query}", open_timeout=10) as ws:
        return orjson.loads(ws.recv(timeout=10))


def test_area_containment_is_by_whole_code_segments() -> None:
    assert contains(None, "16.08") and contains("16", "16.08") and contains("16.08", "16.08")
    assert not contains("16", "17.01") and not contains("16.1", "16.10")
    assert narrow("16", "16.08") == "16.08" and narrow("16.08", None) == "16.08"
    with pytest.raises(AreaError) as outside:
        narrow("16.08", "16.07")
    assert outside.value.status == 403
    with pytest.raises(AreaError) as malformed:
        narrow(None, "16.08.01")
    assert malformed.value.status == 422
    with pytest.raises(AreaError):
        narrow("1", "16")  # a prefix is not an area: "1" must not cover "16"


def test_polres_token_reads_only_its_kabupaten(
    two_kab_server: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    polres = person_token(engine, Role.COMMANDER, area="16.08")
    srv = two_kab_server
    tps = _get(srv, polres, "/api/v1/tps").json()
    assert {t["code"] for t in tps["data"]} == set(mini.tps_codes)
    # Another kabupaten's TPS by code: as if it did not exist.
    assert _get(srv, polres, f"/api/v1/tps/{banyuasin.tps_codes[0]}").status_code == 404
    assert _get(srv, polres, f"/api/v1/tps/{mini.tps_codes[0]}").status_code == 200
    for path in ("/api/v1/tps", "/api/v1/summary", "/api/v1/snapshot", "/api/v1/timeline"):
        assert _get(srv, polres, path, area="16.07").status_code == 403, path
        assert _get(srv, polres, path, area="16").status_code == 403, path  # widening
        assert _get(srv, polres, path, area="16.08").status_code == 200, path
    assert _get(srv, polres, "/api/v1/tps", area="16.0").status_code == 422
    snap = _get(srv, polres, "/api/v1/snapshot").json()
    assert snap["channel"] == "kab:16.08"
    assert {t["code"] for t in snap["tps"]} == set(mini.tps_codes)
    assert {
        k["kecamatan_code"][:5] for k in _get(srv, polres, "/api/v1/summary").json()["data"]
    } == {"16.08"}
    timeline = _get(srv, polres, "/api/v1/timeline").json()
    assert {r["code"] for r in timeline["rows"]} == set(mini.tps_codes)
    officers = _get(srv, polres, "/api/v1/officers").json()["data"]
    assert officers and all(o["nrp"] != "90010001" for o in officers)
    # The Polda (province 16) sees both and may narrow to either.
    polda = person_token(engine, Role.VIEWER, area="16")
    assert _get(srv, polda, f"/api/v1/tps/{banyuasin.tps_codes[0]}").status_code == 200
    assert _get(srv, polda, "/api/v1/tps", area="16.07").json()["count"] == 3
    assert _get(srv, polda, "/api/v1/tps").json()["count"] == 15


def test_events_log_and_incidents_stay_inside_the_area(
    two_kab_server: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    srv = two_kab_server
    with field_socket(srv.ws_url, device_token(engine, banyuasin.officer_id)) as ws:
        assert (
            send(ws, ping(banyuasin.tps_codes[0], "pemungutan", "gangguan"))["result"] == "stored"
        )
        assert send(ws, incident(banyuasin.tps_codes[0]))["result"] == "stored"
    polres = person_token(engine, Role.COMMANDER, area="16.08")
    assert _get(srv, polres, "/api/v1/log").json() == []
    assert _get(srv, polres, "/api/v1/incidents").json()["count"] == 0
    assert _get(srv, polres, "/api/v1/incidents/open").json()["count"] == 0
    national = person_token(engine, Role.VIEWER)
    assert {e["tps"] for e in _get(srv, national, "/api/v1/log").json()} == {banyuasin.tps_codes[0]}
    assert _get(srv, national, "/api/v1/incidents").json()["count"] == 1


def test_a_phone_cannot_report_another_kabupatens_tps_it_is_not_assigned_to(
    two_kab_server: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    with field_socket(two_kab_server.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
        ack = send(ws, ping(banyuasin.tps_codes[0], "pemungutan", "gangguan"))
        # Inside its own kabupaten an unassigned TPS is only flagged, as before.
        own = send(ws, ping(mini.tps_codes[-1], "pemungutan", "aman"))
    assert ack["result"] == "rejected" and ack["error"]["field"] == "tps"
    assert own["result"] == "stored" and own["flags"] == ["unassigned"]


def test_polres_wall_cannot_subscribe_outside_and_gets_only_its_deltas(
    two_kab_server: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    srv = two_kab_server
    polres = person_token(engine, Role.VIEWER, area="16.08")
    for area in ("16.07", "16", "16.08.01", "1"):
        frame = _live_first(srv, polres, area)
        assert frame["type"] == "error" and frame["error"]["field"] == "area", area
    assert _live_first(srv, polres)["channel"] == "kab:16.08"
    with connect(f"{srv.ws_url}/ws/live?token={polres}", open_timeout=10) as live:
        assert orjson.loads(live.recv(timeout=10))["type"] == "hello"
        with field_socket(srv.ws_url, device_token(engine, banyuasin.officer_id)) as ws:
            send(ws, ping(banyuasin.tps_codes[1], "pemungutan", "waspada"))
        with field_socket(srv.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
            send(ws, ping(mini.tps_codes[0], "pemungutan", "aman"))
        while (frame := orjson.loads(live.recv(timeout=10)))["type"] != "delta":
            pass
    # The first delta this wall sees is its own kabupaten's; Banyuasin's never came.
    assert [t["code"] for t in frame["tps"]] == [mini.tps_codes[0]]
    assert frame["channel"] == "kab:16.08"


def test_a_credential_with_a_malformed_area_sees_nothing(
    two_kab_server: LiveServer, engine: Engine
) -> None:
    odd = person_token(engine, Role.VIEWER, area="1")
    assert _get(two_kab_server, odd, "/api/v1/tps").status_code == 403
    assert _get(two_kab_server, odd, "/api/v1/incidents").status_code == 403
    assert _live_first(two_kab_server, odd)["type"] == "error"
