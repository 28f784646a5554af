"""The national rollup page (/nasional) on the national registry: serve times and a screenshot.

    python -m bench.national_ui [--database-url URL] [--skip-seed] [--screenshot docs/national.png]

Without --database-url it uses (creates if missing) the database `posko_nat_ui` on the server of
POSKO_BENCH_PG_URL (default: the test server), never the shared `test` database; with
--skip-seed it reuses what an earlier run wrote. Seeds 435,296 TPS with bench.national's COPY
writer and mid-day states, starts one `posko serve` node on it, then times (p50 of 20, after
one warm-up) the page's own data request, the Dash callback that the page sends on load and
every REFRESH_MS, as a national commander's browser sends it, at national, province and
kabupaten level. Prints markdown for bench/national.md.
"""

import argparse
import os
import statistics
import time
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
from sqlmodel import Session

from backend.db import make_engine
from backend.migrate import upgrade
from backend.registry.build import Scale, build_registry
from backend.registry.service import write_registry
from bench.national import midday
from bench.prep import bench_settings, ensure_pg_database
from dashboard import ids
from schemas.enums import Role
from tests.factories import person_token
from tests.scale.conftest import node_env, start_node

DEFAULT_DB = "posko_nat_ui"
MIDDAY_AT = "2024-11-27T11:00:00+07:00"
OUTPUTS = (
    (ids.NAT_CRUMBS, "children"),
    (ids.NAT_NOTICE, "children"),
    (ids.NAT_TOTALS, "children"),
    (ids.NAT_TABLE, "children"),
    (ids.NAT_DIGEST, "data"),
    (ids.NAT_UPDATED, "children"),
)


def own_database() -> str:
    """The URL of this bench's own database, created when missing."""
    server = os.environ.get(
        "POSKO_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    return ensure_pg_database(server.rsplit("/", 1)[0] + "/" + DEFAULT_DB)


def callback_body(area: str | None, digest: str | None = None) -> dict[str, Any]:
    """The request the page's browser sends for its rollup (first load, or a refresh tick)."""
    page = {"view": "national", "lang": "id", "area": area}
    tick = digest is not None
    return {
        "output": "...".join(f"{i}.{p}" for i, p in OUTPUTS).join(("..", "..")),
        "outputs": [{"id": i, "property": p} for i, p in OUTPUTS],
        "inputs": [
            {"id": ids.NAT_PAGE, "property": "data", "value": page},
            {"id": ids.NAT_TICK, "property": "n_intervals", "value": 1 if tick else None},
        ],
        "state": [{"id": ids.NAT_DIGEST, "property": "data", "value": digest}],
        "changedPropIds": [f"{ids.NAT_TICK}.n_intervals"] if tick else [],
        "parsedChangedPropsIds": [f"{ids.NAT_TICK}.n_intervals"] if tick else [],
    }


def p50(fn: Any, runs: int = 20) -> float:
    """Median wall time of `runs` calls after one warm-up, in milliseconds."""
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def main() -> None:
    """Seed (unless asked not to), measure, screenshot, print."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--database-url")
    ap.add_argument("--skip-seed", action="store_true", help="reuse an earlier run's registry")
    ap.add_argument("--screenshot", type=Path, help="write a 1920x1080 PNG of /nasional here")
    ap.add_argument("--screenshot-only", action="store_true", help="measure nothing")
    args = ap.parse_args()
    url = args.database_url or own_database()
    rows: list[tuple[str, str]] = []
    with ExitStack() as stack:
        engine = make_engine(bench_settings(url))
        stack.callback(engine.dispose)
        upgrade(engine)
        if not args.skip_seed:
            registry = build_registry(scale=Scale.NATIONAL)
            with Session(engine) as s:
                write_registry(session=s, registry=registry, erase_election_data=True)
            del registry
            rows.append(("mid-day states + rollup rebuild", f"{midday(engine):.1f} s"))
        logs = Path(stack.enter_context(TemporaryDirectory()))
        # 11:00 WIB on election day, as the mid-day states say: the sweeper judges the TPS
        # against the calendar (behind schedule) as it would then.
        node = start_node(node_env(url, POSKO_CLOCK_START=MIDDAY_AT), logs)
        stack.callback(node.stop)
        token = person_token(engine, Role.COMMANDER)
        client = stack.enter_context(
            httpx.Client(base_url=node.url, cookies={"posko_token": token}, timeout=30)
        )
        client.get("/nasional").raise_for_status()  # Dash's first-request setup

        def call(body: dict[str, Any]) -> httpx.Response:
            r = client.post("/_dash-update-component", json=body)
            if r.status_code != 200:
                raise RuntimeError(
                    f"{r.status_code} {r.text[:300]}\n{node.log.read_text()[-3000:]}"
                )
            return r

        levels = (
            ("national: 38 provinces", None, "province"),
            ("province: 27 kabupaten of Jawa Barat (32)", "32", "kabupaten"),
            ("kabupaten: 20 kecamatan of OKU Timur (16.08)", "16.08", "kecamatan"),
        )
        for label, area, level in () if args.screenshot_only else levels:
            first = call(callback_body(area))
            digest = first.json()["response"][ids.NAT_DIGEST]["data"]
            same = call(callback_body(area, digest))
            load = p50(lambda a=area: call(callback_body(a)))
            tick = p50(lambda a=area, d=digest: call(callback_body(a, d)))
            rows.append(
                (
                    f"/nasional data, {label}",
                    f"{load:.0f} ms ({len(first.content) / 1024:.0f} KiB JSON, "
                    f"{first.num_bytes_downloaded / 1024:.1f} KiB gzip); unchanged refresh "
                    f"{tick:.0f} ms ({same.num_bytes_downloaded} B)",
                )
            )
            params = {"level": level} | ({"area": area} if area else {})
            api = p50(lambda p=params: client.get("/api/v1/rollup", params=p).raise_for_status())
            rows.append(("same level, GET /api/v1/rollup (for comparison)", f"{api:.0f} ms"))
        redirect = client.get("/", follow_redirects=False)
        rows.append(
            (
                "GET / (national credential)",
                f"{redirect.status_code} -> "
                f"{redirect.headers.get('location')}, {p50(lambda: client.get('/')):.0f} ms",
            )
        )
        if args.screenshot:
            shoot(node.url, token, args.screenshot)
            rows.append(("screenshot", str(args.screenshot)))
    print("| /nasional on 435,296 TPS | p50 of 20 |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


def shoot(base: str, token: str, path: Path) -> None:
    """A 1920x1080 headless-Chromium screenshot of the national page, once its rows are in."""
    from playwright.sync_api import sync_playwright

    from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        page.goto(f"{base}/login?token={token}&next=/nasional")
        page.wait_for_function(
            f"() => document.querySelectorAll('#{ids.NAT_TABLE} tbody tr').length > 0"
            f" && document.getElementById('{ids.NAT_UPDATED}').classList.contains('live')",
            timeout=60_000,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
        browser.close()


if __name__ == "__main__":
    main()
