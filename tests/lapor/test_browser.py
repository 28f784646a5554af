"""The officer's phone app (/lapor) in a real Chromium at 360x640, against `posko serve` on HTTPS.

One server process (the small registry on a SQLite file, TLS with a CA made here, assignments
enforced) and one phone for the module; the tests act on them in file order, as an officer's
day would. The network is switched off and on with Chromium's offline emulation
(Network.emulateNetworkConditions); the crash is a SIGKILL of the server and a start on the same
port. What the phone says is read from its page; what the server kept, from its database.
"""

import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from dashboard import ids
from schemas.enums import Role
from tests.conftest import TEST_DB, TEST_SECRET
from tests.dashboard.scenario import has_chromium
from tests.factories import MiniRegistry, person_token, seed_mini
from tests.lapor.phone import PHONE, TlsNode, launch, until
from tests.photos.images import jpeg

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not has_chromium(),
        reason="needs Debian chromium at /usr/bin/chromium (apt install chromium)",
    ),
    pytest.mark.skipif(
        TEST_DB != "sqlite",
        reason="the phone's road is the same on both databases; run once, in the SQLite pass",
    ),
]

WAIT_MS = 30_000  # deadlines for conditions on a shared machine, not timing claims


@dataclass
class Site:
    """The server, its database file, the registry and the people's tokens."""

    node: TlsNode
    db: Path
    mini: MiniRegistry
    admin: str
    commander: str
    nrp: str  # the officer whose phone this is
    links: list[str]  # enrolment links opened so far (the sheet's)

    def sql(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        """Read the server's database."""
        with sqlite3.connect(self.db) as c:
            return list(c.execute(query, args))

    def count(self, table: str) -> int:
        """Rows in a table."""
        return int(self.sql(f"SELECT count(*) FROM {table}")[0][0])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The small registry and a TLS server process on it."""
    work = tmp_path_factory.mktemp("lapor-browser")
    db = work / "posko.db"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{db}",
        secret_key=TEST_SECRET,
    )
    engine = make_engine(settings)
    upgrade(engine)
    mini = seed_mini(engine)
    admin = person_token(engine, Role.ADMIN)
    commander = person_token(engine, Role.COMMANDER)
    engine.dispose()
    # Assignments enforced: a report on a TPS that is not the officer's is refused (lapor005).
    node = TlsNode(settings.database_url, work, POSKO_ENFORCE_ASSIGNMENT="true")
    try:
        yield Site(node, db, mini, admin, commander, mini.officer_nrps[0], [])
    finally:
        node.stop()


@pytest.fixture(scope="module")
def pw() -> Iterator[Any]:
    """Playwright, once for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw: Any, site: Site) -> Iterator[Any]:
    """One Chromium for the module, trusting the server's certificate."""
    b = launch(pw, site.node)
    yield b
    b.close()


@pytest.fixture(scope="module")
def phone(browser: Any) -> Iterator[Any]:
    """The officer's phone: one page in a phone-sized context; page errors fail the module."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, errors


def counts(page: Any) -> dict[str, int]:
    """The outbox's counts by state (window.poskoLapor)."""
    found: dict[str, int] = page.evaluate("() => window.poskoLapor.counts()")
    return found


def made(page: Any) -> list[str]:
    """Event ids of the outbox's reports in the order they were made, as the server writes them."""
    ids: list[str] = page.evaluate("() => window.poskoLapor.records().map(r => r.event_id)")
    return [i.replace("-", "") for i in ids]


def stored_pings(site: Site) -> list[str]:
    """Event ids of the stored pings, in the order they were stored."""
    return [str(r[0]).replace("-", "") for r in site.sql("SELECT event_id FROM ping ORDER BY id")]


def go_offline(page: Any) -> None:
    """Switch the network off and reload: the reload closes any open socket (the emulation alone
    leaves an open one be) and proves the shell opens from the service worker with no network."""
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector(".card")
    assert page.evaluate("() => navigator.onLine") is False


def situation_only(page: Any, n: int) -> list[str]:
    """Make `n` situation reports round the officer's cards; the event ids now waiting."""
    cards = page.locator(".card")
    before = counts(page).get("menunggu", 0)
    for i in range(n):
        card = cards.nth(i % cards.count())
        if i % 7 == 0:
            card.locator((".sit-aman", ".sit-waspada", ".sit-gangguan")[i % 3]).click()
        card.get_by_role("button", name="Kirim situasi saja").click()
    until(f"{n} reports queued", lambda: counts(page).get("menunggu") == before + n)
    ids: list[str] = page.evaluate(
        "() => window.poskoLapor.records().filter(r => r.state === 'menunggu').map(r => r.event_id)"
    )
    return [i.replace("-", "") for i in ids]


def flushed(page: Any) -> bool:
    """Nothing waits or is on its way."""
    c = counts(page)
    return c.get("menunggu") == 0 and c.get("terkirim") == 0


