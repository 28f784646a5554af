"""The admin page's senders section in a real Chromium: bind a number, see it, unbind it."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from schemas.enums import Role
from tests.channels.test_whatsapp import count
from tests.conftest import LiveServer
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, has_chromium
from tests.factories import MiniRegistry, person_token

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


def test_chat001_the_admin_binds_and_unbinds_an_officers_number(
    browser: Any, server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    admin = person_token(engine, Role.ADMIN, area="16.08")
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/login?token={admin}&next=/admin")
    section = page.locator("#adm-senders")
    section.locator("h2", has_text="Nomor WA/SMS dan Telegram petugas").wait_for(timeout=WAIT)
    nrp = mini.officer_nrps[1]
    new = section.locator("#new-sender")
    new.locator('input[name="nrp"]').fill(nrp)
    new.locator('input[name="address"]').fill("0812-7777-0002")
    new.locator('button[type="submit"]').click()
    row = section.locator('tr[data-sender="phone:6281277770002"]')
    row.wait_for(timeout=WAIT)
    assert nrp in row.inner_text()
    assert count(engine, "SELECT count(*) FROM channel_sender") == 1
    # A wrong number is refused with the API's reason, shown on the page.
    new.locator('input[name="address"]').fill("kantor")
    new.locator('button[type="submit"]').click()
    page.locator("#admin-toast.error", has_text="not a phone number").wait_for(timeout=WAIT)
    row.locator(".act-revoke").click()
    row.wait_for(state="detached", timeout=WAIT)
    assert count(engine, "SELECT count(*) FROM channel_sender") == 0
    assert errors == []
