"""A screenshot of /laporan, the commander's report editor, on OKU Timur at noon of voting day.

    python -m tests.reports.make_screenshot [--out docs/laporan.png]

Seeds the registry and a morning through the intake (as `bench/reports.py` does), starts the
server on an exercise clock at 12:05 WIB, drafts the 11:00-12:00 report, and shows it to a
commander with remarks typed in, before signing.
"""

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright
from sqlmodel import Session

from backend.db import make_engine
from backend.migrate import upgrade
from backend.registry.build import build_registry
from backend.registry.service import write_registry
from bench.reports import NOW, _seed, _settings
from dashboard import ids
from schemas.enums import Role
from tests.conftest import start_server
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS
from tests.factories import person_token
from tests.ops.harness import Field


def main() -> None:
    """Write the screenshot."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("docs/laporan.png"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="posko-laporan-png-") as tmp:
        settings = _settings(Path(tmp)).model_copy(
            update={"clock_start": NOW + timedelta(minutes=5), "report_schedule": False}
        )
        engine = make_engine(settings)
        upgrade(engine)
        with Session(engine) as s:
            write_registry(session=s, registry=build_registry(seed=2024))
        field = Field(engine, settings)
        _seed(field, settings, 40)
        field.close()
        token = person_token(engine, Role.COMMANDER, area="16.08")
        srv = start_server(settings)
        try:
            r = httpx.post(
                f"{srv.url}/api/v1/reports",
                json={"area": "16.08", "kind": "hourly"},
                headers={"authorization": f"Bearer {token}"},
                timeout=60,
            )
            r.raise_for_status()
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1600, "height": 900}).new_page()
                page.goto(f"{srv.url}/login?token={token}&next=%2Flaporan%3Farea%3D16.08")
                page.frame_locator(f"#{ids.LAP_PREVIEW}").locator(
                    "text=LAPORAN SITUASI"
                ).first.wait_for(timeout=30_000)
                page.fill(
                    f"#{ids.LAP_REMARKS}",
                    "Pemungutan suara berjalan aman dan lancar; insiden ditangani Polsek.",
                )
                page.fill(f"#{ids.LAP_PLAN}", "Pengawalan kotak suara ke PPK mulai 16.00 WIB.")
                page.fill(f"#{ids.LAP_NAME}", "Contoh Kapolres")
                page.fill(f"#{ids.LAP_RANK}", "AKBP")
                page.fill(f"#{ids.LAP_NRP}", "76050123")
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            srv.stop()
            engine.dispose()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
