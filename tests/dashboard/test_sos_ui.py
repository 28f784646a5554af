"""An officer's SOS and incident photos in a real Chromium: the wall and the commander's view.

One server and one browser for the module (the small registry, an election-day clock at 08:00
WIB, a fast sweeper), the wall on a kiosk link and the commander signed in; the tests act on
them in file order. The alarm is read from the page's hook (`window.poskoLive.alarm`), not
from the speakers.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from backend.auth.service import issue
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from dashboard import ids
from schemas.enums import CredentialKind, Role
from tests.conftest import start_server
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, has_chromium
from tests.dashboard.test_operations_ui import LIVE, Env, Page, _database, open_page
from tests.factories import NOW, device_token, person_token, seed_mini
from tests.helpers import field_socket, incident, send
from tests.ops.harness import wib
from tests.photos.images import jpeg

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not has_chromium(),
        reason="needs Debian chromium at /usr/bin/chromium (apt install chromium)",
    ),
]

WAIT = 10_000  # generous deadlines for conditions, not timing claims (a shared machine)
BAND = "#posko-sos"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The small registry, tokens per role, a kiosk and the officers' phones; a server."""
    with _database(tmp_path_factory.mktemp("sos-ui")) as url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            secret_key="test-secret-not-for-production",
            max_age_s=10 * 365 * 24 * 3600.0,
            max_future_s=10 * 365 * 24 * 3600.0,
            clock_skew_tolerance_s=10 * 365 * 24 * 3600.0,
            late_after_s=10 * 365 * 24 * 3600.0,
            clock_start=wib(27, "08:00"),
            sweep_interval_s=0.2,
        )
        engine = make_engine(settings)
        upgrade(engine)
        mini = seed_mini(engine)
        tokens = {r.value: person_token(engine, r) for r in Role}
        with Session(engine) as s:
            _, tokens["kiosk"] = issue(session=s, kind=CredentialKind.KIOSK, name="wall", now=NOW)
        devices = {
            nrp: device_token(engine, oid)
            for nrp, oid in zip(mini.officer_nrps, mini.officer_ids, strict=True)
        }
        server = start_server(settings)
        try:
            yield Env(settings, engine, mini, server, tokens, devices)
        finally:
            server.stop()
            engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module (headless: it plays sound without a click)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# Headless Chromium plays sound without a click whatever --autoplay-policy says; a desktop
# browser holds an AudioContext "suspended" until the page is clicked. This makes the page's
# AudioContext start that way (the real one, suspended), so the page's answer can be seen.
HELD_SOUND = """(() => {
  const Real = window.AudioContext;
  window.AudioContext = class extends Real {
    constructor(...args) { super(...args); this.suspend(); }
  };
})();"""


def _open_with_held_sound(browser: Any, env: Env) -> Page:
    """The commander's view in a browser that holds sound until the page is clicked."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.add_init_script(HELD_SOUND)
    page = context.new_page()
    p = Page(page, [])
    page.on("pageerror", lambda e: p.errors.append(str(e)))
    page.goto(f"{env.server.url}/login?token={env.tokens['commander']}&next=/")
    page.wait_for_function(LIVE, arg=ids.COMMANDER.map, timeout=30_000)
    page.wait_for_function("() => window.poskoLive.me !== null", timeout=WAIT)
    return p


@pytest.fixture(scope="module")
def wall(browser: Any, env: Env) -> Page:
    """/wall at 1920x1080 with the kiosk link."""
    return open_page(browser, env, env.tokens["kiosk"], "/wall", ids.WALL.map)


@pytest.fixture(scope="module")
def commander(browser: Any, env: Env) -> Page:
    """/ signed in as a commander."""
    return open_page(browser, env, env.tokens["commander"], "/", ids.COMMANDER.map)


def _server_now(env: Env) -> datetime:
    with env.client(env.tokens["viewer"]) as c:
        return datetime.fromisoformat(c.get("/api/v1/clock").json()["now"])


def _report(env: Env, nrp: str, body: dict[str, Any]) -> int:
    """An officer sends an incident report over /ws/field; return its incident's id."""
    with field_socket(env.server.ws_url, env.devices[nrp]) as ws:
        assert send(ws, body)["result"] == "stored"
    with env.client(env.tokens["viewer"]) as c:
        data = c.get("/api/v1/incidents").json()["data"]
    found = [i for i in data if i["description"] == body["description"]]
    assert len(found) == 1, body["description"]
    return int(found[0]["id"])


def _wait_band(page: Page, shown: int, alarm: bool) -> None:
    page.page.wait_for_function(
        "([n, alarm]) => window.poskoLive.sos === n && window.poskoLive.alarm === alarm"
        " && (n > 0) === !!document.querySelector('#posko-sos')",
        arg=[shown, alarm],
        timeout=WAIT,
    )


def _on_top(page: Page) -> dict[str, Any]:
    """Where the band is, and whether it is what the eye sees at its middle (nothing over it)."""
    result: dict[str, Any] = page.page.evaluate(
        """(sel) => { const b = document.querySelector(sel).getBoundingClientRect();
          const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
          return {top: b.top, left: b.left, width: b.width, viewport: innerWidth,
                  visible: !!hit && !!hit.closest(sel)}; }""",
        BAND,
    )
    return result


