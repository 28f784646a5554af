"""The officer's phone app (/lapor) in a real Chromium: first load, offline open, offline flush.

    python -m bench.lapor [--quick]

A `posko serve --certfile --keyfile` process (HTTPS, as phones reach Posko) on a fresh SQLite file
with the small registry; Chromium at 360x640 with mobile emulation, trusting the server's
certificate (tests/lapor/phone.py).

- First load: a fresh phone (empty profile) opens its enrolment link under Chromium's slow-3G
  emulation (CDP Network.emulateNetworkConditions: 400 kbit/s each way, 400 ms RTT). Bytes are
  the encoded (compressed, headers included) lengths of every response the page loaded, from
  the CDP Network.loadingFinished events, plus what the service worker fetched to precache the
  shell (Playwright's service-worker network events: 304 revalidations, and the icons and
  manifest the page did not load itself; these come after the page is usable). Usable = the
  officer's TPS cards are on the home screen (link redeemed, "Mulai" tapped, /field/me answered).
  Baselines: the shell's files gzipped here (what the bytes cannot be less than), and the same
  first load with no throttling.
- Second open offline: the same phone, network off (CDP offline), a new tab on /lapor until the
  cards are back from the service worker and IndexedDB. Baseline: the same open with the network
  on.
- Offline flush: reports made offline by tapping "Kirim situasi saja" (200; 20 with --quick),
  then the network back on (unthrottled, local); the time until the outbox holds nothing
  waiting or unacknowledged, checked against the rows the database gained. Baseline: the same
  number sent by a Python websocket client in frames of 50 (the bare transport and storage).

Targets (issue 11): first load ≤ 150 KB and usable ≤ 5 s on slow 3G; offline open ≤ 1 s; the
flush with its acks ≤ 10 s.
"""

import argparse
import gzip
import sqlite3
import ssl
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.figures import Figure
from bench.pixel import pct

SUITE = "lapor"
BUDGET_BYTES = 150 * 1024
BUDGET_USABLE_S = 5.0
BUDGET_OFFLINE_S = 1.0
BUDGET_FLUSH_S = 10.0
SLOW_3G = {
    "offline": False,
    "latency": 400,  # ms, round trip
    "downloadThroughput": 400_000 / 8,  # bytes/s
    "uploadThroughput": 400_000 / 8,
}
UNTHROTTLED = {"downloadThroughput": -1, "uploadThroughput": -1}
WAIT_MS = 60_000  # deadlines, not measurements


def _shell_gzipped() -> int:
    from dashboard.lapor import SHELL

    return sum(len(gzip.compress(a.body, 6)) for n, a in SHELL.assets.items() if n)


class _Site:
    """The server process, its database and the admin's token."""

    def __init__(self, work: Path) -> None:
        from backend.config import Settings
        from backend.db import make_engine
        from backend.migrate import upgrade
        from schemas.enums import Role
        from tests.conftest import TEST_SECRET
        from tests.factories import person_token, seed_mini
        from tests.lapor.phone import TlsNode

        self.db = work / "posko.db"
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite:///{self.db}",
            secret_key=TEST_SECRET,
        )
        engine = make_engine(settings)
        upgrade(engine)
        self.mini = seed_mini(engine)
        self.admin = person_token(engine, Role.ADMIN)
        engine.dispose()
        self.node = TlsNode(settings.database_url, work)

    def link(self, nrp: str) -> str:
        """A fresh enrolment link for the officer (re-enrolling revokes the phone before)."""
        r = self.node.post("/api/v1/enrolments", {"nrp": nrp}, self.admin)
        r.raise_for_status()
        return str(r.json()["data"][0]["url"])

    def pings(self) -> int:
        """Rows in the ping table."""
        with sqlite3.connect(self.db) as c:
            return int(c.execute("SELECT count(*) FROM ping").fetchone()[0])


