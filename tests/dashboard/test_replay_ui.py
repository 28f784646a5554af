"""The commander's time control in a real Chromium: seek, play, back to live.

One server (the small registry, an election-day clock from 08:00 WIB) and one signed-in
commander; pings go through the real webhook intake. The picture is read from the page's hook
(`window.poskoLive`), the control through its own buttons and inputs.
"""

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlmodel import Session

from backend.auth.service import issue
from backend.config import WIB, Settings
from backend.db import make_engine
from backend.migrate import upgrade
from dashboard import ids
from dashboard.replay import (
    REPLAY_AT,
    REPLAY_LIVE,
    REPLAY_PLAY,
    REPLAY_RATE,
    REPLAY_SEEK,
    REPLAY_TIME,
)
from schemas.enums import CredentialKind, Role
from tests.conftest import start_server
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, has_chromium
from tests.dashboard.test_operations_ui import Env, Page, _database, open_page
from tests.factories import NOW, device_token, person_token, seed_mini
from tests.helpers import ping
from tests.ops.harness import wib

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not has_chromium(),
        reason="needs Debian chromium at /usr/bin/chromium (apt install chromium)",
    ),
]

WAIT = 15_000  # generous deadlines for conditions, not timing claims (a shared machine)
# What the screen shows of each TPS, times as numbers (the stream and the snapshot spell them
# differently); `version` is left out (the live one is the writer's compare-and-set token).
PICTURE = """(codes) => {
  const t = (v) => (v ? Date.parse(v) : null);
  const out = {};
  for (const c of codes) {
    const s = window.poskoLive.state(c);
    out[c] = s && [s.phase, s.situation, t(s.phase_at), t(s.situation_at), t(s.last_seen_at),
      t(s.last_received_at), s.last_officer, s.claimed_phase || null, s.claimed_by || null,
      s.incident_situation || null, t(s.corrected_at)];
  }
  return out;
}"""
# How many events the selected TPS's detail panel lists.
EVENTS = f"document.querySelectorAll('#{ids.CMD_DETAIL} .events .event').length"
TIMELINE_REV = (
    f"String(((document.querySelector('#{ids.COMMANDER.timeline} .js-plotly-plot') || {{}})"
    ".layout || {meta: {}}).meta.rev)"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The small registry, tokens, the officers' phones; a server on an election-day clock."""
    with _database(tmp_path_factory.mktemp("replay-ui")) as url:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            secret_key="test-secret-not-for-production",
            max_age_s=10 * 365 * 24 * 3600.0,
            max_future_s=10 * 365 * 24 * 3600.0,
            clock_skew_tolerance_s=10 * 365 * 24 * 3600.0,
            late_after_s=10 * 365 * 24 * 3600.0,
            clock_start=wib(27, "08:00"),
            sweep_interval_s=0.5,
        )
        engine = make_engine(settings)
        upgrade(engine)
        mini = seed_mini(engine)
        tokens = {r.value: person_token(engine, r) for r in Role}
        with Session(engine) as s:
            _, tokens["kiosk"] = issue(session=s, kind=CredentialKind.KIOSK, name="wall", now=NOW)
        devices = {
            nrp: device_token(engine, oid)
            for nrp, oid in zip(mini.officer_nrps, mini.officer_ids, strict=True)
        }
        server = start_server(settings)
        try:
            yield Env(settings, engine, mini, server, tokens, devices)
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


def _clock(env: Env) -> datetime:
    return datetime.fromisoformat(httpx.get(env.server.url + "/api/v1/clock").json()["now"])


