"""The "Unduh" menu of the commander's view and /admin's export panel, in a real Chromium."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlmodel import Session

from backend.audit.service import list_entries
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from dashboard import ids
from schemas.enums import Role
from tests.conftest import start_server
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, has_chromium
from tests.dashboard.test_operations_ui import Env, Page, _database, open_page
from tests.exports.files import parse_csv, parse_xlsx
from tests.factories import person_token, seed_mini

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not has_chromium(),
        reason="needs Debian chromium at /usr/bin/chromium (apt install chromium)",
    ),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The small registry and a running server; a commander of 16.08 and a national admin."""
    with _database(tmp_path_factory.mktemp("exp-ui")) as url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            secret_key="test-secret-not-for-production",
            sweep_interval_s=3600.0,
        )
        engine = make_engine(settings)
        upgrade(engine)
        mini = seed_mini(engine)
        tokens = {
            "commander": person_token(engine, Role.COMMANDER, area="16.08"),
            "admin": person_token(engine, Role.ADMIN),
            "viewer": person_token(engine, Role.VIEWER),
        }
        server = start_server(settings)
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


def _download(page: Any, selector: str, tmp: Path) -> Path:
    with page.expect_download(timeout=30_000) as info:
        page.locator(selector).click()
    path = tmp / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_exp030_the_commander_downloads_from_the_unduh_menu(
    browser: Any, env: Env, tmp_path: Path
) -> None:
    page: Page = open_page(
        browser, env, env.tokens["commander"], quote("/?area=16.08", safe=""), ids.COMMANDER.map
    )
    menu = f"#{ids.CMD_EXPORT}"
    assert page.text(f"{menu} summary") == "Unduh"
    page.page.locator(f"{menu} summary").click()
    link = f"#{ids.CMD_EXPORT}-tps-csv"
    assert page.page.locator(link).get_attribute("href") == "/api/v1/exports/tps.csv?area=16.08"
    assert page.page.locator(f"#{ids.CMD_EXPORT}-audit-geojson").count() == 0  # no position
    assert page.page.locator(f"#{ids.CMD_EXPORT}-audit-csv").is_visible()  # a commander's
    path = _download(page.page, link, tmp_path)
    assert path.name.startswith("posko-tps-16.08-") and path.suffix == ".csv"
    rows, _ = parse_csv("tps", path.read_bytes())
    assert [r["tps_code"] for r in rows] == sorted(env.mini.tps_codes)
    with Session(env.engine) as s:
        (entry,) = list_entries(session=s, action_prefix="export.")
    assert entry.subject == "tps.csv" and entry.area_code == "16.08"
    assert entry.actor.startswith("person:test commander#")
    assert page.errors == []


def test_exp032_a_viewer_is_not_offered_the_audit_trail(browser: Any, env: Env) -> None:
    page: Page = open_page(browser, env, env.tokens["viewer"], "/", ids.COMMANDER.map)
    page.page.locator(f"#{ids.CMD_EXPORT} summary").click()
    assert page.page.locator(f"#{ids.CMD_EXPORT}-tps-xlsx").is_visible()
    assert page.page.locator(f"#{ids.CMD_EXPORT}-tps-xlsx").get_attribute("href") == (
        "/api/v1/exports/tps.xlsx"
    )
    assert not page.page.locator(f"#{ids.CMD_EXPORT}-audit-csv").is_visible()
    assert page.errors == []


def test_exp031_the_admin_page_offers_every_export(browser: Any, env: Env, tmp_path: Path) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{env.server.url}/login?token={env.tokens['admin']}&next=%2Fadmin")
    page.wait_for_selector("#adm-exports")
    assert "Unduh" in page.locator("#adm-exports h2").inner_text()
    hrefs = page.locator("#adm-exports a").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    assert (
        "/api/v1/exports/incidents.xlsx" in hrefs and "/api/v1/exports/positions.geojson" in hrefs
    )
    path = _download(page, '#adm-exports a[href="/api/v1/exports/incidents.xlsx"]', tmp_path)
    sheets = parse_xlsx(path)
    assert list(sheets) == ["incidents", "incident_reports", "incident_steps"]
    ctx.close()
