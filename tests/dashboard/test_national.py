"""/nasional in a real Chromium on three provinces of the national registry, fed by real pings.

Gorontalo (75), Sulawesi Barat (76) and Kalimantan Utara (65): 9,597 TPS, written in seconds.
The map limit is set to 3,000 TPS so that a province is "too big to map" here as the nation is
in production, while one kabupaten still opens the live map.
"""

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from dashboard import ids
from tests.conftest import LiveServer, start_server
from tests.dashboard.scenario import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SeededProvinces,
    has_chromium,
    make_settings,
    seed_provinces,
)
from tests.helpers import field_socket, ping

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not has_chromium(),
        reason="needs Debian chromium at /usr/bin/chromium (apt install chromium)",
    ),
]

WIB = ZoneInfo("Asia/Jakarta")
PROVINCES = ("65", "75", "76")
MAP_MAX_TPS = 3000
CLOCK_START = datetime(2024, 11, 27, 9, 0, tzinfo=WIB)
TABLE = ids.NAT_TABLE
ROWS = f"() => [...document.querySelectorAll('#{TABLE} tbody tr')].map(r => r.dataset.code)"
CELL = (
    "([code, cls]) => { const r = document.querySelector("
    f"'#{TABLE} tbody tr[data-code=\"' + code + '\"]');"
    " return r ? r.querySelector('td.' + cls).textContent : null; }"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SeededProvinces, LiveServer]]:
    """Three provinces behind a running server with an election-day clock."""
    settings = make_settings(
        tmp_path_factory.mktemp("national") / "posko.db",
        clock_start=CLOCK_START,
        map_max_tps=MAP_MAX_TPS,
    )
    seeded = seed_provinces(settings, PROVINCES)
    server = start_server(settings)
    yield seeded, server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser: Any, server: LiveServer, token: str, path: str) -> Any:
    """Sign in with a token link and land on `path`; console errors are collected."""
    page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{server.url}/login?token={token}&next={path}")
    return page


def _rows(page: Any, n: int | None = None) -> list[str]:
    page.wait_for_function(
        f"() => ({ROWS})().length > 0" if n is None else f"() => ({ROWS})().length === {n}",
        timeout=15_000,
    )
    rows: list[str] = page.evaluate(ROWS)
    return rows


def _send(seeded: SeededProvinces, server: LiveServer, code: str, situation: str) -> None:
    now = datetime.fromisoformat(httpx.get(server.url + "/api/v1/clock").json()["now"])
    with field_socket(server.ws_url, seeded.device_for(code)) as ws:
        ws.send(orjson.dumps(ping(code, "pemungutan", situation, at=now)).decode())
        assert orjson.loads(ws.recv(timeout=10))["result"] == "stored"


@pytest.fixture(scope="module")
def national(browser: Any, env: tuple[SeededProvinces, LiveServer]) -> Any:
    """/nasional as the national commander."""
    seeded, server = env
    return _open(browser, server, seeded.commander, "/nasional")


def test_nat001_national_page_lists_the_provinces_without_tps_data(national: Any) -> None:
    assert sorted(_rows(national, 3)) == sorted(PROVINCES)
    text = national.inner_text(f"#{ids.NAT_TABLE}")
    assert "Gorontalo" in text and "Sulawesi Barat" in text
    assert national.inner_text(f"#{ids.NAT_CRUMBS}").strip() == "Nasional"
    total = national.inner_text("#nat-sum-total")
    assert total.replace(".", "") == "9597"
    # The exercise clock is said on this screen as on the others.
    assert national.inner_text(f"#{ids.NAT_UPDATED}").startswith("LATIHAN 27-11 09:00")
    assert national.errors == []


