"""Officers on the commander's map and the wall's tracked counts, in a real Chromium."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from backend.auth.service import issue
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from dashboard import ids
from dashboard.positions import FRESH_COLOUR, STALE_COLOUR
from schemas.enums import CredentialKind, Role
from tests.conftest import start_server
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, has_chromium
from tests.dashboard.test_operations_ui import Env, Page, _database, open_page
from tests.factories import NOW, person_token, seed_mini
from tests.positions.conftest import bind

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not has_chromium(),
        reason="needs Debian chromium at /usr/bin/chromium (apt install chromium)",
    ),
]
WAIT = 15_000  # deadlines for conditions on a shared machine, not timing claims


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The small registry on the real clock; two officers' trackers have reported."""
    with _database(tmp_path_factory.mktemp("pos-ui")) as url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            secret_key="test-secret-not-for-production",
            max_age_s=10 * 365 * 24 * 3600.0,
            max_future_s=10 * 365 * 24 * 3600.0,
            clock_skew_tolerance_s=10 * 365 * 24 * 3600.0,
            late_after_s=10 * 365 * 24 * 3600.0,
            positions_stale_s=600.0,
        )
        engine = make_engine(settings)
        upgrade(engine)
        mini = seed_mini(engine)
        tokens = {r.value: person_token(engine, r) for r in Role}
        with Session(engine) as s:
            _, tokens["kiosk"] = issue(session=s, kind=CredentialKind.KIOSK, name="wall", now=NOW)
        server = start_server(settings)
        now = datetime.now(UTC)
        fresh, stale = (bind(engine, nrp) for nrp in mini.officer_nrps[:2])
        sends = [(fresh, now - timedelta(seconds=s), -4.29 - s / 1e4) for s in (40, 30, 20)]
        sends.append((stale, now - timedelta(minutes=30), -4.32))
        for key, at, lat in sends:
            form = {"id": key, "lat": lat, "lon": 104.35, "timestamp": int(at.timestamp())}
            r = httpx.post(server.url + "/api/v1/channels/traccar", data=form, timeout=10)  # type: ignore[arg-type]
            assert r.status_code == 200
        try:
            yield Env(settings, engine, mini, server, tokens, {})
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


TRACE = """([id, i]) => {
  const g = document.querySelector('#' + id + ' .js-plotly-plot');
  const tr = g && g._fullData && g._fullData[i];
  return tr ? {n: (tr.lat || []).length, colours: tr.marker && tr.marker.color} : null;
}"""


def test_pos001_commander_sees_officers_when_toggled_and_one_officers_trail(
    browser: Any, env: Env
) -> None:
    page: Page = open_page(browser, env, env.tokens["commander"], "/", ids.COMMANDER.map)
    mid = ids.COMMANDER.map
    assert page.page.evaluate(TRACE, [mid, 4])["n"] == 0  # off until asked
    page.page.locator(f"#{ids.CMD_OFFICERS_SHOW} input").check()
    page.page.wait_for_function(f"() => ({TRACE})(['{mid}', 4]).n === 2", timeout=WAIT)
    colours = page.page.evaluate(TRACE, [mid, 4])["colours"]
    assert sorted(colours) == sorted([FRESH_COLOUR, STALE_COLOUR])  # the old fix is greyed
    assert "1 petugas terkini, 1 lama" in page.text(f"#{ids.CMD_OFFICERS_INFO}")
    page.page.locator(f"#{ids.CMD_TRAIL_OFFICER}").click()
    page.page.get_by_text(f"({env.mini.officer_nrps[0]})").last.click()
    page.page.wait_for_function(f"() => ({TRACE})(['{mid}', 5]).n === 3", timeout=WAIT)
    assert "3 titik hari ini" in page.text(f"#{ids.CMD_OFFICERS_INFO}")
    page.page.locator(f"#{ids.CMD_OFFICERS_SHOW} input").uncheck()
    page.page.wait_for_function(f"() => ({TRACE})(['{mid}', 4]).n === 0", timeout=WAIT)
    assert page.errors == []


def test_pos002_wall_counts_officers_with_a_fresh_fix_per_kecamatan(browser: Any, env: Env) -> None:
    page: Page = open_page(browser, env, env.tokens["kiosk"], "/wall", ids.WALL.map)
    sel = f"#{ids.WALL_TRACKED}"
    page.page.wait_for_function(
        f"() => (document.querySelector('{sel}') || {{}}).innerText.includes('Martapura')",
        timeout=WAIT,
    )
    rows = page.page.locator(f"{sel} .tracked-row").all()
    got = [[c.inner_text() for c in r.locator("span, b").all()] for r in rows]
    assert got == [["Martapura", "1"]]  # the stale officer is not counted
    assert page.errors == []
