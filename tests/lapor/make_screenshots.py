"""Screenshots of the officer's phone app at 360x640, taken while walking through it by hand.

    python -m tests.lapor.make_screenshots [--out docs/lapor]

Seeds the real OKU Timur registry into a temporary database, starts the server on an exercise
clock (27 Nov 2024, 09:40 WIB), opens /lapor in Chromium with a phone's screen, touch and
location, and walks through it: a refused and an accepted enrolment link, reports online,
reports made offline and sent when the network returns (after a reload with no network), an
incident with a photo, a rejected report, SOS, the status screen and a revoked phone. At each
step it checks the database and saves a screenshot.

The phone's read API and the enrolment exchange are answered here, in the shape LAPOR.md gives
them, until their server side is merged (issue 11): `/api/v1/field/me`, `/api/v1/field/tps`
and `/api/v1/enrolments/redeem` are routed by Playwright to answers built from the database.
Everything the phone sends goes to the real server over the real socket or webhook.
"""

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx
import orjson
from playwright.sync_api import Page, Route, sync_playwright
from sqlmodel import Session

from backend.auth.service import revoke
from backend.db import make_engine
from backend.schedule.calendar import ElectionCalendar, expected_phase
from tests.conftest import start_server
from tests.dashboard.scenario import CHROMIUM, make_settings, seed

WIB = ZoneInfo("Asia/Jakarta")
CLOCK_START = datetime(2024, 11, 27, 9, 40, tzinfo=WIB)
ICON = Path(__file__).resolve().parents[2] / "dashboard" / "lapor" / "icons" / "icon-512.png"
WAIT_S = 30.0  # a deadline for a condition, not a measurement
UNKNOWN_TPS = "16.08.03.2001-099"  # a TPS code the registry does not have


