"""The boxes' way to the PPK in Chromium: the commander's timeline, the wall's counts and map.

One server and one browser for the module, on the small registry with an election-day clock at
19:00 WIB (counting done); officers send custody steps over the real field socket (and the seals'
photo over the upload the phone uses).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from backend.auth.service import issue
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from dashboard import ids
from dashboard.figures import MAP_BOXES
from schemas.enums import CredentialKind, Role
from tests.conftest import LiveServer, start_server
from tests.custody.builders import custody
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, has_chromium
from tests.factories import NOW, MiniRegistry, device_token, person_token, seed_mini
from tests.helpers import field_socket, send
from tests.ops.harness import wib
from tests.photos.images import jpeg

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not has_chromium(),
        reason="needs Debian chromium at /usr/bin/chromium (apt install chromium)",
    ),
]

LIVE = """(id) => {
  const g = document.querySelector('#' + id + ' .js-plotly-plot');
  return !!(g && g._fullData && g._fullData[0] && g._fullData[0].ids
    && g._fullData[0].ids.length && window.poskoLive && window.poskoLive.live);
}"""
WAIT = 20_000  # the panels poll every 10 s; the machine is shared
TIMELINE = "#" + ids.CMD_CUSTODY


@dataclass
class Env:
    """The module's server, registry and credentials."""

    engine: Engine
    mini: MiniRegistry
    server: LiveServer
    tokens: dict[str, str]
    device: str

    def now(self) -> datetime:
        """The server's (exercise) clock."""
        r = httpx.get(
            self.server.url + "/api/v1/clock",
            headers={"authorization": f"Bearer {self.tokens['viewer']}"},
            timeout=10,
        )
        return datetime.fromisoformat(r.json()["now"])

    def send(self, *events: dict[str, Any]) -> None:
        """The first officer's phone sends custody steps."""
        with field_socket(self.server.ws_url, self.device) as ws:
            for e in events:
                assert send(ws, e)["result"] == "stored", e


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The small registry and a running server at 19:00 WIB."""
    tmp: Path = tmp_path_factory.mktemp("custody-ui")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp / 'posko.db'}",
        secret_key="test-secret-not-for-production",
        max_age_s=10 * 365 * 24 * 3600.0,
        max_future_s=10 * 365 * 24 * 3600.0,
        clock_skew_tolerance_s=10 * 365 * 24 * 3600.0,
        late_after_s=10 * 365 * 24 * 3600.0,
        clock_start=wib(27, "19:00"),
        sweep_interval_s=0.5,
    )
    engine = make_engine(settings)
    upgrade(engine)
    mini = seed_mini(engine)
    tokens = {r.value: person_token(engine, r) for r in Role}
    with Session(engine) as s:
        _, tokens["kiosk"] = issue(session=s, kind=CredentialKind.KIOSK, name="wall", now=NOW)
    server = start_server(settings)
    try:
        yield Env(engine, mini, server, tokens, device_token(engine, mini.officer_ids[0]))
    finally:
        server.stop()
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser: Any, env: Env, token: str, path: str, map_id: str) -> tuple[Any, list[str]]:
    page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{env.server.url}/login?token={token}&next={path}")
    page.wait_for_function(LIVE, arg=map_id, timeout=30_000)
    return page, errors


def test_custody001_commander_sees_a_tps_custody_timeline_with_who_when_where(
    browser: Any, env: Env
) -> None:
    code = env.mini.tps_codes[0]
    now = env.now()
    sealed_step = custody(code, "segel", at=now, minutes=-30, lat=-4.297, lon=104.346)
    env.send(
        sealed_step,
        custody(code, "berangkat", at=now, minutes=-10, escort_nrps=[env.mini.officer_nrps[1]]),
    )
    # The officer's phone sends the seals' photo after the step's ack.
    up = httpx.put(
        f"{env.server.url}/api/v1/custody/{sealed_step['event_id']}/photos/0",
        content=jpeg(900, 600),
        headers={"authorization": f"Bearer {env.device}", "content-type": "image/jpeg"},
        timeout=30,
    )
    assert up.status_code == 201, up.text
    page, errors = _open(browser, env, env.tokens["commander"], "/", ids.COMMANDER.map)
    page.fill(f"#{ids.CMD_SEARCH}", code)
    page.press(f"#{ids.CMD_SEARCH}", "Enter")
    page.wait_for_selector(f"{TIMELINE} .step-berangkat", timeout=WAIT)
    steps = page.locator(f"{TIMELINE} .custody-step")
    assert steps.count() == 2
    sealed = steps.nth(0).inner_text()
    assert "Disegel" in sealed and "Petugas 0 (85010000)" in sealed
    assert "SGL-0001, SGL-0002" in sealed and "-4.29700, 104.34600" in sealed
    assert "WIB" in sealed
    # The seals' photo: a thumbnail in the segel step, linked to the photo as sent.
    page.wait_for_function(
        """(sel) => { const img = document.querySelector(sel);
          return !!img && img.complete && img.naturalWidth > 0; }""",
        arg=f"{TIMELINE} .step-segel img.custody-photo",
        timeout=WAIT,
    )
    link = page.locator(f"{TIMELINE} .step-segel a.custody-photo-link")
    assert link.get_attribute("href") == up.json()["url"]
    assert page.locator(f"{TIMELINE} .step-berangkat img").count() == 0
    left = steps.nth(1).inner_text()
    assert "BG 1234 XY" in left and env.mini.officer_nrps[1] in left
    expected = page.locator(f"{TIMELINE} .custody-expected").inner_text()
    assert "PPK Kecamatan Martapura" in expected
    # The boxes on the road are on the commander's map, at the departure's last known place.
    page.wait_for_function(
        """([id, k, code]) => {
          const g = document.querySelector('#' + id + ' .js-plotly-plot');
          return !!(g._fullData[k] && (g._fullData[k].ids || []).includes(code)); }""",
        arg=[ids.COMMANDER.map, MAP_BOXES, code],
        timeout=WAIT,
    )
    # Handed over without a berita acara number: the timeline says so (and an alert is up).
    env.send(
        custody(code, "tiba", at=now, minutes=-2),
        custody(code, "serah_terima", at=now, minutes=-1, ba_number=None),
    )
    page.wait_for_selector(f"{TIMELINE} .step-serah_terima.no-ba", timeout=WAIT)
    assert "TANPA nomor BA" in page.locator(f"{TIMELINE} .step-serah_terima").inner_text()
    assert page.locator(f"{TIMELINE} .custody-expected").count() == 0
    page.wait_for_function(
        """([id, k, code]) => {
          const g = document.querySelector('#' + id + ' .js-plotly-plot');
          return !(g._fullData[k].ids || []).includes(code); }""",
        arg=[ids.COMMANDER.map, MAP_BOXES, code],
        timeout=WAIT,
    )
    assert errors == []


def test_custody002_the_wall_counts_boxes_per_kecamatan_and_shows_those_on_the_road(
    browser: Any, env: Env
) -> None:
    code = env.mini.tps_codes[1]
    now = env.now()
    env.send(
        custody(code, "segel", at=now, minutes=-20),
        custody(code, "berangkat", at=now, minutes=-5),
        custody(env.mini.tps_codes[2], "segel", at=now, minutes=-3),
    )
    page, errors = _open(browser, env, env.tokens["kiosk"], "/wall", ids.WALL.map)
    row = f"#{ids.WALL_CUSTODY} .custody-row[title='16.08.01']"
    page.wait_for_selector(row, timeout=WAIT)
    numbers = page.locator(f"{row} .custody-n").all_inner_texts()
    assert numbers == ["1", "1", "1/6"]  # TPS 3 sealed, TPS 2 on the road, TPS 1 received
    page.wait_for_function(
        """([id, k, code]) => {
          const g = document.querySelector('#' + id + ' .js-plotly-plot');
          return !!(g._fullData[k] && (g._fullData[k].ids || []).includes(code)); }""",
        arg=[ids.WALL.map, MAP_BOXES, code],
        timeout=WAIT,
    )
    assert errors == []