def _ping(env: Env, phase: str) -> datetime:
    """The first officer reports the first TPS in `phase` now; the server's clock after it."""
    code = env.mini.tps_codes[0]
    r = httpx.post(
        env.server.url + "/api/v1/pings",
        json=ping(code, phase, at=_clock(env)),
        headers={"authorization": f"Bearer {env.devices[env.mini.officer_nrps[0]]}"},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["result"] == "stored", r.text
    return _clock(env)


def _phase(p: Page, code: str) -> str | None:
    state = p.page.evaluate("(c) => window.poskoLive.state(c)", code)
    return None if state is None else state["phase"]


def test_replay001_seek_play_and_back_to_live(browser: Any, env: Env) -> None:
    code = env.mini.tps_codes[0]
    first = _ping(env, "logistik_tiba")
    time.sleep(3)  # the next report is a few seconds later on the server's clock
    _ping(env, "persiapan")
    p = open_page(browser, env, env.tokens["commander"], "/", ids.COMMANDER.map)
    page = p.page
    page.wait_for_function(
        "(c) => (window.poskoLive.state(c) || {}).phase === 'persiapan'", arg=code, timeout=WAIT
    )
    assert "LANGSUNG" in p.text("#" + REPLAY_AT)
    # The TPS's detail panel, live: both reports.
    page.fill(f"#{ids.CMD_SEARCH}", code)
    page.press(f"#{ids.CMD_SEARCH}", "Enter")
    page.wait_for_function(EVENTS + " === 2", timeout=WAIT)

    # Seek: just after the first report (the control takes whole seconds), typed in WIB.
    typed = (first + timedelta(seconds=1)).astimezone(WIB).strftime("%H:%M:%S")
    page.fill("#" + REPLAY_TIME, typed)
    page.click("#" + REPLAY_SEEK)
    page.wait_for_function(
        "(c) => window.poskoLive.replay.active && !window.poskoLive.replay.loading"
        " && (window.poskoLive.state(c) || {}).phase === 'logistik_tiba'",
        arg=code,
        timeout=WAIT,
    )
    assert page.evaluate("window.poskoLive.connection") == "replay"
    # The server-drawn timeline is redrawn up to the moment (dashboard/replay.py).
    page.wait_for_function(TIMELINE_REV + ".startsWith('replay-')", timeout=WAIT)
    # The side panels follow the moment: the TPS as it stood then (one report) ...
    page.wait_for_function(EVENTS + " === 1", timeout=WAIT)
    assert "persiapan" not in p.text(f"#{ids.CMD_DETAIL} .events").lower()
    assert page.evaluate("window.poskoLive.live") is False
    assert "PUTAR ULANG" in p.text("#" + REPLAY_AT)
    assert page.evaluate("document.body.classList.contains('posko-replay')")
    assert page.evaluate("document.body.classList.contains('posko-lost')") is False

    # While replaying, the field goes on: nothing of it reaches the past picture.
    _ping(env, "pemungutan")
    time.sleep(2.5)
    assert _phase(p, code) == "logistik_tiba"
    assert page.evaluate(EVENTS) == 1
    # ... and an officer heard only later is "never heard" in the silent list of 07:00.
    page.fill("#" + REPLAY_TIME, "07:00:00")
    page.click("#" + REPLAY_SEEK)
    page.wait_for_function(
        "(n) => (document.getElementById(n[0]) || {innerText: ''}).innerText.includes(n[1])",
        arg=[ids.CMD_SILENT, env.mini.officer_nrps[0]],
        timeout=WAIT,
    )
    page.wait_for_function(EVENTS + " === 0", timeout=WAIT)

    # Play forward at 600x: the moment moves on and the second report appears.
    page.select_option("#" + REPLAY_RATE, "600")
    page.click("#" + REPLAY_PLAY)
    page.wait_for_function(
        "(c) => (window.poskoLive.state(c) || {}).phase === 'persiapan'", arg=code, timeout=WAIT
    )
    at = page.evaluate("window.poskoLive.replay.at")
    assert datetime.fromisoformat(at.replace("Z", "+00:00")) > first
    assert page.evaluate("window.poskoLive.replay.rate") == 600

    # One click back to live: a fresh snapshot with what happened meanwhile, deltas again.
    page.click("#" + REPLAY_LIVE)
    page.wait_for_function(
        "(c) => window.poskoLive.live && (window.poskoLive.state(c) || {}).phase === 'pemungutan'",
        arg=code,
        timeout=WAIT,
    )
    assert page.evaluate("window.poskoLive.replay.active") is False
    page.wait_for_function("!" + TIMELINE_REV + ".startsWith('replay-')", timeout=WAIT)
    assert "LANGSUNG" in p.text("#" + REPLAY_AT)
    page.wait_for_function(EVENTS + " === 3", timeout=WAIT)  # the panels are live again
    assert env.mini.officer_nrps[0] not in p.text("#" + ids.CMD_SILENT)
    recorded_at = _ping(env, "penghitungan")
    page.wait_for_function(
        "(c) => (window.poskoLive.state(c) || {}).phase === 'penghitungan'", arg=code, timeout=WAIT
    )
    # The live screen as it stands now (snapshot plus deltas), then replay of that moment: the
    # same picture in the browser.
    codes = env.mini.tps_codes
    live = page.evaluate(PICTURE, codes)
    assert live[code][0] == "penghitungan"
    page.evaluate("(iso) => window.poskoLive.replay.seek(iso)", recorded_at.isoformat())
    page.wait_for_function(
        "() => window.poskoLive.replay.active && !window.poskoLive.replay.loading"
        " && window.poskoLive.replay.at !== null",
        timeout=WAIT,
    )
    page.wait_for_function(
        "(a) => JSON.stringify((" + PICTURE + ")(a[0])) === a[1]",
        arg=[codes, orjson.dumps(live).decode()],
        timeout=WAIT,
    )
    page.click("#" + REPLAY_LIVE)
    page.wait_for_function("() => window.poskoLive.live", timeout=WAIT)
    assert p.errors == []