def test_lapor001_a_phone_enrols_from_the_sheets_link(site: Site, phone: Any) -> None:
    r = site.node.post(
        "/api/v1/enrolments?format=html", {"polsek": _polsek_of(site, site.nrp)}, site.admin
    )
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("text/html")
    cards = dict(re.findall(r'data-nrp="([^"]+)" data-link="([^"]+)"', r.text))
    link = cards[site.nrp].replace("&amp;", "&")
    assert link.startswith(f"{site.node.url}/lapor/#daftar=pke_")
    site.links.append(link)

    phone.goto(link)
    phone.get_by_text("HP ini terdaftar").wait_for()
    code = link.partition("#daftar=")[2]
    # The code is gone from the address bar and from the browser's history.
    assert code not in phone.url
    assert code not in phone.evaluate("() => location.href + JSON.stringify(history.state)")
    phone.get_by_role("button", name="Mulai").click()
    phone.wait_for_selector(".card")
    assert phone.locator(".card").count() == len(
        [t for t, ids in site.mini.assignments.items() if site.mini.officer_ids[0] in ids]
    )
    # The service worker takes the page once installed: from now on the app opens offline.
    phone.wait_for_function("() => navigator.serviceWorker.controller !== null")
    device = site.sql(
        "SELECT count(*) FROM credential c JOIN officer o ON o.id = c.officer_id"
        " WHERE o.nrp = ? AND c.kind = 'device' AND c.revoked_at IS NULL",
        site.nrp,
    )
    assert device[0][0] == 1
    assert site.sql("SELECT count(*) FROM audit_entry WHERE action = 'enrolment.redeem'")[0][0] == 1


def test_lapor002_a_report_made_online_is_stored(site: Site, phone: Any) -> None:
    phone.locator(".card").first.locator(".next").click()
    until("the report acked", lambda: counts(phone).get("diterima") == 1)
    assert stored_pings(site) == made(phone)


def test_lapor003_twenty_reports_made_offline_arrive_once_in_order(site: Site, phone: Any) -> None:
    before = site.count("ping")
    go_offline(phone)
    queued = situation_only(phone, 20)
    # Reopened with no network: the service worker serves the app, the outbox is still there.
    phone.reload()
    phone.wait_for_selector(".card")
    assert counts(phone).get("menunggu") == 20
    assert site.count("ping") == before  # nothing left the phone
    phone.context.set_offline(False)
    until("the 20 acked", lambda: counts(phone).get("diterima") == before + 20)
    assert stored_pings(site)[before:] == queued  # exactly these 20, in the order made
    times = [r[0] for r in site.sql("SELECT device_time FROM ping ORDER BY id")]
    assert times == sorted(times)


def test_lapor004_a_server_killed_mid_flush_loses_and_doubles_nothing(
    site: Site, phone: Any
) -> None:
    n = 110  # three frames (50 + 50 + 10): the crash falls after the first is stored
    before = site.count("ping")
    acked_before = counts(phone).get("diterima", 0)
    go_offline(phone)
    queued = situation_only(phone, n)
    phone.context.set_offline(False)
    deadline = time.monotonic() + WAIT_MS / 1000
    while (at_kill := site.count("ping") - before) == 0 and time.monotonic() < deadline:
        time.sleep(0.002)
    site.node.kill()
    acked_at_kill = counts(phone).get("diterima", 0) - acked_before
    site.node.start()  # the same port: the phone finds it again by itself
    # Mid-flush: something was stored, and something was not yet stored or not yet acked (the
    # writer may take all three frames into one commit; their acks were then still on the way).
    assert at_kill > 0, "nothing stored before the kill"
    assert at_kill < n or acked_at_kill < n, f"{at_kill} stored, {acked_at_kill} acked of {n}"
    until("every report acked after the restart", lambda: flushed(phone), timeout=90)
    stored = stored_pings(site)
    assert stored[before:] == queued  # none lost, none doubled, in the order made
    assert len(set(stored)) == len(stored)
    assert counts(phone).get("ditolak") == 0


def test_lapor005_a_refused_report_shows_its_reason_in_bahasa(site: Site, phone: Any) -> None:
    mine = {t for t, ids in site.mini.assignments.items() if site.mini.officer_ids[0] in ids}
    dead = site.count("dead_letter")
    phone.goto(site.node.url + "/lapor/#beranda")
    phone.wait_for_selector(".card")
    phone.locator("#search-q").fill("16.08")
    phone.get_by_role("button", name="Cari", exact=True).click()
    other = until(
        "a TPS of the area that is not mine",
        lambda: next(
            (
                t
                for t in phone.eval_on_selector_all(
                    "[data-tps]", "els => els.map(e => e.dataset.tps)"
                )
                if t not in mine
            ),
            None,
        ),
    )
    phone.locator(f"[data-tps='{other}']").first.get_by_role(
        "button", name="Kirim situasi saja"
    ).click()
    until("the refusal", lambda: counts(phone).get("ditolak") == 1)
    phone.goto(site.node.url + "/lapor/#kiriman")
    reason = phone.locator(".report.state-ditolak .reason").first
    reason.wait_for()
    assert "Anda tidak ditugaskan di TPS ini" in reason.inner_text()
    assert (
        "Minta Posko memperbarui penugasan Anda"
        in phone.locator(".report.state-ditolak").first.inner_text()
    )
    assert site.count("dead_letter") == dead + 1  # kept for audit
    # It stays until the officer dismisses it.
    phone.reload()
    phone.wait_for_selector(".report.state-ditolak")
    phone.locator(".report.state-ditolak").get_by_role("button", name="Hapus dari daftar").click()
    until("dismissed", lambda: phone.locator(".report.state-ditolak").count() == 0)


