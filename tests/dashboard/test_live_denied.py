"""A wall whose credential is revoked says so and stops knocking (real Chromium, small registry)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from backend.auth.service import issue, revoke
from backend.db import make_engine
from backend.migrate import upgrade
from dashboard import ids
from schemas.enums import CredentialKind
from tests.conftest import LiveServer, start_server
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, has_chromium, make_settings
from tests.factories import NOW, seed_mini

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
BANNER = f"#{ids.WALL.banner}"


@pytest.fixture
def browser() -> Iterator[Any]:
    """A Chromium of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_live001_a_revoked_kiosk_link_says_access_ended_stops_and_opens_the_sign_in_page(
    tmp_path: Path, browser: Any
) -> None:
    settings = make_settings(tmp_path / "posko.db")
    engine = make_engine(settings)
    upgrade(engine)
    seed_mini(engine)
    with Session(engine) as s:
        cred, kiosk = issue(session=s, kind=CredentialKind.KIOSK, name="wall", now=NOW)
    server: LiveServer = start_server(settings)
    try:
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url) if "/ws/live" in ws.url else None)
        page.goto(f"{server.url}/login?token={kiosk}&next=/wall")
        page.wait_for_function(LIVE, arg=ids.WALL.map, timeout=30_000)
        # Revoked while the wall is open; the wall learns it when it next connects (here after
        # a restart of the server; a server that closes revoked sockets tells it at once).
        with Session(engine) as s:
            assert cred.id is not None
            revoke(session=s, credential_id=cred.id, now=datetime.now(UTC))
        port = int(server.url.rsplit(":", 1)[1])
        server.stop()
        server = start_server(settings, port)
        # The credential itself ended: the wall says its access ended, stops, and a few
        # seconds later shows the sign-in page (which opens no live socket).
        page.wait_for_function(
            "(sel) => { const b = document.querySelector(sel);"
            " return !!b && b.textContent.includes('AKSES BERAKHIR'); }",
            arg=BANNER,
            timeout=15_000,
        )
        assert page.evaluate("() => window.poskoLive.connection") == "denied"
        assert page.evaluate("() => document.body.classList.contains('posko-lost')")
        assert not page.evaluate("() => window.poskoLive.live")
        knocked = len(sockets)
        page.wait_for_url("**/login?*next=%2Fwall*", timeout=15_000)
        # No more knocking: a screen that retried would have opened several sockets by now
        # (every 2 s at most); the wait is a window for something that must not happen.
        page.wait_for_timeout(6_000)
        assert len(sockets) == knocked
        page.context.close()
    finally:
        server.stop()
        engine.dispose()
