"""Server restart: how soon the wall and the officers' phones are back, beside opening them anew.

    python -m bench.restart [--quick]

A `posko serve` node (subprocess) on a fresh SQLite file holding the 1,012-TPS OKU Timur registry.

Screens: Chromium at 1920x1080 on /wall (kiosk link). Each trial kills the node with SIGKILL, waits
until the wall says it is cut off, and starts the node again on the same port; from the moment
`/healthz` answers, the time until the wall is live again (`poskoLive.live`, banner hidden).
Baseline in the same run: opening /wall anew in a fresh page until it is live.

Phones: the simulator's 298 officers, all on websockets, playing the day against the node. Each
trial kills the node the same way; from the moment `/healthz` answers, the time until every phone
is connected again. Baseline in the same run: from the simulator's start until every phone first
connected.

Target for both (the README's restart guarantee): back within 5 s of the server answering. The
tests (tests/dashboard/test_browser.py wall005, tests/simulate/test_run.py) check that they come
back and nothing is lost or doubled, with generous deadlines; the time is measured here.
"""

import argparse
import asyncio
import contextlib
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.figures import Figure
from bench.pixel import pct

SUITE = "restart"
TARGET_S = 5.0
LIVE = """(id) => {
  const g = document.querySelector('#' + id + ' .js-plotly-plot');
  return !!(g && g._fullData && g._fullData[0] && window.poskoLive && window.poskoLive.live);
}"""
BACK = """(sel) => window.poskoLive && window.poskoLive.live
  && document.querySelector(sel).classList.contains('hidden')"""


def _answering(url: str, deadline_s: float = 60.0) -> float:
    """Wait until /healthz answers; the monotonic time it first did."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code in (200, 503):
                return time.monotonic()
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} did not answer within {deadline_s:.0f} s")


class _Node:
    """One `posko serve` process that can be killed and started again on its port."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        from tests.scale.conftest import start_node

        self.env, self.logs = env, logs
        self.node = start_node(env, logs)
        self.url = self.node.url

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        self.node.proc.send_signal(signal.SIGKILL)
        self.node.proc.wait(timeout=30)

    def restart(self) -> float:
        """Start again on the same port; the moment it answers."""
        from tests.scale.conftest import Node, _popen

        log = self.logs / f"node-{self.node.port}-again.log"
        with log.open("ab") as out:
            proc = _popen(self.node.port, 1, self.env, out)
        self.node = Node(self.node.port, proc, log)
        return _answering(self.url)

    def stop(self) -> None:
        """Stop for good."""
        self.node.stop()


def _screens(node: _Node, kiosk: str, trials: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from dashboard import ids
    from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS

    banner = f"#{ids.WALL.banner}"
    opened: list[float] = []
    back: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1920, "height": 1080})
            page = context.new_page()
            page.goto(f"{node.url}/login?token={kiosk}&next=/wall")  # sets the cookie
            page.wait_for_function(LIVE, arg=ids.WALL.map, timeout=60_000)
            for _ in range(trials):  # baseline: the same wall opened anew
                fresh = context.new_page()
                t0 = time.monotonic()
                fresh.goto(f"{node.url}/wall")
                fresh.wait_for_function(LIVE, arg=ids.WALL.map, timeout=60_000)
                opened.append(time.monotonic() - t0)
                fresh.close()
            for _ in range(trials):
                node.kill()
                page.wait_for_function("() => window.poskoLive.lost", timeout=30_000)
                answered = node.restart()
                page.wait_for_function(BACK, arg=banner, timeout=60_000, polling=20)
                back.append(time.monotonic() - answered)
        finally:
            browser.close()
    return {"opened": opened, "back": back}


