"""Situation reports: drafting the kabupaten + its 20 kecamatan, and printing the PDF.

    python -m bench.reports [--quick]

OKU Timur's registry (1,012 TPS, 20 kecamatan, 298 officers) on a SQLite file, at 12:00 WIB
on voting day after a morning sent through the real intake (`store_batch`): every TPS
reported in some phase, a few hundred incident reports, some incidents handled. Each figure
stands beside a baseline measured in the same run on the same machine:

* drafting (`backend.reports.draft.draft`, the whole read of the report) against the read a
  screen starts from, every TPS of the kabupaten with its state (`tps.service.list_views`, the
  snapshot's read);
* printing the report's HTML to PDF with headless Chromium against Chromium printing a blank
  page (what starting Chromium alone costs).
"""

import argparse
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from backend.config import Settings
from backend.db import make_engine
from backend.incidents.lifecycle import Action
from backend.incidents.models import Incident
from backend.incidents.service import transition
from backend.migrate import upgrade
from backend.officers.models import Assignment, Officer
from backend.registry.build import build_registry
from backend.registry.service import write_registry
from backend.reports import render
from backend.reports.draft import draft
from backend.reports.service import create_draft, edit, sign
from backend.tps.models import Tps
from backend.tps.service import list_views
from bench.figures import Figure
from schemas.enums import IncidentCategory
from schemas.reports import ReportKind
from tests.conftest import TEST_SECRET
from tests.helpers import incident, ping
from tests.ops.harness import Field, wib

SUITE = "reports"
AREA = "16.08"
NOW = wib(27, "12:00")
PHASES = ("persiapan", "pemungutan", "pemungutan", "pemungutan", "penghitungan")


def _settings(tmp: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp / 'posko.db'}",
        secret_key=TEST_SECRET,
        max_age_s=10 * 365 * 24 * 3600.0,
        max_future_s=10 * 365 * 24 * 3600.0,
        clock_skew_tolerance_s=10 * 365 * 24 * 3600.0,
        late_after_s=10 * 365 * 24 * 3600.0,
        report_recipients=[],
    )


