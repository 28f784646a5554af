"""The national page's reads and helpers: problems first, sums, area narrowing, map limit."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from backend.config import Settings
from backend.overview import problem_key
from backend.runtime import Runtime
from backend.tps.rollup import add_rows
from dashboard.components.national import map_href, national_href
from dashboard.data import read_national, too_many_to_map
from schemas.enums import Role
from schemas.rollup import AreaCount
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import field_socket, incident, ping, send
from tests.scale.conftest import Banyuasin, add_banyuasin


def row(code: str, total: int = 100, **kw: Any) -> AreaCount:
    """A row with `gangguan=`, `waspada=`, `ditunda=` given as counts."""
    situations = {k: kw.pop(k) for k in ("gangguan", "waspada") if k in kw}
    phases = {"ditunda": kw.pop("ditunda")} if "ditunda" in kw else {}
    return AreaCount(code=code, name=code, total=total, phases=phases, situations=situations, **kw)


def problems_first(rows: list[AreaCount]) -> list[AreaCount]:
    """Rows in the order /api/v1/rollup and /nasional show them."""
    return sorted(rows, key=problem_key)


def test_problems_come_first_in_the_documented_order() -> None:
    rows = [
        row("11"),
        row("12", ditunda=9),
        row("13", waspada=9),
        row("14", incidents={1: 9}),
        row("15", behind=9),
        row("16", incidents={3: 1}),
        row("17", not_seen=1),
        row("18", gangguan=1),
        row("19", gangguan=2),
    ]
    order = [r.code for r in problems_first(list(reversed(rows)))]
    assert order == ["19", "18", "17", "16", "15", "14", "13", "12", "11"]
    # Counts, not shares: a big province with more trouble outranks a small one.
    big = row("32", total=140_000, gangguan=40)
    small = row("75", total=3_776, gangguan=3)
    assert [r.code for r in problems_first([small, big])] == ["32", "75"]


def test_rows_add_up_to_the_area_total() -> None:
    a = AreaCount(
        code="16.07",
        name="a",
        total=10,
        phases={"pemungutan": 7, "belum": 3},
        situations={"aman": 7},
        not_seen=1,
        behind=2,
        incidents={4: 1},
    )
    b = AreaCount(
        code="16.08",
        name="b",
        total=5,
        phases={"pemungutan": 5},
        situations={"gangguan": 5},
        behind=1,
        incidents={4: 2, 1: 1},
    )
    total = add_rows("16", "Sumatera Selatan", [a, b])
    assert (total.total, total.phases, total.situations) == (
        15,
        {"pemungutan": 12, "belum": 3},
        {"aman": 7, "gangguan": 5},
    )
    assert (total.not_seen, total.behind, total.incidents) == (1, 3, {4: 3, 1: 1})
    assert total.open_incidents == 4 and total.severe_incidents == 3


def test_links_keep_the_language_and_name_the_area() -> None:
    assert national_href(None, "id") == "/nasional"
    assert national_href("16", "en") == "/nasional?area=16&lang=en"
    assert map_href("16.08", "id") == "/?area=16.08"


@pytest.fixture
def banyuasin(engine: Engine, mini: MiniRegistry) -> Banyuasin:
    """A second kabupaten of province 16 next to the mini OKU Timur."""
    return add_banyuasin(engine)


@pytest.fixture
def srv(settings: Settings, banyuasin: Banyuasin) -> Iterator[LiveServer]:
    """A server on both kabupaten."""
    server = start_server(settings)
    yield server
    server.stop()


def _runtime(srv: LiveServer) -> Runtime:
    rt: Runtime = srv.server.config.app.state.runtime  # the running server's own parts
    return rt


def _settled(rt: Runtime, wanted: str, since: Any) -> Any:
    """The page's numbers once a sweep after `since` has landed its alerts and 1 s passed still."""
    last, still = read_national(rt, scope=None, wanted=wanted), 0
    for _ in range(60):
        time.sleep(0.25)
        now = read_national(rt, scope=None, wanted=wanted)
        swept = rt.sweeper is None or rt.sweeper.last_sweep_at != since
        still = still + 1 if now.digest() == last.digest() and swept else 0
        if still >= 4:
            return now
        last = now
    return last


