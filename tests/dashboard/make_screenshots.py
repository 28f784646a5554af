"""Screenshots of /wall and / in the middle of a simulated election-day morning.

    python -m tests.dashboard.make_screenshots [--out docs] [--speed 240] [--at 10:15]

Seeds the real OKU Timur registry into a temporary database, starts the server with an exercise
clock (27 Nov 2024 from 05:30 WIB, N times faster), opens both views in Chromium, plays a
morning of pings and incidents over real websockets (one per officer's phone) and saves
`wall.png` and `commander.png` while the events keep coming, then `commander-replay.png`: the
commander's view replaying an hour earlier (docs/replay.md).
"""

import argparse
import asyncio
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Page, async_playwright

from dashboard import ids
from tests.conftest import LiveServer, start_server
from tests.dashboard.scenario import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Event,
    Field,
    Seeded,
    make_settings,
    plan_morning,
    play,
    seed,
)

DAY_START = datetime.fromisoformat("2024-11-27T05:30:00+07:00")
MAP_READY = (
    "(id) => { const g = document.querySelector('#' + id + ' .js-plotly-plot');"
    " return !!(g && g._fullData && g._fullData[0] && g._fullData[0].lat.length"
    " && window.poskoLive && window.poskoLive.live); }"
)


async def _open(browser: object, url: str, token: str, path: str, map_id: str) -> Page:
    page: Page = await browser.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: print(path, "page error:", e))
    page.on("console", lambda m: print(path, m.type, m.text[:300]) if m.type == "error" else None)
    await page.goto(f"{url}/login?token={token}&next={path}")
    await page.wait_for_function(MAP_READY, arg=map_id, timeout=60_000)
    return page


async def shoot(
    server: LiveServer, seeded: Seeded, out: Path, *, speed: float, shoot_at: datetime
) -> None:
    """Open both views, play the morning and take the screenshots at `shoot_at`."""
    clock = httpx.get(server.url + "/api/v1/clock").json()  # noqa: ASYNC210  (once, at start)
    loop = asyncio.get_running_loop()
    origin, real_origin = datetime.fromisoformat(clock["now"]), loop.time()
    # Events keep coming after the screenshots, so nothing looks silent that is not.
    events = plan_morning(seeded.views, day_start=DAY_START, until=shoot_at + timedelta(hours=2))
    print(f"{len(events)} events planned, server {server.url}, clock x{speed:g}")
    field = Field(server.ws_url, seeded.devices)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        wall = await _open(browser, server.url, seeded.kiosk, "/wall", ids.WALL.map)
        cmd = await _open(browser, server.url, seeded.commander, "/", ids.COMMANDER.map)
        player = asyncio.create_task(
            play(events, field, clock_origin=origin, real_origin=real_origin, speed=speed)
        )

        async def until(at: datetime) -> None:
            wait = (at - origin).total_seconds() / speed - (loop.time() - real_origin)
            await asyncio.sleep(max(0.0, wait))

        # Open the TPS with the gravest incident in the commander's side panel.
        await until(shoot_at - timedelta(minutes=8))
        await cmd.fill(f"#{ids.CMD_SEARCH}", _gravest(events, shoot_at))
        await cmd.press(f"#{ids.CMD_SEARCH}", "Enter")
        await until(shoot_at)
        await wall.screenshot(path=str(out / "wall.png"))
        await cmd.screenshot(path=str(out / "commander.png"), full_page=True)
        print(
            "wall live stats:", await wall.evaluate("() => JSON.stringify(window.poskoLive.stats)")
        )
        await _shoot_replay(cmd, out, shoot_at - timedelta(hours=1))
        player.cancel()
        await browser.close()
    await field.close()
    print("acks:", field.acks)


async def _shoot_replay(cmd: Page, out: Path, moment: datetime) -> None:
    """The commander's view replaying `moment` (docs/replay.md): `commander-replay.png`."""
    await cmd.evaluate("(iso) => window.poskoLive.replay.seek(iso)", moment.isoformat())
    await cmd.wait_for_function(
        "() => window.poskoLive.replay.active && !window.poskoLive.replay.loading", timeout=30_000
    )
    await cmd.wait_for_function(
        f"() => String(((document.querySelector('#{ids.COMMANDER.timeline} .js-plotly-plot')"
        " || {}).layout || {meta: {}}).meta.rev).startsWith('replay-')",
        timeout=30_000,
    )
    await asyncio.sleep(2)  # the map's patch and the charts settle
    await cmd.screenshot(path=str(out / "commander-replay.png"), full_page=True)


def main(out: Path, speed: float, at: str) -> None:
    """Seed, serve, play the morning, shoot."""
    hh, mm = (int(x) for x in at.split(":"))
    shoot_at = DAY_START.replace(hour=hh, minute=mm)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp) / "posko.db", clock_start=DAY_START, clock_speed=speed)
        seeded = seed(settings)
        server = start_server(settings)
        try:
            asyncio.run(shoot(server, seeded, out, speed=speed, shoot_at=shoot_at))
        finally:
            server.stop()
    print(f"saved {out / 'wall.png'} and {out / 'commander.png'}")


def _gravest(events: list[Event], before: datetime) -> str:
    """The TPS of the most severe incident reported before the screenshots."""
    incidents = [e.body for e in events if e.body["type"] == "incident" and e.at < before]
    return str(max(incidents, key=lambda b: b["severity"])["tps"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--speed", type=float, default=120.0)
    parser.add_argument("--at", default="10:15", help="clock time (WIB) of the screenshots")
    args = parser.parse_args()
    started = time.monotonic()
    main(args.out, args.speed, args.at)
    print(f"took {time.monotonic() - started:.0f} s")