def test_sos001_an_sos_stands_above_everything_with_its_alarm_until_terima_sos(
    wall: Page, commander: Page, browser: Any, env: Env
) -> None:
    nrp = env.mini.officer_nrps[2]
    body = incident(None, "lainnya", 4, at=_server_now(env), sos=True, lat=-4.14612, lon=104.63901)
    body["description"] = "sos001 SOS"
    iid = _report(env, nrp, body)
    for page in (wall, commander):
        _wait_band(page, 1, alarm=True)
        band = page.page.locator(BAND)
        shown = band.inner_text()
        assert "SOS" in shown and f"NRP {nrp}" in shown and "Bripka Petugas 2" in shown, shown
        assert "Polsek Belitang" in shown and "-4.14612, 104.63901" in shown, shown
        assert "WIB" in shown and ("dtk lalu" in shown or "mnt lalu" in shown), shown
        where = _on_top(page)
        assert where["top"] == 0 and where["left"] == 0 and where["width"] == where["viewport"]
        assert where["visible"], where
    # The wall is a kiosk: no button; the commander's view offers "Terima SOS".
    assert wall.page.locator(f"{BAND} [data-act]").count() == 0
    accept = commander.page.locator(f"{BAND} [data-act='ack']")
    assert accept.inner_text() == "Terima SOS"
    # First in the commander's alerts feed and incident list.
    commander.page.wait_for_function(
        "(id) => { const a = document.querySelector('#' + id + ' .alert');"
        " return !!a && a.classList.contains('kind-sos'); }",
        arg=ids.COMMANDER.alerts,
        timeout=WAIT,
    )
    first = commander.page.locator(f"#{ids.CMD_INCIDENTS} .incident").first
    first.wait_for(timeout=WAIT)
    assert first.get_attribute("data-incident") == str(iid) and "SOS" in first.inner_text()
    # A browser that holds sound until the page is clicked (desktop Chromium's default outside
    # kiosk mode): the band says so, and a click on it starts the alarm.
    strict = _open_with_held_sound(browser, env)
    _wait_band(strict, 1, alarm=True)
    assert strict.page.evaluate("() => window.poskoLive.sound") == "suspended"
    hint = strict.page.locator(f"{BAND} .sos-muted")
    assert hint.inner_text() == "suara mati — klik untuk menyalakan"
    hint.click()
    strict.page.wait_for_function("() => window.poskoLive.sound === 'running'", timeout=WAIT)
    hint.wait_for(state="detached", timeout=WAIT)
    assert commander.page.evaluate("() => window.poskoLive.sound") == "running"  # headless

    accept.click()
    for page in (commander, wall, strict):
        _wait_band(page, 0, alarm=False)
    assert strict.errors == []
    strict.page.context.close()
    with env.client(env.tokens["viewer"]) as c:
        alerts = c.get("/api/v1/alerts", params={"state": "all", "kind": "sos"}).json()["data"]
        inc = c.get(f"/api/v1/incidents/{iid}").json()
    assert len(alerts) == 1 and alerts[0]["acknowledged_by"].startswith("person:test commander#")
    assert inc["status"] == "baru" and inc["sos"]  # acknowledged; the incident is still to handle
    assert commander.errors == [] and wall.errors == []


def test_sos002_a_photo_of_an_incident_appears_as_a_thumbnail_on_the_commanders_incident(
    commander: Page, env: Env
) -> None:
    nrp = env.mini.officer_nrps[0]
    body = incident(env.mini.tps_codes[1], "logistik", 2, at=_server_now(env))
    body["description"] = "sos002 kotak suara rusak"
    iid = _report(env, nrp, body)
    row = commander.page.locator(f"#{ids.CMD_INCIDENTS} [data-incident='{iid}']")
    row.wait_for(timeout=WAIT)
    assert row.locator(".photos").count() == 0
    r = httpx.put(
        f"{env.server.url}/api/v1/incident-reports/{body['event_id']}/photos/0",
        content=jpeg(800, 600),
        headers={"authorization": f"Bearer {env.devices[nrp]}", "content-type": "image/jpeg"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    # Live: the photo count arrives with the incident, the page reads the list and shows it.
    commander.page.wait_for_function(
        "(id) => { const img = document.querySelector("
        "'[data-incident=\"' + id + '\"] .photos img');"
        " return !!img && img.complete && img.naturalWidth > 0; }",
        arg=iid,
        timeout=WAIT * 2,
    )
    link = row.locator(".photos a").first
    assert link.get_attribute("href") == f"/api/v1/photos/{pid}"
    assert link.get_attribute("target") == "_blank"
    width = commander.page.evaluate(
        "(id) => document.querySelector('[data-incident=\"' + id + '\"] .photos img').naturalWidth",
        iid,
    )
    assert width == 320  # the thumbnail, not the full picture
    with commander.page.context.expect_page() as opened:
        link.click()
    full = opened.value
    full.wait_for_load_state()
    assert full.url.endswith(f"/api/v1/photos/{pid}")
    assert full.evaluate("() => document.images[0] && document.images[0].naturalWidth") == 800
    full.close()
    assert commander.errors == []