def test_nat002_a_gangguan_ping_moves_its_province_to_the_top_within_seconds(
    national: Any, env: tuple[SeededProvinces, LiveServer]
) -> None:
    seeded, server = env
    rows = _rows(national, 3)
    # The last province of the list (no disturbance anywhere yet) gets one.
    assert [national.evaluate(CELL, [p, "gangguan"]) for p in rows] == ["0", "0", "0"]
    target = rows[-1]
    kab = sorted(k for k in seeded.tps if k.startswith(target + "."))[-1]
    _send(seeded, server, seeded.tps[kab][0], "gangguan")
    national.wait_for_function(
        f"() => ({ROWS})()[0] === '{target}'",
        timeout=10_000,  # refresh every 3 s, slack
    )
    assert national.evaluate(CELL, [target, "gangguan"]) == "1"
    assert national.inner_text("#nat-sum-gangguan") == "1"


def test_nat003_drill_down_to_a_kabupaten_and_into_its_live_map(
    national: Any, env: tuple[SeededProvinces, LiveServer]
) -> None:
    seeded, server = env
    province = _rows(national)[0]
    # Anywhere on the row drills down, not only its name.
    box = national.locator(f'#{ids.NAT_TABLE} tr[data-code="{province}"] td.waspada').bounding_box()
    assert box is not None
    national.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    kabs = sorted(k for k in seeded.tps if k.startswith(province + "."))
    national.wait_for_function(f"() => (({ROWS})()[0] || '').length === 5", timeout=10_000)
    rows = _rows(national, len(kabs))
    assert sorted(rows) == kabs
    assert national.evaluate(CELL, [rows[0], "gangguan"]) == "1"  # the troubled one first
    crumbs = national.inner_text(f"#{ids.NAT_CRUMBS}")
    assert crumbs.startswith("Nasional") and "Sulawesi Barat" in crumbs
    kab = rows[0]
    national.click(f'#{ids.NAT_TABLE} tr[data-code="{kab}"] a.drill')
    national.wait_for_function(f"() => (({ROWS})()[0] || '').length === 8", timeout=10_000)
    kecs = _rows(national)
    assert all(k.startswith(kab + ".") for k in kecs)
    assert "?area=" + kab in national.url
    # The live map of that kabupaten: only its TPS, drawn by the commander's view.
    national.click(f"#{ids.NAT_CRUMBS} a.button")
    national.wait_for_url(re.compile(r"/\?area=" + re.escape(kab)), timeout=10_000)
    national.wait_for_function(
        """(id) => { const g = document.querySelector('#' + id + ' .js-plotly-plot');
          return !!(g && g._fullData && g._fullData[0] && g._fullData[0].ids
            && g._fullData[0].ids.length && window.poskoLive && window.poskoLive.live); }""",
        arg=ids.COMMANDER.map,
        timeout=30_000,
    )
    shown = national.evaluate(
        "(id) => document.querySelector('#' + id + ' .js-plotly-plot')._fullData[0].ids",
        ids.COMMANDER.map,
    )
    assert sorted(shown) == sorted(seeded.tps[kab])
    # The breadcrumb goes back up: the province, then the nation.
    national.goto(f"{server.url}/nasional?area={kab}")
    _rows(national)
    national.click(f"#{ids.NAT_CRUMBS} a.crumb >> nth=1")
    national.wait_for_function(f"() => (({ROWS})()[0] || '').length === 5", timeout=10_000)
    national.click(f"#{ids.NAT_CRUMBS} a.crumb >> nth=0")
    national.wait_for_function(f"() => (({ROWS})()[0] || '').length === 2", timeout=10_000)
    assert national.errors == []