def _phones(node: _Node, creds: Any, trials: int) -> dict[str, list[float]]:
    from backend.simulate.runner import RunConfig, Runner, WsPhone

    runner = Runner(
        RunConfig(
            url=node.url,
            viewer=creds.viewer,
            devices=creds.devices,
            seed=7,
            webhook_share=0.0,  # every phone on a websocket: the reconnect is what is measured
            speed=600.0,
            progress_s=3600.0,
            clock_poll_s=3600.0,
            out=lambda _line: None,
        )
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def all_online() -> bool:
        ws = [p for p in runner.phones.values() if isinstance(p, WsPhone)]
        return bool(ws) and all(p.is_online for p in ws)

    def wait_online(deadline_s: float = 120.0) -> float:
        deadline = time.monotonic() + deadline_s
        while not all_online():
            if time.monotonic() > deadline:
                raise RuntimeError("the phones did not all connect")
            time.sleep(0.01)
        return time.monotonic()

    stop: list[asyncio.Event] = []

    async def supervised() -> None:
        # Cancelled on this loop and awaited here, so the run gathers its phones before the
        # loop stops (cancelling from the other thread would not wait for that).
        stop.append(asyncio.Event())
        task = asyncio.create_task(runner.run())
        await stop[0].wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    first: list[float] = []
    back: list[float] = []
    t0 = time.monotonic()
    run = asyncio.run_coroutine_threadsafe(supervised(), loop)
    try:
        first.append(wait_online() - t0)
        for _ in range(trials):
            time.sleep(2.0)  # phones at work
            node.kill()
            while all_online():  # each phone notices its socket is gone
                time.sleep(0.01)
            answered = node.restart()
            back.append(wait_online() - answered)
    finally:
        while not stop:
            time.sleep(0.01)
        loop.call_soon_threadsafe(stop[0].set)
        run.result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
    return {"first": first, "back": back}


def measure(quick: bool) -> dict[str, Any]:
    """Run both scenarios; raw samples."""
    from backend.simulate.provision import provision
    from tests.dashboard.scenario import make_settings, seed
    from tests.scale.conftest import node_env

    trials = 1 if quick else 8
    out: dict[str, Any] = {"trials": trials}
    with tempfile.TemporaryDirectory(prefix="posko-restart-") as tmp:
        work = Path(tmp)
        db = work / "posko.db"
        settings = make_settings(db)
        seeded = seed(settings, devices=False)
        from backend.db import make_engine

        engine = make_engine(settings)
        creds = provision(engine=engine, settings=settings, actor="cli:bench")
        engine.dispose()
        env = node_env(f"sqlite:///{db}")
        env.pop("POSKO_REGION_DATA_DIR")  # the wall draws the real boundaries
        node = _Node(env, work)
        try:
            out["screens"] = _screens(node, seeded.kiosk, trials)
            out["phones"] = _phones(node, creds, trials)
            out["n_phones"] = len(creds.devices)
        finally:
            node.stop()
    return out


def figures_from(m: dict[str, Any]) -> list[Figure]:
    """The restart figures with their same-run baselines."""
    s, p = m["screens"], m["phones"]
    sb, pb = max(s["back"]), max(p["back"])
    return [
        Figure(
            SUITE,
            "server killed and restarted → wall live again, worst of trials",
            round(sb, 2),
            "s",
            baseline="the same wall opened anew until live, median",
            baseline_value=round(pct(s["opened"], 50), 2),
            target=f"≤ {TARGET_S:g} s after the server answers",
            met=sb <= TARGET_S,
            note=(
                f"{m['trials']} SIGKILL restarts on the same port, timed from /healthz answering "
                f"to poskoLive.live with the banner hidden; p50 {pct(s['back'], 50):.2f} s; "
                f"fresh opens {', '.join(f'{v:.2f}' for v in s['opened'])} s"
            ),
        ),
        Figure(
            SUITE,
            f"server killed and restarted → all {m['n_phones']} simulated phones connected, worst",
            round(pb, 2),
            "s",
            baseline="the same phones' first connection from the simulator's start",
            baseline_value=round(p["first"][0], 2),
            target=f"≤ {TARGET_S:g} s after the server answers",
            met=pb <= TARGET_S,
            note=(
                f"{m['trials']} SIGKILL restarts while the phones play the day (websockets only); "
                f"p50 {pct(p['back'], 50):.2f} s"
            ),
        ),
    ]


def run(quick: bool) -> list[Figure]:
    """Measure restart recovery of screens and phones."""
    return figures_from(measure(quick))


def main() -> None:
    """Print this suite's figures."""
    parser = argparse.ArgumentParser(description="Restart recovery of screens and phones.")
    parser.add_argument("--quick", action="store_true", help="1 restart instead of 8")
    args = parser.parse_args()
    for f in run(args.quick):
        met = "" if f.met is None else (" met" if f.met else " MISSED")
        print(f"{f.name}: {f.value:g} {f.unit} (baseline {f.baseline_value:g}){met} — {f.note}")


if __name__ == "__main__":
    main()