def test_read_national_counts_narrows_and_refuses_from_the_rollup(
    srv: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    rt = _runtime(srv)
    nation = read_national(rt, scope=None, wanted=None)
    assert (nation.level, [r.code for r in nation.rows], nation.total.total) == (
        "province",
        ["16"],
        12 + 3,
    )
    assert nation.crumbs[0] == (None, "")
    # A disturbance and a severe incident put OKU Timur (16.08) above Banyuasin (16.07) with a
    # waspada, although its code comes later.
    since = rt.sweeper.last_sweep_at if rt.sweeper else None
    with field_socket(srv.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
        sent = [
            send(ws, ping(mini.tps_codes[0], "pemungutan", "gangguan")),
            send(ws, incident(mini.tps_codes[1], severity=4)),
        ]
    with field_socket(srv.ws_url, device_token(engine, banyuasin.officer_id)) as ws:
        sent.append(send(ws, ping(banyuasin.tps_codes[0], "pemungutan", "waspada")))
    assert [a["result"] for a in sent] == ["stored"] * 3
    province = _settled(rt, "16", since)
    assert province.level == "kabupaten"
    assert [r.code for r in province.rows] == ["16.08", "16.07"]
    first = province.rows[0]
    assert (first.gangguan, first.incidents, first.total) == (1, {4: 1}, 12)
    assert province.rows[1].waspada == 1
    # The API's rollup is the same rows in the same order: one source, one "problems first".
    api = httpx.get(
        srv.url + "/api/v1/rollup",
        params={"level": "kabupaten", "area": "16"},
        headers={"authorization": f"Bearer {person_token(engine, Role.VIEWER)}"},
    ).json()
    assert api["data"] == [r.model_dump(mode="json") for r in province.rows]
    assert api["data"][0]["open_incidents"] == 1 and api["data"][0]["incidents"] == {"4": 1}
    before = province.digest()
    # A Polres credential: its kecamatan; another kabupaten asked for is refused, not shown.
    own = read_national(rt, scope="16.08", wanted="16.07")
    assert (own.area, own.refused, own.level) == ("16.08", "16.07", "kecamatan")
    assert {r.code[:5] for r in own.rows} == {"16.08"}
    assert [c for c, _ in own.crumbs] == ["16.08"]  # nothing above its own area
    assert sum(r.total for r in own.rows) == 12
    # The fingerprint moves with the numbers only.
    assert read_national(rt, scope=None, wanted="16").digest() == before
    with field_socket(srv.ws_url, device_token(engine, mini.officer_ids[0])) as ws:
        send(ws, ping(mini.tps_codes[2], "pemungutan", "aman"))
    assert read_national(rt, scope=None, wanted="16").digest() != before


def test_the_map_limit_counts_tps_from_the_index(srv: LiveServer) -> None:
    rt = _runtime(srv)
    assert (rt.index.count_in_area(None), rt.index.count_in_area("16")) == (15, 15)
    assert (rt.index.count_in_area("16.07"), rt.index.count_in_area("17")) == (3, 0)
    assert not too_many_to_map(rt, None)  # default limit 20,000
    rt.settings.map_max_tps = 12
    try:
        assert too_many_to_map(rt, "16") and not too_many_to_map(rt, "16.08")
    finally:
        rt.settings.map_max_tps = 20_000


def test_log_officers_and_incidents_narrow_inside_the_credentials_area_only(
    srv: LiveServer, engine: Engine, mini: MiniRegistry, banyuasin: Banyuasin
) -> None:
    with field_socket(srv.ws_url, device_token(engine, banyuasin.officer_id)) as ws:
        assert send(ws, ping(banyuasin.tps_codes[0], "pemungutan", "waspada"))["result"] == "stored"
        assert send(ws, incident(banyuasin.tps_codes[1], severity=2))["result"] == "stored"

    def get(path: str, token: str, area: str) -> httpx.Response:
        return httpx.get(
            srv.url + path, params={"area": area}, headers={"authorization": f"Bearer {token}"}
        )

    national = person_token(engine, Role.VIEWER)
    officers = get("/api/v1/officers", national, "16.07").json()["data"]
    assert [o["nrp"] for o in officers] == ["90010001"]
    log = get("/api/v1/log", national, "16.07").json()
    assert log and {e["tps"] for e in log} == set(banyuasin.tps_codes[:2])
    assert get("/api/v1/log", national, "16.08").json() == []
    incidents = get("/api/v1/incidents", national, "16.07").json()["data"]
    assert [i["tps"] for i in incidents] == [banyuasin.tps_codes[1]]
    assert get("/api/v1/incidents", national, "16.08").json()["data"] == []
    polres = person_token(engine, Role.VIEWER, area="16.08")
    assert get("/api/v1/officers", polres, "16.07").status_code == 403
    assert get("/api/v1/log", polres, "16").status_code == 403
    assert get("/api/v1/incidents", polres, "16.07").status_code == 403