def test_lapor006_an_incident_photo_reaches_the_commanders_incident(
    site: Site, phone: Any, browser: Any
) -> None:
    phone.goto(site.node.url + "/lapor/#insiden")
    phone.locator("select[name=category]").select_option("politik_uang")
    phone.locator(".sev-3").click()
    phone.locator("textarea[name=description]").fill("Pembagian amplop di dekat TPS.")
    picture = jpeg(2000, 1500, seed=11)
    phone.locator("#photo-input").set_input_files(
        files=[{"name": "foto.jpg", "mimeType": "image/jpeg", "buffer": picture}]
    )
    phone.wait_for_selector(".thumb img")
    phone.get_by_role("button", name="Kirim laporan").click()
    phone.wait_for_selector("[data-screen=kiriman]")
    row = until(
        "the photo stored",
        lambda: site.sql(
            "SELECT r.incident_id, p.id, p.size, p.width, p.height, p.content_type"
            " FROM incident_photo p JOIN incident_report r ON r.id = p.report_id"
        ),
    )[0]
    incident_id, photo_id, size, width, height, kind = row
    assert kind == "image/jpeg" and size <= 300 * 1024  # shrunk on the phone
    assert max(width, height) <= 1280
    # The commander sees it on the incident: listed, and its bytes served to them.
    listed = site.node.get(f"/api/v1/incidents/{incident_id}/photos", site.commander)
    assert listed.status_code == 200, listed.text
    assert [p["id"] for p in listed.json()["data"]] == [photo_id]
    full = site.node.get(f"/api/v1/photos/{photo_id}", site.commander)
    assert full.status_code == 200 and full.content[:3] == b"\xff\xd8\xff"
    assert len(full.content) == size
    assert site.node.get(f"/api/v1/photos/{photo_id}/thumb", site.commander).status_code == 200
    # And on the commander's screen: the incident's row shows the thumbnail, linked to the photo.
    desk = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = desk.new_page()
        page.goto(f"{site.node.url}/login?token={site.commander}&next=/")
        page.wait_for_function(
            "(id) => { const img = document.querySelector("
            "'#' + CSS.escape(id.box) + ' [data-incident=\"' + id.row + '\"] .photos img');"
            " return !!img && img.complete && img.naturalWidth > 0; }",
            arg={"box": ids.CMD_INCIDENTS, "row": str(incident_id)},
            timeout=WAIT_MS * 2,
        )
        link = page.locator(f"[data-incident='{incident_id}'] .photos a").first
        assert link.get_attribute("href") == f"/api/v1/photos/{photo_id}"
    finally:
        desk.close()


def test_lapor007_a_revoked_phone_is_refused_and_says_so(site: Site, phone: Any) -> None:
    # The officer is enrolled again (a new phone): this one's credential is revoked at once.
    again = site.node.post("/api/v1/enrolments", {"nrp": site.nrp}, site.admin)
    code = again.json()["data"][0]["url"].partition("#daftar=")[2]
    redeemed = httpx.post(
        site.node.url + "/api/v1/enrolments/redeem", json={"code": code}, verify=site.node.ssl
    )
    assert redeemed.status_code == 200, redeemed.text
    pings = site.count("ping")
    phone.goto(site.node.url + "/lapor/#beranda")
    phone.wait_for_selector(".card")
    phone.locator(".card").first.get_by_role("button", name="Kirim situasi saja").click()
    banner = phone.locator(".banner-bad")
    banner.wait_for()
    assert "HP ini tidak terdaftar lagi" in banner.inner_text()
    assert counts(phone).get("menunggu") == 1  # kept on the phone, not sent
    time.sleep(1)
    assert site.count("ping") == pings
    assert site.count("auth_failure") >= 1


def test_lapor008_an_enrolment_link_works_once(site: Site, browser: Any) -> None:
    context = browser.new_context(**PHONE)  # another phone tries the same QR
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(site.links[0])
    reason = page.locator("#enrol-reason[data-code=used]")
    reason.wait_for()
    assert "sudah dipakai" in reason.inner_text()
    assert "daftar" not in page.url
    assert page.locator(".card").count() == 0  # no credential, no home screen
    refused = site.sql("SELECT count(*) FROM auth_failure WHERE reason = 'enrolment link used'")
    assert refused[0][0] == 1  # kept for audit
    context.close()


def _polsek_of(site: Site, nrp: str) -> str:
    return str(
        site.sql(
            "SELECT u.code FROM officer o JOIN unit u ON u.id = o.unit_id WHERE o.nrp = ?", nrp
        )[0][0]
    )
