"""The admin page's PPK places in a real Chromium: the registry's default, then one set."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from schemas.enums import Role
from tests.conftest import LiveServer
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, has_chromium
from tests.factories import MiniRegistry, person_token
from tests.helpers import count

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


def test_ppk001_the_admin_sets_a_kecamatans_ppk_place(
    browser: Any, server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    admin = person_token(engine, Role.ADMIN, area="16.08")
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/login?token={admin}&next=/admin")
    section = page.locator("#adm-ppk")
    row = section.locator('tr[data-kecamatan="16.08.01"]')
    row.wait_for(timeout=WAIT)
    assert "bawaan registri" in row.inner_text()
    assert section.locator("tr[data-kecamatan]").count() == 2
    section.locator('input[name="kecamatan"]').fill("16.08.01")
    section.locator('input[name="name"]').fill("Kantor Camat Martapura")
    section.locator('input[name="lat"]').fill("-4.3105")
    section.locator('input[name="lon"]').fill("104.3602")
    section.locator('button[type="submit"]').click()
    page.locator("#adm-ppk tr[data-kecamatan='16.08.01']", has_text="Kantor Camat").wait_for(
        timeout=WAIT
    )
    assert "-4.31050, 104.36020" in row.inner_text()
    assert "diubah" in row.inner_text()
    assert count(engine, "audit_entry", "action = 'ppk.place'") == 1
    # Outside the admin's kecamatan list the API refuses, and the page says why.
    section.locator('input[name="kecamatan"]').fill("16.07.01")
    section.locator('button[type="submit"]').click()
    page.locator("#admin-toast.error").wait_for(timeout=WAIT)
    assert "kecamatan" in page.locator("#admin-toast").inner_text()
    assert errors == []