class Walk:
    """The running server, its database and what the phone is enrolled as."""

    def __init__(self, db: Path, url: str, token: str, officer: dict[str, Any]) -> None:
        self.db = db
        self.url = url
        self.token = token
        self.officer = officer

    def sql(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        """Read the server's database."""
        with sqlite3.connect(self.db) as c:
            return list(c.execute(query, args))

    def cards(self, where: str, *args: object) -> list[dict[str, Any]]:
        """TPS cards as GET /api/v1/field/me and /tps answer them (LAPOR.md's TpsCard)."""
        now = datetime.fromisoformat(httpx.get(self.url + "/api/v1/clock").json()["now"])
        expected = expected_phase(ElectionCalendar(), now)
        rows = self.sql(
            "SELECT t.code, t.number, d.name, k.name, t.risk, t.lat, t.lon, s.phase, s.situation,"
            " s.last_seen_at, o.rank || ' ' || o.name,"
            " EXISTS(SELECT 1 FROM assignment a JOIN officer me ON me.id = a.officer_id"
            "        WHERE a.tps_id = t.id AND me.nrp = ?)"
            " FROM tps t JOIN region d ON d.code = t.desa_code"
            " JOIN region k ON k.code = t.kecamatan_code"
            " JOIN tps_state s ON s.tps_id = t.id LEFT JOIN officer o ON o.id = s.last_officer_id"
            f" WHERE {where} ORDER BY t.code LIMIT 20",
            self.officer["nrp"],
            *args,
        )
        keys = "code number desa kecamatan risk lat lon phase situation last_seen_at last_officer"
        cards = []
        for row in rows:
            card = dict(zip(keys.split(), row[:11], strict=True))
            if card["last_seen_at"]:
                card["last_seen_at"] = (
                    datetime.fromisoformat(card["last_seen_at"]).replace(tzinfo=UTC).isoformat()
                )
            card["expected_phase"] = expected.value if expected else None
            card["is_assigned"] = bool(row[11])
            cards.append(card)
        return cards


def until(what: str, check: Callable[[], object], timeout: float = WAIT_S) -> Any:
    """Wait for `check()` to be truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {what}")


def routes(page: Page, walk: Walk) -> None:
    """Answer the parts of the phone's API that are not merged yet (see the module doc)."""

    def me(route: Route) -> None:
        if route.request.headers.get("authorization") != f"Bearer {walk.token}":
            route.fulfill(status=401, json={"detail": {"field": "token", "reason": "x"}})
            return
        tps = walk.cards(
            "t.id IN (SELECT a.tps_id FROM assignment a JOIN officer o ON o.id = a.officer_id"
            " WHERE o.nrp = ?)",
            walk.officer["nrp"],
        )
        now = httpx.get(walk.url + "/api/v1/clock").json()
        route.fulfill(
            json={"officer": walk.officer, "server_time": now["now"], "exercise": None, "tps": tps}
        )

    def search(route: Route) -> None:
        q = parse_qs(urlparse(route.request.url).query).get("q", [""])[0]
        cards = walk.cards("(d.name LIKE ? OR t.code LIKE ?)", f"%{q}%", f"%{q}%")
        if q == "099":  # a card the server's registry does not know: its report is refused
            cards = [{**walk.cards("1=1")[0], "code": UNKNOWN_TPS, "number": 99}]
        route.fulfill(json={"data": cards})

    def redeem(route: Route) -> None:
        code = orjson.loads(route.request.post_data or "{}").get("code")
        if code == "sudah-dipakai":
            detail = {"field": "code", "reason": "already used", "code": "used"}
            route.fulfill(status=410, json={"detail": detail})
            return
        route.fulfill(json={"token": walk.token, "credential_id": 1, "officer": walk.officer})

    page.route("**/api/v1/field/me", me)
    page.route("**/api/v1/field/tps?*", search)
    page.route("**/api/v1/enrolments/redeem", redeem)


def counts(page: Page) -> dict[str, int]:
    """The app's outbox counts (window.poskoLapor)."""
    found: dict[str, int] = page.evaluate(
        "() => window.poskoLapor ? window.poskoLapor.counts() : {}"
    )
    return found


def shot(page: Page, out: Path, name: str) -> None:
    """Save the screen as it is now (the whole page is 360 px wide)."""
    page.wait_for_timeout(300)  # let the 50 ms render coalescing and fonts settle
    page.evaluate("() => { document.getElementById('toast').hidden = true; }")
    page.screenshot(path=str(out / f"{name}.png"))
    print("saved", name)


def walk_through(walk: Walk, out: Path, scale: float) -> None:
    """The whole walk; asserts as it goes."""
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(
            viewport={"width": 360, "height": 640},
            device_scale_factor=scale,
            is_mobile=True,
            has_touch=True,
            locale="id-ID",
            timezone_id="Asia/Jakarta",
            geolocation={"latitude": -4.1461, "longitude": 104.6391, "accuracy": 20},
            permissions=["geolocation"],
        )
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on(
            "console",
            lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        routes(page, walk)
        base = walk.url + "/lapor/"

        page.goto(base)
        page.wait_for_selector("[data-screen=daftar]")
        shot(page, out, "00-belum-terdaftar")

        page.goto(base + "#daftar=sudah-dipakai")
        page.wait_for_selector("#enrol-reason[data-code=used]")
        assert "daftar" not in page.url, page.url
        shot(page, out, "01-daftar-gagal")

        page.goto(base + "#daftar=kode-baru")
        page.get_by_text("HP ini terdaftar").wait_for()
        assert "daftar" not in page.url and "kode-baru" not in page.url, page.url
        history = page.evaluate("() => history.length")
        shot(page, out, "02-daftar-berhasil")
        page.get_by_role("button", name="Mulai").click()
        page.wait_for_selector(".card")
        print("enrolled; history entries:", history)
        shot(page, out, "03-beranda")

        # Online: one tap, one ping stored.
        page.locator(".card").first.locator(".next").click()
        until("the first ping acked", lambda: counts(page).get("diterima") == 1)
        assert walk.sql("SELECT count(*) FROM ping")[0][0] == 1
        print("online ping stored; via", page.evaluate("() => window.poskoLapor.sender().via"))

        # Offline: three reports wait; a reload with no network still opens the app and them.
        # (Chromium's offline switch leaves an open socket be: wait for the idle one to close.)
        until(
            "the idle socket closed",
            lambda: not page.evaluate("() => window.poskoLapor.sender().socketOpen"),
            timeout=60,
        )
        context.set_offline(True)
        page.wait_for_timeout(500)
        first = page.locator(".card").first
        first.locator(".sit-waspada").click()
        first.locator(".note").fill("Antrean pemilih panjang, situasi terkendali")
        first.locator(".next").click()
        until("queued 1", lambda: counts(page).get("menunggu") == 1)
        page.locator(".card").nth(1).locator(".next").click()
        until("queued 2", lambda: counts(page).get("menunggu") == 2)
        page.locator(".card").first.get_by_role("button", name="Kirim situasi saja").click()
        until("queued 3", lambda: counts(page).get("menunggu") == 3)
        shot(page, out, "04-beranda-tanpa-sinyal")
        page.goto(base + "#kiriman")
        page.wait_for_selector(".report")
        shot(page, out, "05-kiriman-menunggu")
        page.reload()
        page.wait_for_selector(".report.state-menunggu")
        assert counts(page).get("menunggu") == 3, counts(page)
        print("reopened offline from the service worker with 3 reports waiting")
        assert walk.sql("SELECT count(*) FROM ping")[0][0] == 1
        context.set_offline(False)
        until("the three acked", lambda: counts(page).get("diterima") == 4)
        made = page.evaluate("() => window.poskoLapor.records().map(r => r.event_id)")
        stored = [r[0] for r in walk.sql("SELECT event_id FROM ping ORDER BY id")]
        assert [s.replace("-", "") for s in stored] == [m.replace("-", "") for m in made], (
            stored,
            made,
        )
        print("4 pings stored, in the order made")

        # An incident with a photo.
        page.goto(base + "#insiden")
        page.locator("select[name=category]").select_option("politik_uang")
        page.locator(".sev-3").click()
        page.locator("textarea[name=description]").fill(
            "Warga melaporkan pembagian amplop di dekat TPS. Dua orang diamankan."
        )
        page.locator("#photo-input").set_input_files(str(ICON))
        page.wait_for_selector(".thumb img")
        page.locator("textarea[name=description]").blur()
        shot(page, out, "06-insiden")
        page.locator(".photos").scroll_into_view_if_needed()
        shot(page, out, "06-insiden-foto")
        page.get_by_role("button", name="Kirim laporan").click()
        page.wait_for_selector("[data-screen=kiriman]")
        until(
            "incident stored", lambda: walk.sql("SELECT count(*) FROM incident_report")[0][0] == 1
        )
        print("incident stored (its photo waits for the upload endpoint of issue 11)")

        # A refused report: its reason in Bahasa, and a dismiss button.
        page.goto(base + "#beranda")
        page.locator("#search-q").fill("099")
        page.get_by_role("button", name="Cari", exact=True).click()
        page.wait_for_selector(f"[data-tps='{UNKNOWN_TPS}']")
        page.locator(f"[data-tps='{UNKNOWN_TPS}'] .next").click()
        until("the rejection", lambda: counts(page).get("ditolak") == 1)
        page.goto(base + "#kiriman")
        page.wait_for_selector(".report.state-ditolak .reason")
        shot(page, out, "07-kiriman-ditolak")

        # SOS.
        page.goto(base + "#sos")
        page.wait_for_selector("#sos-button")
        shot(page, out, "08-sos")
        page.locator("#sos-button").click()
        page.wait_for_selector("#modal-yes")
        shot(page, out, "09-sos-konfirmasi")
        page.locator("#modal-yes").click()
        until(
            "SOS stored",
            lambda: walk.sql("SELECT count(*) FROM incident_report WHERE severity = 4")[0][0] == 1,
        )
        page.wait_for_selector(".sos-state.state-diterima")
        row = walk.sql("SELECT description, lat, lon FROM incident_report WHERE severity = 4")[0]
        print("SOS stored:", row)
        shot(page, out, "10-sos-diterima")

        page.goto(base + "#status")
        page.wait_for_selector(".status")
        page.wait_for_function("() => !document.body.textContent.includes('belum diketahui')")
        shot(page, out, "11-status")

        # The phone's credential is revoked: the next send is refused and the phone says so.
        engine = make_engine_for(walk)
        with Session(engine) as s:
            cred = walk.sql(
                "SELECT c.id FROM credential c JOIN officer o ON o.id = c.officer_id"
                " WHERE o.nrp = ?",
                walk.officer["nrp"],
            )[0][0]
            revoke(session=s, credential_id=cred, now=datetime.now(UTC))
        engine.dispose()
        time.sleep(6)  # the server's credential cache (credential_cache_s, 5 s here) forgets it
        page.goto(base + "#beranda")
        page.wait_for_selector(".card")
        page.locator(".card").first.get_by_role("button", name="Kirim situasi saja").click()
        page.wait_for_selector(".banner-bad", timeout=WAIT_S * 1000)
        shot(page, out, "12-hp-dicabut")
        assert counts(page).get("menunggu") == 1

        browser.close()
    for p in problems:
        print("PROBLEM", p)


def make_engine_for(walk: Walk) -> Any:
    """An engine on the walk's database."""
    return make_engine(make_settings(walk.db))


def main() -> None:
    """Seed, serve, walk, save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/lapor"))
    parser.add_argument("--scale", type=float, default=1.0, help="device pixels per CSS pixel")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "posko.db"
        # The walk revokes the phone in SQL, behind the server's back: nothing announces it, so
        # the server learns it only when its cache entry expires. Keep that short here.
        settings = make_settings(db, clock_start=CLOCK_START, clock_speed=1.0).model_copy(
            update={"credential_cache_s": 5.0}
        )
        seeded = seed(settings)
        row = (
            sqlite3.connect(db)
            .execute(
                "SELECT o.nrp, o.name, o.rank, u.code, u.name FROM officer o"
                " JOIN unit u ON u.id = o.unit_id JOIN assignment a ON a.officer_id = o.id"
                " WHERE u.kind = 'polsek' GROUP BY o.id HAVING count(*) >= 3 ORDER BY o.nrp LIMIT 1"
            )
            .fetchone()
        )
        officer = dict(zip(("nrp", "name", "rank", "unit_code", "unit_name"), row, strict=True))
        server = start_server(settings)
        try:
            walk = Walk(db, server.url, seeded.devices[officer["nrp"]], officer)
            walk_through(walk, args.out, args.scale)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
