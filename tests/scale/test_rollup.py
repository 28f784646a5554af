"""tps_rollup: kept in the writer's transaction, checked by a leased job, read by /rollup."""

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from backend.config import Settings
from backend.tps.rollup import check
from schemas.enums import Role
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import field_socket, incident, ping, send
from tests.scale.conftest import Banyuasin, add_banyuasin


@pytest.fixture
def banyuasin(engine: Engine, mini: MiniRegistry) -> Banyuasin:
    """A second kabupaten next to the mini OKU Timur."""
    return add_banyuasin(engine)


@pytest.fixture
def srv(settings: Settings, banyuasin: Banyuasin) -> Iterator[LiveServer]:
    """A server on both kabupaten."""
    server = start_server(settings)
    yield server
    server.stop()


def _rollup(srv: LiveServer, token: str, **params: str) -> httpx.Response:
    return httpx.get(
        srv.url + "/api/v1/rollup",
        params=params,
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    )


def _counted(engine: Engine) -> dict[tuple[str, str, str], int]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT kecamatan_code, phase, situation, n FROM tps_rollup WHERE n <> 0")
        ).all()
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def _recounted(engine: Engine) -> dict[tuple[str, str, str], int]:
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT t.kecamatan_code, COALESCE(s.phase, ''), COALESCE(s.situation, ''), "
                "count(*) FROM tps t JOIN tps_state s ON s.tps_id = t.id GROUP BY 1, 2, 3"
            )
        ).all()
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def test_the_writer_keeps_the_rollup_equal_to_the_states(
    srv: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    with field_socket(srv.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
        send(ws, ping(mini.tps_codes[0], "persiapan", "aman", minutes=0))
        send(ws, ping(mini.tps_codes[0], "pemungutan", "waspada", minutes=5))
        send(ws, [ping(mini.tps_codes[1], "pemungutan", "aman"), ping(mini.tps_codes[2])])
        # A late ping changes nothing (never rolled back), so the counts do not move either.
        send(ws, ping(mini.tps_codes[0], "persiapan", "aman", minutes=-30))
    with field_socket(srv.ws_url, device_token(engine, banyuasin.officer_id)) as ws:
        send(ws, ping(banyuasin.tps_codes[0], "pemungutan", "gangguan"))
    assert _counted(engine) == _recounted(engine)
    assert _counted(engine)[("16.08.01", "pemungutan", "waspada")] == 1
    assert check(engine) == 0


def test_the_check_repairs_a_rollup_that_drifted(engine: Engine, mini: MiniRegistry) -> None:
    with engine.begin() as c:
        c.execute(text("UPDATE tps_rollup SET n = n + 5 WHERE kecamatan_code = '16.08.01'"))
        c.execute(text("DELETE FROM tps_rollup WHERE kecamatan_code = '16.08.03'"))
    assert check(engine) == 5 + 6
    assert _counted(engine) == _recounted(engine)
    assert check(engine) == 0


def test_summary_counts_come_from_the_rollup(
    srv: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    with field_socket(srv.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
        send(ws, ping(mini.tps_codes[0], "pemungutan", "gangguan"))
    viewer = person_token(engine, Role.VIEWER, area="16.08")
    body = httpx.get(
        srv.url + "/api/v1/summary", headers={"authorization": f"Bearer {viewer}"}
    ).json()
    martapura = next(k for k in body["data"] if k["kecamatan_code"] == "16.08.01")
    assert martapura["kecamatan"] == "Martapura" and martapura["total"] == 6
    assert martapura["phases"] == {"pemungutan": 1, "belum": 5}
    assert martapura["situations"] == {"gangguan": 1, "belum": 5}
    assert body["total"] == 12


def test_rollup_drills_down_problems_first_inside_the_callers_area(
    srv: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    with field_socket(srv.ws_url, device_token(engine, banyuasin.officer_id)) as ws:
        send(ws, ping(banyuasin.tps_codes[0], "pemungutan", "gangguan"))
    with field_socket(srv.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
        send(ws, ping(mini.tps_codes[0], "pemungutan", "waspada"))
        send(ws, incident(mini.tps_codes[0]))
        send(ws, incident(mini.tps_codes[1], category="politik_uang"))
    national = person_token(engine, Role.VIEWER)
    provinces = _rollup(srv, national).json()
    assert provinces["level"] == "province" and provinces["area"] is None
    assert provinces["total"] == 15
    assert [(p["code"], p["name"], p["total"]) for p in provinces["data"]] == [
        ("16", "Sumatera Selatan", 15)
    ]
    kabupaten = _rollup(srv, national, level="kabupaten", area="16").json()
    # Banyuasin's one gangguan outranks OKU Timur's two open incidents and a waspada.
    assert [k["code"] for k in kabupaten["data"]] == ["16.07", "16.08"]
    oku = kabupaten["data"][1]
    assert oku["open_incidents"] == 2 and oku["situations"] == {"waspada": 1, "belum": 11}
    kecamatan = _rollup(srv, national, level="kecamatan", area="16.08").json()
    assert [k["code"] for k in kecamatan["data"]] == ["16.08.01", "16.08.03"]
    assert kecamatan["data"][0]["open_incidents"] == 2
    # A Polres sees its own kabupaten and below, never a province's or a neighbour's counts.
    polres = person_token(engine, Role.VIEWER, area="16.08")
    assert _rollup(srv, polres).status_code == 403
    assert _rollup(srv, polres, level="kabupaten", area="16.07").status_code == 403
    own = _rollup(srv, polres, level="kabupaten").json()
    assert [k["code"] for k in own["data"]] == ["16.08"]
    assert _rollup(srv, polres, level="kecamatan").json()["total"] == 12
    # A national caller asking for provinces inside a kabupaten asked for nonsense.
    assert _rollup(srv, national, area="16.08").status_code == 422
