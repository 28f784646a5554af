"""The phone app's Kotak screen in a real Chromium at 360x640, against `posko serve` on HTTPS.

An officer enrols from the sheet's link, then reports the boxes of a TPS step by step: sealed
with its seal numbers and a photo of the seals, left for the PPK, handed over without a berita
acara number (the app asks first). What the server kept is read from its database.
"""

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
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

WAIT_MS = 30_000


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TlsNode, Path, MiniRegistry, str]]:
    """The small registry and a TLS server process on it; the admin's token."""
    work = tmp_path_factory.mktemp("lapor-custody")
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
    engine.dispose()
    node = TlsNode(settings.database_url, work)
    try:
        yield node, db, mini, admin
    finally:
        node.stop()


def _sql(db: Path, query: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as c:
        return list(c.execute(query, args))


def test_lapor_custody001_an_officer_reports_the_boxes_step_by_step(
    site: tuple[TlsNode, Path, MiniRegistry, str],
) -> None:
    from playwright.sync_api import sync_playwright

    node, db, mini, admin = site
    nrp = mini.officer_nrps[0]
    polsek = _sql(
        db, "SELECT u.code FROM officer o JOIN unit u ON u.id = o.unit_id WHERE o.nrp = ?", nrp
    )[0][0]
    r = node.post("/api/v1/enrolments?format=html", {"polsek": polsek}, admin)
    assert r.status_code == 201, r.text
    link = dict(re.findall(r'data-nrp="([^"]+)" data-link="([^"]+)"', r.text))[nrp]
    with sync_playwright() as pw:
        browser = launch(pw, node)
        page = browser.new_context(**PHONE).new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(link.replace("&amp;", "&"))
        page.get_by_role("button", name="Mulai").click()
        page.wait_for_selector(".card")

        page.locator(".tab-kotak").click()
        page.wait_for_selector("form.custody")
        assert (
            page.locator("form.custody input[name=step]:checked").get_attribute("value") == "segel"
        )
        page.get_by_role("button", name="Kirim langkah kotak").click()
        assert "nomor segel" in page.locator("form.custody .form-error").inner_text()
        page.fill("input[name=seals]", "SG-001, SG-002 SG-003")
        # The seals' photo, optional: one, shrunk on the phone, sent after the step's ack.
        page.locator("#seal-photo-input").set_input_files(
            files=[{"name": "segel.jpg", "mimeType": "image/jpeg", "buffer": jpeg(1800, 1200)}]
        )
        page.wait_for_selector("form.custody .thumb img")
        assert page.locator("#seal-photo-input").count() == 0, "one photo of the seals"
        page.get_by_role("button", name="Kirim langkah kotak").click()
        until("the seal stored", lambda: _sql(db, "SELECT count(*) FROM custody_event")[0][0] == 1)
        photo = until(
            "the seal photo stored",
            lambda: _sql(
                db,
                "SELECT e.step, p.width, p.height, p.size, p.report_id FROM incident_photo p"
                " JOIN custody_event e ON e.id = p.custody_event_id",
            ),
        )
        assert photo == [("segel", 1280, 853, photo[0][3], None)], photo
        assert photo[0][3] <= 300 * 1024  # shrunk on the phone

        page.locator(".tab-kotak").click()
        # The next step is picked for the TPS whose boxes were sealed.
        page.wait_for_selector("form.custody input[value=berangkat]:checked")
        page.fill("input[name=vehicle]", "BG 1234 XY")
        page.fill("input[name=escorts]", mini.officer_nrps[1])
        page.get_by_role("button", name="Kirim langkah kotak").click()
        until(
            "the departure stored",
            lambda: _sql(db, "SELECT count(*) FROM custody_event")[0][0] == 2,
        )

        page.locator(".tab-kotak").click()
        page.locator(".step-serah_terima").click()
        page.fill("input[name=receiver]", "Siti Aminah")
        page.get_by_role("button", name="Kirim langkah kotak").click()
        page.wait_for_selector("#modal-yes")  # no BA number: asked once
        page.locator("#modal-yes").click()
        until(
            "the handover stored", lambda: _sql(db, "SELECT count(*) FROM custody_event")[0][0] == 3
        )
        assert errors == []
        browser.close()

    rows = _sql(
        db,
        "SELECT step, seal_numbers, vehicle, escort_nrps, ba_number, receiver_name, tps_code "
        "FROM custody_event ORDER BY device_time",
    )
    assert [r[0] for r in rows] == ["segel", "berangkat", "serah_terima"]
    assert orjson.loads(rows[0][1]) == ["SG-001", "SG-002", "SG-003"]
    assert (rows[1][2], orjson.loads(rows[1][3])) == ("BG 1234 XY", [mini.officer_nrps[1]])
    assert rows[2][4:6] == (None, "Siti Aminah")
    assert {r[6] for r in rows} == {mini.tps_codes[0]}
    phase = _sql(
        db,
        "SELECT s.phase FROM tps_state s JOIN tps t ON t.id = s.tps_id WHERE t.code = ?",
        mini.tps_codes[0],
    )
    assert phase[0][0] == "diterima_ppk"
