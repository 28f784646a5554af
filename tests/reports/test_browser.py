"""The commander's report editor and sign-off in a real Chromium (/laporan)."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from dashboard import ids
from dashboard.components.views import commander_layout
from tests.conftest import LiveServer
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, has_chromium
from tests.ops.conftest import auth
from tests.ops.harness import wib
from tests.reports.conftest import Morning

WAIT = 20_000  # not a measurement: the machine is shared


@pytest.fixture
def browser() -> Iterator[Any]:
    """One Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser: Any, srv: LiveServer, token: str, path: str) -> tuple[Any, list[str]]:
    page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{srv.url}/login?token={token}&next={quote(path, safe='')}")
    return page, errors


@pytest.mark.browser
@pytest.mark.skipif(not has_chromium(), reason="needs Debian chromium at /usr/bin/chromium")
def test_report001_commander_edits_remarks_and_signs_then_the_report_is_frozen(
    ops_server: LiveServer, tokens: dict[str, str], morning: Morning, browser: Any
) -> None:
    url, cmd = ops_server.url, tokens["commander"]
    r = httpx.post(
        f"{url}/api/v1/reports",
        json={
            "area": "16.08",
            "kind": "hourly",
            "period_start": wib(27, "07:00").isoformat(),
            "period_end": wib(27, "08:00").isoformat(),
        },
        headers=auth(tokens["operator"]),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    page, errors = _open(browser, ops_server, cmd, "/laporan?area=16.08")
    preview = f"#{ids.LAP_PREVIEW}"
    page.wait_for_function(
        "([sel, rid]) => (document.querySelector(sel)?.getAttribute('src') || '')"
        ".includes('/api/v1/reports/' + rid + '.html')",
        arg=[preview, rid],
        timeout=WAIT,
    )
    assert "per jam" in page.locator(f"#{ids.LAP_PICK}").inner_text()
    frame = page.frame_locator(preview)
    frame.locator("text=KEPOLISIAN NEGARA REPUBLIK INDONESIA").wait_for(timeout=WAIT)
    assert "KONSEP" in frame.locator("body").inner_text()
    # Remarks and plan, saved.
    page.fill(f"#{ids.LAP_REMARKS}", "Situasi aman terkendali; satu kericuhan di Martapura.")
    page.fill(f"#{ids.LAP_PLAN}", "Patroli ke TPS yang senyap di Belitang.")
    page.click(f"#{ids.LAP_SAVE}")
    page.wait_for_function(
        f"() => document.querySelector('#{ids.LAP_MSG}').innerText.includes('Tersimpan')",
        timeout=WAIT,
    )
    frame.locator("text=Patroli ke TPS yang senyap di Belitang.").wait_for(timeout=WAIT)
    # Signing without an NRP is refused on the page, nothing is signed.
    page.fill(f"#{ids.LAP_NAME}", "Kapolres Contoh")
    page.fill(f"#{ids.LAP_RANK}", "AKBP")
    page.click(f"#{ids.LAP_SIGN}")
    page.wait_for_function(
        f"() => document.querySelector('#{ids.LAP_MSG}').innerText.includes('NRP')",
        timeout=WAIT,
    )
    assert httpx.get(f"{url}/api/v1/reports/{rid}", headers=auth(cmd)).json()["status"] == "draft"
    page.fill(f"#{ids.LAP_NRP}", "76050123")
    page.click(f"#{ids.LAP_SIGN}")
    page.wait_for_function(
        f"() => document.querySelector('#{ids.LAP_STATUS}').innerText.includes('Ditandatangani')",
        timeout=WAIT,
    )
    assert page.locator(f"#{ids.LAP_REMARKS}").is_disabled()
    assert page.locator(f"#{ids.LAP_SIGN}").is_disabled()
    frame.locator("text=76050123").wait_for(timeout=WAIT)
    signed = httpx.get(f"{url}/api/v1/reports/{rid}", headers=auth(cmd)).json()
    assert signed["status"] == "signed"
    assert signed["remarks"] == "Situasi aman terkendali; satu kericuhan di Martapura."
    assert signed["signer_nrp"] == "76050123"
    assert signed["content_sha256"] in page.locator(f"#{ids.LAP_STATUS}").inner_text()
    assert page.locator("#lap-link-pdf").get_attribute("href") == f"/api/v1/reports/{rid}.pdf"
    # Frozen for everyone: the API refuses a later edit.
    r = httpx.patch(f"{url}/api/v1/reports/{rid}", json={"remarks": "x"}, headers=auth(cmd))
    assert r.status_code == 409
    # A new version starts from the signed words.
    page.click(f"#{ids.LAP_REVISE}")
    page.wait_for_function(
        f"() => document.querySelector('#{ids.LAP_PICK}').innerText.includes('v2')",
        timeout=WAIT,
    )
    assert not page.locator(f"#{ids.LAP_REMARKS}").is_disabled()
    assert errors == []


@pytest.mark.browser
@pytest.mark.skipif(not has_chromium(), reason="needs Debian chromium at /usr/bin/chromium")
def test_report003_a_report_redrafted_after_the_screen_showed_it_is_not_signed(
    ops_server: LiveServer, tokens: dict[str, str], morning: Morning, browser: Any
) -> None:
    url, cmd = ops_server.url, tokens["commander"]
    body = {
        "area": "16.08",
        "kind": "daily",
        "period_start": wib(27, "00:00").isoformat(),
        "period_end": wib(28, "00:00").isoformat(),
    }
    rid = httpx.post(f"{url}/api/v1/reports", json=body, headers=auth(cmd), timeout=30).json()["id"]
    page, errors = _open(browser, ops_server, cmd, "/laporan?area=16.08")
    page.wait_for_function(
        "([sel, rid]) => (document.querySelector(sel)?.getAttribute('src') || '')"
        ".includes('/api/v1/reports/' + rid + '.html')",
        arg=[f"#{ids.LAP_PREVIEW}", rid],
        timeout=WAIT,
    )
    # The day's close (or another operator) re-drafts it while the commander reads.
    r = httpx.post(f"{url}/api/v1/reports", json=body, headers=auth(tokens["operator"]), timeout=30)
    assert r.json()["id"] == rid
    page.fill(f"#{ids.LAP_NAME}", "Kapolres Contoh")
    page.fill(f"#{ids.LAP_RANK}", "AKBP")
    page.fill(f"#{ids.LAP_NRP}", "76050123")
    page.click(f"#{ids.LAP_SIGN}")
    page.wait_for_function(
        f"() => document.querySelector('#{ids.LAP_MSG}').innerText.includes('berubah')",
        timeout=WAIT,
    )
    assert httpx.get(f"{url}/api/v1/reports/{rid}", headers=auth(cmd)).json()["status"] == "draft"
    # Now the screen shows the new draft: signing it works.
    page.click(f"#{ids.LAP_SIGN}")
    page.wait_for_function(
        f"() => document.querySelector('#{ids.LAP_STATUS}').innerText.includes('Ditandatangani')",
        timeout=WAIT,
    )
    assert httpx.get(f"{url}/api/v1/reports/{rid}", headers=auth(cmd)).json()["status"] == "signed"
    assert errors == []


@pytest.mark.browser
@pytest.mark.skipif(not has_chromium(), reason="needs Debian chromium at /usr/bin/chromium")
def test_report002_a_viewer_sees_reports_in_english_but_cannot_sign(
    ops_server: LiveServer, tokens: dict[str, str], morning: Morning, browser: Any
) -> None:
    page, errors = _open(browser, ops_server, tokens["viewer"], "/laporan?area=16.08&lang=en")
    page.locator("text=Situation reports").first.wait_for(timeout=WAIT)
    page.click(f"#{ids.LAP_DRAFT}")
    page.wait_for_function(
        f"() => document.querySelector('#{ids.LAP_MSG}').innerText.includes('role')",
        timeout=WAIT,
    )
    r = httpx.get(f"{ops_server.url}/api/v1/reports", headers=auth(tokens["viewer"]))
    assert r.json()["count"] == 0
    assert errors == []


def test_the_commander_view_links_to_the_reports() -> None:
    found = []

    def walk(c: Any) -> None:
        if getattr(c, "id", None) == ids.CMD_REPORTS_LINK:
            found.append(c)
        children = getattr(c, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and not isinstance(child, str):
                walk(child)

    walk(commander_layout("en", "16.08"))
    assert [c.href for c in found] == ["/laporan?lang=en&area=16.08"]
    assert found[0].children == "Situation reports"