def _median_ms(fn: Callable[[], object], n: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def _seed(field: Field, settings: Settings, n_incidents: int) -> int:
    """The morning through intake: a ping per TPS by its officer, incident reports; some handled."""
    rng = random.Random(14)
    with Session(field.engine) as s:
        rows = list(
            s.execute(
                select(Tps.code, Officer.nrp)
                .join(Assignment, col(Assignment.tps_id) == col(Tps.id))
                .join(Officer, col(Officer.id) == col(Assignment.officer_id))
                .order_by(col(Tps.code))
            )
        )
    by_tps: dict[str, str] = {}
    for code, nrp in rows:
        by_tps.setdefault(code, nrp)
    events = []
    for i, (code, nrp) in enumerate(by_tps.items()):
        # The last report of each TPS between 11:20 and 11:58: at noon a few are overdue.
        at = wib(27, "11:20") + timedelta(seconds=(i * 17) % 2_280)
        events.append((nrp, ping(code, rng.choice(PHASES), at=at)))
    codes = list(by_tps)
    for i in range(n_incidents):
        code = rng.choice(codes)
        at = wib(27, "07:05") + timedelta(seconds=i * 40)
        cat = rng.choice(list(IncidentCategory)).value
        events.append((by_tps[code], incident(code, cat, rng.randint(1, 4), at=at)))
    for i in range(0, len(events), 500):
        field.send(events[i : i + 500], at=wib(27, "11:50"))
    with Session(field.engine) as s:
        rows = [(i.id, i.version) for i in s.exec(select(Incident).order_by(col(Incident.id)))]
        ids = [iid for iid, _ in rows if iid]
        for iid, version in rows[: len(rows) // 3]:
            assert iid is not None
            transition(
                session=s,
                incident_id=iid,
                action=Action.ACCEPT,
                expected_version=version,
                actor="bench",
                now=wib(27, "11:55"),
            )
    return len(ids)


def measure(quick: bool) -> dict[str, Any]:
    """Build the day, then time drafting, the snapshot read, the PDF and a blank PDF."""
    with tempfile.TemporaryDirectory(prefix="posko-bench-reports-") as tmp:
        settings = _settings(Path(tmp))
        engine = make_engine(settings)
        upgrade(engine)
        with Session(engine) as s:
            write_registry(session=s, registry=build_registry(seed=2024))
        field = Field(engine, settings)
        incidents = _seed(field, settings, 60 if quick else 300)
        field.close()
        n = 5 if quick else 15
        start, end = NOW - timedelta(hours=1), NOW
        with Session(engine) as s:
            content = draft(s, AREA, start, end, NOW, settings=settings)
            draft_ms, draft_all = _median_ms(
                lambda: draft(s, AREA, start, end, NOW, settings=settings), n
            )
            # The hour before, drafted now: a period over, rebuilt as it stood at its end.
            late_start, late_end = start - timedelta(hours=1), start
            late_ms, late_all = _median_ms(
                lambda: draft(s, AREA, late_start, late_end, NOW, settings=settings), n
            )
            snap_ms, _ = _median_ms(lambda: list_views(session=s, area_code=AREA), n)
            tps = len(list_views(session=s, area_code=AREA))
            report = create_draft(
                session=s,
                area=AREA,
                kind=ReportKind.HOURLY,
                period_start=start,
                period_end=end,
                now=NOW,
                settings=settings,
                actor="bench",
            )
            page = render.html(report, settings)
        engine.dispose()
    out = {
        "draft_ms": draft_ms,
        "draft_max_ms": max(draft_all),
        "late_ms": late_ms,
        "late_max_ms": max(late_all),
        "snapshot_ms": snap_ms,
        "tps": tps,
        "kecamatan": len(content.kecamatan),
        "incidents": incidents,
        "runs": n,
    }
    if not settings.chromium_path.exists():
        return out  # no Chromium here: the PDF figure is left out, not faked
    m = 2 if quick else 5
    pdf_ms, _ = _median_ms(lambda: render.pdf(page, settings), m)
    blank = "<!doctype html><html><body></body></html>"
    blank_ms, _ = _median_ms(lambda: render.pdf(blank, settings), m)
    pdf = render.pdf(page, settings)
    return out | {
        "pdf_ms": pdf_ms,
        "blank_ms": blank_ms,
        "pdf_bytes": len(pdf),
        "pdf_pages": pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages"),
        "html_bytes": len(page.encode()),
    }


def figures_from(m: dict[str, Any]) -> list[Figure]:
    """The reports figures with their same-run baselines."""
    figs = [
        Figure(
            SUITE,
            f"draft a laporan situasi: kabupaten + {m['kecamatan']} kecamatan, "
            f"{m['tps']} TPS, {m['incidents']} incidents",
            round(m["draft_ms"], 1),
            "ms",
            baseline="read every TPS of the kabupaten with its state (the snapshot's read)",
            baseline_value=round(m["snapshot_ms"], 1),
            target="≤ 1000 ms",
            met=m["draft_ms"] <= 1000,
            note=f"median of {m['runs']}, slowest {m['draft_max_ms']:.0f} ms; SQLite",
        )
    ]
    if "late_ms" in m:
        figs.append(
            Figure(
                SUITE,
                "draft the hour before, after it ended: TPS, personnel, silence and boxes as of "
                "its end (replay)",
                round(m["late_ms"], 1),
                "ms",
                baseline="the same report drafted while its period runs (the state tables)",
                baseline_value=round(m["draft_ms"], 1),
                target="≤ 1000 ms",
                met=m["late_ms"] <= 1000,
                note=f"median of {m['runs']}, slowest {m['late_max_ms']:.0f} ms; SQLite",
            )
        )
    if "pdf_ms" not in m:
        return figs
    figs.append(
        Figure(
            SUITE,
            f"print the report to PDF (headless Chromium, {m['pdf_pages']} A4 pages)",
            round(m["pdf_ms"], 1),
            "ms",
            baseline="headless Chromium printing a blank page",
            baseline_value=round(m["blank_ms"], 1),
            target="≤ 10000 ms",
            met=m["pdf_ms"] <= 10_000,
            note=f"{m['html_bytes'] / 1024:.0f} KiB of HTML → {m['pdf_bytes'] / 1024:.0f} KiB PDF",
        )
    )
    return figs


def screenshot(png: Path) -> None:
    """Render page 1 of a signed report of the seeded day to PNG (docs/reports.md)."""
    with tempfile.TemporaryDirectory(prefix="posko-report-png-") as tmp:
        settings = _settings(Path(tmp))
        engine = make_engine(settings)
        upgrade(engine)
        with Session(engine) as s:
            write_registry(session=s, registry=build_registry(seed=2024))
        field = Field(engine, settings)
        _seed(field, settings, 40)
        field.close()
        with Session(engine) as s:
            r = create_draft(
                session=s,
                area=AREA,
                kind=ReportKind.HOURLY,
                period_start=NOW - timedelta(hours=1),
                period_end=NOW,
                now=NOW,
                settings=settings,
                actor="docs",
            )
            assert r.id is not None
            edit(
                session=s,
                report_id=r.id,
                remarks="Pemungutan suara berjalan aman dan lancar; insiden ditangani Polsek.",
                plan_next="Pengawalan kotak suara ke PPK mulai pukul 16.00 WIB.",
                now=NOW,
                actor="docs",
            )
            r = sign(
                session=s,
                report_id=r.id,
                name="Contoh Kapolres",
                rank="AKBP",
                nrp="76050123",
                now=NOW + timedelta(minutes=5),
                actor="docs",
                settings=settings,
            )
            page = render.html(r, settings)
        engine.dispose()
        pdf = Path(tmp) / "l.pdf"
        pdf.write_bytes(render.pdf(page, settings))
        out = png.with_suffix("")
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "70",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(out),
            ],
            check=True,
        )


def run(quick: bool) -> list[Figure]:
    """The suite's entry point for bench/run.py."""
    return figures_from(measure(quick))


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--png", type=Path, help="only write page 1 of a signed report as PNG")
    args = ap.parse_args()
    if args.png:
        screenshot(args.png)
        return
    for f in run(args.quick):
        ratio = f.value / f.baseline_value if f.baseline_value else float("nan")
        print(
            f"{f.name}: {f.value} {f.unit} (baseline {f.baseline_value} {f.unit}, "
            f"x{ratio:.1f}; target {f.target}: {'met' if f.met else 'NOT met'}) {f.note}"
        )


if __name__ == "__main__":
    main()