def _first_load(browser: Any, site: _Site, nrp: str, throttle: bool) -> dict[str, Any]:
    """A fresh phone opens its link; bytes and seconds until its home screen is usable."""
    from tests.lapor.phone import PHONE

    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if throttle:
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    sizes: dict[str, float] = {}
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], float(e["encodedDataLength"])),
    )
    # The service worker's own fetches (its shell precache) are not the page's: Playwright reports
    # them on the context, marked with the worker.
    worker: list[Any] = []
    context.on("requestfinished", lambda r: worker.append(r) if r.service_worker else None)
    link = site.link(nrp)
    t0 = time.monotonic()
    page.goto(link, wait_until="commit")
    page.get_by_role("button", name="Mulai").click()
    page.wait_for_selector(".card")
    usable = time.monotonic() - t0
    total = sum(sizes.values())
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_timeout(500)  # the last precache events reach us
    # What the worker fetched: revalidations (304, headers only) and the files the page did not
    # load itself (icons, manifest).
    fetched = [r.sizes() for r in worker]
    total += sum(z["responseHeadersSize"] + z["responseBodySize"] for z in fetched)
    # Back to the local network for what follows (the offline open and the flush), and this
    # session gone: a second session's conditions would be re-applied at the next navigation
    # beside Playwright's offline switch (navigator.onLine true while requests fail).
    cdp.send("Network.emulateNetworkConditions", {**SLOW_3G, "latency": 0} | UNTHROTTLED)
    cdp.detach()
    return {
        "context": context,
        "page": page,
        "usable_s": usable,
        "bytes": total,
        "requests": len(sizes),
        "worker_requests": len(fetched),
    }


def _open_again(context: Any, base: str, offline: bool) -> float:
    """A new tab on /lapor of an enrolled phone; seconds until the cards are there."""
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    context.set_offline(offline)
    t0 = time.monotonic()
    page.goto(base + "/lapor/")
    page.wait_for_selector(".card")
    took = time.monotonic() - t0
    if offline:
        assert page.evaluate("() => navigator.onLine") is False
    page.close()
    context.set_offline(False)
    return took


def _flush(page: Any, site: _Site, n: int) -> dict[str, float]:
    """Queue n reports offline, then time the flush until every one is acked."""
    context = page.context
    context.set_offline(True)
    page.reload()  # closes any open socket (the emulation alone leaves it be)
    page.wait_for_selector(".card")
    cards = page.locator(".card")
    for i in range(n):
        cards.nth(i % cards.count()).get_by_role("button", name="Kirim situasi saja").click()
    page.wait_for_function(f"() => window.poskoLapor.counts().menunggu === {n}")
    before = site.pings()
    context.set_offline(False)
    t0 = time.monotonic()
    page.wait_for_function(
        "() => { const c = window.poskoLapor.counts(); return !c.menunggu && !c.terkirim; }",
        polling=10,
    )
    took = time.monotonic() - t0
    gained = site.pings() - before
    return {"flush_s": took, "gained": gained}


def _bare_flush(site: _Site, token: str, n: int) -> float:
    """The same number of pings over a Python websocket, frames of 50, each acked."""
    from websockets.sync.client import connect

    from tests.helpers import ping

    ctx: ssl.SSLContext = site.node.ssl
    tps = site.mini.tps_codes[0]
    now = datetime.now(UTC)
    events = [ping(tps, at=now) for _ in range(n)]
    url = site.node.url.replace("https://", "wss://") + "/ws/field"
    t0 = time.monotonic()
    with connect(url, ssl=ctx, subprotocols=["posko.v1", f"posko.bearer.{token}"]) as ws:  # type: ignore[list-item]
        for i in range(0, n, 50):
            ws.send(orjson.dumps(events[i : i + 50]).decode())
            acks = orjson.loads(ws.recv(timeout=30))
            assert all(a["result"] in ("stored", "duplicate") for a in acks), acks
    return time.monotonic() - t0