def test_nat004_map_pages_on_an_area_too_big_to_draw_go_to_the_rollup(
    env: tuple[SeededProvinces, LiveServer],
) -> None:
    seeded, server = env
    cookies = {"posko_token": seeded.commander}
    for path, to in (
        ("/", "/nasional"),
        ("/wall", "/nasional"),
        ("/?area=75", "/nasional?area=75"),
        ("/wall?area=76&lang=en", "/nasional?area=76&lang=en"),
    ):
        r = httpx.get(server.url + path, cookies=cookies, follow_redirects=False)
        assert (r.status_code, r.headers.get("location")) == (303, to), path
    kab = next(iter(seeded.tps))
    r = httpx.get(server.url + f"/?area={kab}", cookies=cookies, follow_redirects=False)
    assert r.status_code == 200  # one kabupaten is drawn as before
    # A tab that reached / anyway (a client-side link) gets no picture of the whole area: the
    # commander's first callback answers "no update" instead of reading 9,597 TPS.
    outputs = [
        (ids.COMMANDER.config, "data"),
        (ids.COMMANDER.officers, "data"),
        (ids.COMMANDER.progress, "figure"),
        (ids.CMD_KECAMATAN, "options"),
    ]

    def render(area: str | None) -> httpx.Response:
        return httpx.post(
            server.url + "/_dash-update-component",
            cookies=cookies,
            headers={"origin": server.url},  # as the page's own browser sends it
            timeout=30,
            json={
                "output": "...".join(f"{i}.{p}" for i, p in outputs).join(("..", "..")),
                "outputs": [{"id": i, "property": p} for i, p in outputs],
                "inputs": [
                    {
                        "id": ids.COMMANDER.page,
                        "property": "data",
                        "value": {"view": "commander", "lang": "id", "area": area},
                    },
                    {"id": ids.COMMANDER.refresh, "property": "data", "value": 0},
                ],
                "changedPropIds": [],
                "state": [],
            },
        )

    assert render(None).status_code == 204
    narrowed = render(kab)
    assert narrowed.status_code == 200
    config = narrowed.json()["response"][ids.COMMANDER.config]["data"]
    assert config["urls"]["snapshot"] == f"/api/v1/snapshot?area={kab}"
    assert config["urls"]["live"] == f"/ws/live?area={kab}"


def test_nat005_a_polres_credential_sees_only_its_own_kabupaten(
    browser: Any, env: tuple[SeededProvinces, LiveServer]
) -> None:
    seeded, server = env
    kab = sorted(k for k in seeded.tps if k.startswith("75."))[0]
    page = _open(browser, server, seeded.polres[kab], "/nasional")
    kecs = _rows(page)
    assert kecs and all(k.startswith(kab + ".") for k in kecs)
    assert "Nasional" not in page.inner_text(f"#{ids.NAT_CRUMBS}")
    # Another province, asked for by hand: refused, its own area shown instead.
    page.goto(f"{server.url}/nasional?area=76")
    page.wait_for_function(
        f"() => (document.getElementById('{ids.NAT_NOTICE}')?.textContent || '').includes('76')",
        timeout=10_000,
    )
    assert all(k.startswith(kab + ".") for k in _rows(page))
    page.goto(f"{server.url}/nasional?lang=en")
    page.wait_for_function(
        f"() => (document.getElementById('{ids.NAT_TABLE}')?.textContent || '')"
        ".includes('Disturbance')",
        timeout=10_000,
    )
    # And the API behind it refuses too.
    r = httpx.get(
        server.url + "/api/v1/rollup",
        params={"level": "kabupaten", "area": "76"},
        headers={"authorization": f"Bearer {seeded.polres[kab]}"},
    )
    assert r.status_code == 403
    assert page.errors == []
    page.context.close()


def test_nat006_a_page_cut_off_from_its_server_says_so(
    national: Any, env: tuple[SeededProvinces, LiveServer]
) -> None:
    updated = f"#{ids.NAT_UPDATED}"
    national.wait_for_function(
        f"() => document.querySelector('{updated}').classList.contains('live')", timeout=10_000
    )
    env[1].stop()  # the last test of the module: nothing needs the server afterwards
    national.wait_for_function(
        f"() => document.querySelector('{updated}').classList.contains('lost')", timeout=20_000
    )
