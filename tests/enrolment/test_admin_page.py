"""The admin page's "Pendaftaran HP petugas" in a real Chromium: print a sheet, revoke a link."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from backend.enrolment.sheet import qr_svg
from schemas.enums import Role
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, has_chromium
from tests.enrolment.conftest import BELITANG, Api, code_of
from tests.factories import person_token

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not has_chromium(),
        reason="needs Debian chromium at /usr/bin/chromium (apt install chromium)",
    ),
]
WAIT = 30_000


@pytest.fixture
def browser() -> Iterator[Any]:
    """A Chromium of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_enrol001_the_admin_prints_a_polsek_sheet_in_a_new_window_and_revokes_a_link(
    browser: Any, api: Api, engine: Engine
) -> None:
    admin = person_token(engine, Role.ADMIN, area="16.08")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{api.server.url}/login?token={admin}&next=/admin")
    section = page.locator("#adm-enrol")
    section.locator("h2", has_text="Pendaftaran HP petugas").wait_for(timeout=WAIT)
    # The units of the admin's area, from the officers the API shows it (16.09's is absent).
    select = section.locator('select[name="polsek"]')
    page.locator(f'#adm-enrol option[value="{BELITANG}"]').wait_for(state="attached", timeout=WAIT)
    values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert values == ["", "polres-oku-timur", BELITANG]
    assert section.locator('input[name="hours"]').get_attribute("placeholder") == "48"
    select.select_option(BELITANG)
    with context.expect_page(timeout=WAIT) as opened:
        section.locator('button[type="submit"]').click()
    sheet = opened.value
    sheet.locator("article.card").nth(1).wait_for(timeout=WAIT)
    cards = sheet.locator("article.card")
    assert cards.count() == 2
    assert sheet.locator("section.unit h2").inner_text() == "Polsek Belitang — 2 petugas"
    link = cards.first.get_attribute("data-link")
    assert link is not None and link.startswith(api.server.url + "/lapor/#daftar=pke_")
    svg = cards.first.locator("svg").evaluate("s => s.outerHTML")
    assert 'viewBox="0 0 ' in svg and svg.count("<path") == 1
    assert qr_svg(link).count("M") == svg.count("M")  # the same QR the server drew
    # The list shows both new links, waiting; one is revoked from the page.
    rows = section.locator("tr[data-enrolment]")
    rows.nth(1).wait_for(timeout=WAIT)
    assert rows.count() == 2
    assert {rows.nth(i).get_attribute("data-state") for i in range(2)} == {"waiting"}
    first = section.locator("tr[data-enrolment]", has_text=api.mini.officer_nrps[2])
    first.locator(".act-revoke").click()
    section.locator(
        f'tr[data-enrolment][data-state="revoked"]:has-text("{api.mini.officer_nrps[2]}")'
    ).wait_for(timeout=WAIT)
    assert section.locator('tr[data-state="revoked"] td.state').inner_text() == "dicabut"
    # The revoked card's link no longer works; the other one does.
    links = {
        cards.nth(i).get_attribute("data-nrp"): cards.nth(i).get_attribute("data-link")
        for i in range(2)
    }
    assert api.redeem(code_of(links[api.mini.officer_nrps[2]] or "")).status_code == 410
    assert api.redeem(code_of(links[api.mini.officer_nrps[3]] or "")).status_code == 200
    # A refusal is shown on the page, and the window opened for it is closed again.
    section.locator('input[name="nrp"]').fill("99999999")
    with context.expect_page(timeout=WAIT) as opened:
        section.locator('button[type="submit"]').click()
    page.locator("#admin-toast.error", has_text="no officer with NRP 99999999").wait_for(
        timeout=WAIT
    )
    popup, deadline = opened.value, time.monotonic() + 30
    while not popup.is_closed() and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert popup.is_closed()
    assert errors == []
    context.close()