def measure(quick: bool) -> dict[str, Any]:
    """Every scenario once per trial; raw samples."""
    from playwright.sync_api import sync_playwright

    from tests.lapor.phone import launch

    trials = 1 if quick else 5
    n = 20 if quick else 200
    out: dict[str, Any] = {"trials": trials, "n": n, "shell_gzip": _shell_gzipped()}
    with tempfile.TemporaryDirectory(prefix="posko-lapor-") as tmp:
        site = _Site(Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = launch(pw, site.node)
                try:
                    slow, fast, offline, online = [], [], [], []
                    nrps = site.mini.officer_nrps
                    for i in range(trials):
                        nrp = nrps[i % len(nrps)]
                        f = _first_load(browser, site, nrp, throttle=False)
                        fast.append(f["usable_s"])
                        f["context"].close()
                        s = _first_load(browser, site, nrp, throttle=True)
                        slow.append(s)
                        offline.append(_open_again(s["context"], site.node.url, offline=True))
                        online.append(_open_again(s["context"], site.node.url, offline=False))
                        if i < trials - 1:
                            s["context"].close()
                    last = slow[-1]
                    flushed = _flush(last["page"], site, n)
                    token = _device_token(site)
                    bare = _bare_flush(site, token, n)
                    last["context"].close()
                finally:
                    browser.close()
        finally:
            site.node.stop()
    out.update(
        slow_usable=[s["usable_s"] for s in slow],
        slow_bytes=[s["bytes"] for s in slow],
        slow_requests=[s["requests"] for s in slow],
        worker_requests=[s["worker_requests"] for s in slow],
        fast_usable=fast,
        offline=offline,
        online=online,
        bare_flush_s=bare,
        **flushed,
    )
    return out


def _device_token(site: _Site) -> str:
    """A device credential of the last officer, for the bare client."""
    from sqlalchemy import create_engine

    from tests.factories import device_token

    engine = create_engine(f"sqlite:///{site.db}")
    try:
        return device_token(engine, site.mini.officer_ids[-1], now=datetime.now(UTC))
    finally:
        engine.dispose()


def figures_from(m: dict[str, Any]) -> list[Figure]:
    """The phone app's figures with their same-run baselines."""
    kb = max(m["slow_bytes"]) / 1024
    usable = pct(m["slow_usable"], 50)
    offline = max(m["offline"])
    conditions = "Chromium 360x640 mobile emulation, HTTPS"
    return [
        Figure(
            SUITE,
            "first load of /lapor, bytes transferred (compressed)",
            round(kb, 1),
            "KB",
            baseline="the shell's files gzipped here (the least the load can cost)",
            baseline_value=round(m["shell_gzip"] / 1024, 1),
            target="≤ 150 KB",
            met=kb * 1024 <= BUDGET_BYTES,
            note=(
                f"{conditions}; enrolment link opened by a fresh profile; the page's "
                f"{max(m['slow_requests'])} responses (CDP encodedDataLength, headers included) "
                f"and the service worker's {max(m['worker_requests'])} precache fetches "
                "(response headers + body: 304 revalidations, icons, manifest); worst of "
                f"{m['trials']} trial(s)"
            ),
        ),
        Figure(
            SUITE,
            "first load of /lapor on slow 3G → home screen usable, p50",
            round(usable, 2),
            "s",
            baseline="the same first load, no throttling",
            baseline_value=round(pct(m["fast_usable"], 50), 2),
            target="≤ 5 s",
            met=usable <= BUDGET_USABLE_S,
            note=(
                f"{conditions}; CDP Network.emulateNetworkConditions 400 kbit/s down and up, "
                "400 ms RTT; from navigation to the officer's TPS cards (link redeemed, Mulai "
                "tapped, /api/v1/field/me answered); trials "
                + ", ".join(f"{v:.2f}" for v in m["slow_usable"])
                + " s"
            ),
        ),
        Figure(
            SUITE,
            "second open of /lapor with the network off → cards shown, worst",
            round(offline, 2),
            "s",
            baseline="the same open with the network on, median",
            baseline_value=round(pct(m["online"], 50), 2),
            target="≤ 1 s",
            met=offline <= BUDGET_OFFLINE_S,
            note=(
                f"{conditions}; a new tab of an enrolled phone, CDP offline; shell from the "
                "service worker, outbox and cards from IndexedDB; trials "
                + ", ".join(f"{v:.2f}" for v in m["offline"])
                + " s"
            ),
        ),
        Figure(
            SUITE,
            f"{m['n']} reports queued offline → all acked once the network returns",
            round(m["flush_s"], 2),
            "s",
            baseline=f"{m['n']} pings from a Python websocket client, frames of 50",
            baseline_value=round(m["bare_flush_s"], 2),
            target="≤ 10 s",
            met=m["flush_s"] <= BUDGET_FLUSH_S and m["gained"] == m["n"],
            note=(
                f"{conditions}; made by tapping 'Kirim situasi saja' offline, then the network "
                "on (unthrottled, same machine); until nothing waits or is unacknowledged; "
                f"database gained {m['gained']} rows for {m['n']} reports"
                + (" ✓" if m["gained"] == m["n"] else " — ACKS != NEW ROWS")
            ),
        ),
    ]


def run(quick: bool) -> list[Figure]:
    """Measure the phone app's budgets."""
    return figures_from(measure(quick))


def main() -> None:
    """Print this suite's figures."""
    parser = argparse.ArgumentParser(description="The phone app's budgets in a real Chromium.")
    parser.add_argument("--quick", action="store_true", help="1 trial, 20 reports")
    args = parser.parse_args()
    for f in run(args.quick):
        met = "" if f.met is None else (" met" if f.met else " MISSED")
        print(f"{f.name}: {f.value:g} {f.unit} (baseline {f.baseline_value:g}){met} — {f.note}")


if __name__ == "__main__":
    main()
