"""A situation report as a document: HTML in Bahasa Indonesia, PDF printed by Chromium, CSV.

The HTML is a Jinja2 template with the Polres' heading (`Settings.report_heading`); autoescape
is on, so a commander's remarks can never become markup. The PDF is that HTML printed by
headless Chromium (`Settings.chromium_path`) from a private temporary directory, in a worker
thread (a print takes about a second). The CSV holds every table of the report in one long
form, one number per line, so a spreadsheet can pivot it.
"""

import csv
import io
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from backend.config import WIB, Settings
from backend.reports.models import SituationReport
from backend.reports.service import content_of
from schemas.reports import AreaSection, ReportKind, ReportStatus

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSV_COLUMNS = ("tabel", "kode_wilayah", "wilayah", "baris", "kolom", "nilai")
# Silent TPS and officers named per kecamatan, at most this many each (the CSV has them all).
LIST_MAX = 40

PHASES: tuple[tuple[str, str], ...] = (
    ("belum", "Belum lapor"),
    ("logistik_tiba", "Logistik tiba"),
    ("persiapan", "Persiapan"),
    ("pemungutan", "Pemungutan"),
    ("penghitungan", "Penghitungan"),
    ("selesai_hitung", "Selesai hitung"),
    ("kotak_dikawal", "Kotak dikawal"),
    ("diterima_ppk", "Diterima PPK"),
    ("ditunda", "Ditunda"),
)
CATEGORIES = {
    "kericuhan": "Kericuhan",
    "unjuk_rasa": "Unjuk rasa",
    "politik_uang": "Politik uang",
    "intimidasi": "Intimidasi",
    "logistik": "Logistik",
    "bencana_cuaca": "Bencana/cuaca",
    "kecelakaan": "Kecelakaan",
    "lainnya": "Lainnya",
}
STATUSES = {
    "baru": "Baru",
    "diterima": "Diterima",
    "ditangani": "Ditangani",
    "selesai": "Selesai",
    "ditutup": "Ditutup",
}
KINDS = {
    ReportKind.HOURLY: "Laporan per jam",
    ReportKind.ON_DEMAND: "Laporan atas permintaan",
    ReportKind.DAILY: "Laporan harian (penutup hari)",
}
MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


class PdfError(RuntimeError):
    """Chromium could not print the report."""


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def wib_text(at: datetime) -> str:
    """`27 November 2024 08:00 WIB`."""
    local = at.astimezone(WIB)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} {local:%H:%M} WIB"


def period_text(start: datetime, end: datetime) -> str:
    """`27 November 2024 07:00 s.d. 08:00 WIB` (the date once when both fall on one day)."""
    a, b = start.astimezone(WIB), end.astimezone(WIB)
    if a.date() == b.date():
        return f"{a.day} {MONTHS[a.month - 1]} {a.year} {a:%H:%M} s.d. {b:%H:%M} WIB"
    return f"{wib_text(start)[:-4]} s.d. {wib_text(end)}"


@dataclass(frozen=True, slots=True)
class _View:
    id: int
    kind: str
    kind_label: str
    version: int
    area_code: str
    area_name: str
    remarks: str
    plan_next: str
    signed: bool
    signer_name: str | None
    signer_rank: str | None
    signer_nrp: str | None
    sha256: str | None


def html(r: SituationReport, settings: Settings) -> str:
    """The report as a printable HTML page in Bahasa Indonesia."""
    c = content_of(r)
    assert r.id is not None
    view = _View(
        id=r.id,
        kind=r.kind.value,
        kind_label=KINDS[r.kind],
        version=r.version,
        area_code=r.area_code,
        area_name=c.area_name,
        remarks=r.remarks,
        plan_next=r.plan_next,
        signed=r.status is ReportStatus.SIGNED,
        signer_name=r.signer_name,
        signer_rank=r.signer_rank,
        signer_nrp=r.signer_nrp,
        sha256=r.content_sha256,
    )
    signed_on = r.signed_at or c.drafted_at
    local = signed_on.astimezone(WIB)
    return (
        _env()
        .get_template("laporan.html.j2")
        .render(
            r=view,
            heading=settings.report_heading,
            place=settings.report_place,
            signer_title=settings.report_signer_title,
            period=period_text(r.period_start, r.period_end),
            drafted=wib_text(c.drafted_at),
            signed_at=wib_text(r.signed_at) if r.signed_at else "",
            signed_date=f"{local.day} {MONTHS[local.month - 1]} {local.year}",
            sections=[c.kabupaten, *c.kecamatan],
            list_max=LIST_MAX,
            phases=[{"key": k, "label": v} for k, v in PHASES],
            category=lambda k: CATEGORIES.get(k, k),
            status=lambda k: STATUSES.get(k, k),
        )
    )


def pdf(page: str, settings: Settings) -> bytes:
    """Print an HTML page to PDF with headless Chromium; raise PdfError if it cannot."""
    with tempfile.TemporaryDirectory(prefix="posko-laporan-") as tmp:
        src = Path(tmp) / "laporan.html"
        out = Path(tmp) / "laporan.pdf"
        src.write_text(page, encoding="utf-8")
        cmd = [
            str(settings.chromium_path),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, timeout=settings.report_pdf_timeout_s, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise PdfError(f"chromium could not run: {err}") from err
        if not out.exists() or out.stat().st_size == 0:
            tail = done.stderr.decode(errors="replace")[-500:]
            raise PdfError(f"chromium printed no PDF (exit {done.returncode}): {tail}")
        return out.read_bytes()


def _rows(s: AreaSection) -> list[tuple[str, str, str, str]]:
    """(table, row, column, value) for one area's tables."""
    out: list[tuple[str, str, str, str]] = [("tps", "jumlah", "tps", str(s.tps_total))]
    out += [("tps", "fase", k, str(s.tps_by_phase.get(k, 0))) for k, _ in PHASES]
    out.append(("tps", "jumlah", "terlambat", str(s.behind_schedule)))
    out += [
        ("kotak", "jumlah", k, str(v))
        for k, v in (
            ("disegel", s.boxes.sealed),
            ("dalam_perjalanan", s.boxes.on_road),
            ("diterima_ppk", s.boxes.received),
        )
    ]
    for u in s.personnel:
        out += [("personel", u.unit_code, "dikerahkan", str(u.deployed))]
        out += [("personel", u.unit_code, "melapor", str(u.heard))]
    for what, n in (("baru", s.incidents.new), ("ditangani", s.incidents.handled)):
        out.append(("insiden", "jumlah", what, str(n)))
    out.append(("insiden", "jumlah", "terbuka", str(s.incidents.still_open)))
    words = {"new": "baru", "handled": "ditangani", "open": "terbuka"}
    for table, rows in (
        ("insiden_kategori", s.incidents.by_category),
        ("insiden_tingkat", s.incidents.by_severity),
    ):
        for key, row in sorted(rows.items()):
            out += [(table, key, words[w], str(n)) for w, n in row.items()]
    out += [("insiden_uraian", f"#{i.id}", i.status, i.account) for i in s.incident_lines]
    out += [("senyap", "tps", code, "1") for code in s.silent_tps]
    out += [("senyap", "petugas", nrp, "1") for nrp in s.silent_officers]
    return out


def csv_text(r: SituationReport) -> str:
    """Every table of the report, one value per line: table, area, row, column, value."""
    c = content_of(r)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for s in (c.kabupaten, *c.kecamatan):
        for table, row, column, value in _rows(s):
            w.writerow((table, s.code, s.name, row, column, value))
    return buf.getvalue()
