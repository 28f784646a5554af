"""The document: heading and signer from the settings, periods in WIB, a draft marked as such."""

from sqlalchemy import Engine
from sqlmodel import Session

from backend.config import Settings
from backend.reports import render
from backend.reports.service import create_draft, sign
from schemas.reports import ReportKind
from tests.ops.harness import wib
from tests.reports.conftest import Morning


def test_the_heading_and_signer_are_the_polres_own(
    engine: Engine, settings: Settings, morning: Morning
) -> None:
    own = settings.model_copy(
        update={
            "report_heading": ["KEPOLISIAN NEGARA REPUBLIK INDONESIA", "DAERAH X", "RESOR Y"],
            "report_signer_title": "KEPALA KEPOLISIAN RESOR Y",
            "report_place": "Kota Y",
            "report_recipients": [],
        }
    )
    with Session(engine) as s:
        r = create_draft(
            session=s,
            area="16.08",
            kind=ReportKind.DAILY,
            period_start=wib(27, "00:00"),
            period_end=wib(28, "00:00"),
            now=wib(27, "23:00"),
            settings=own,
            actor="test",
        )
        draft_page = render.html(r, own)
        assert r.id is not None
        r = sign(
            session=s,
            report_id=r.id,
            name="Nama Kapolres",
            rank="AKBP",
            nrp="76050123",
            now=wib(28, "00:10"),
            actor="test",
            settings=own,
        )
        page = render.html(r, own)
    assert "KONSEP — BELUM DITANDATANGANI" in draft_page
    assert "KONSEP" not in page
    for words in (
        "DAERAH X",
        "RESOR Y",
        "KEPALA KEPOLISIAN RESOR Y",
        "Kota Y, 28 November 2024",
        "LAPORAN SITUASI HARIAN",
        "Laporan harian (penutup hari)",
        "27 November 2024 00:00 s.d. 28 November 2024 00:00 WIB",
        "Nama Kapolres",
        "AKBP NRP 76050123",
        "Kecamatan Belitang (16.08.03)",
        r.content_sha256 or "-",
    ):
        assert words in page, words


def test_period_text_in_wib() -> None:
    assert render.period_text(wib(27, "07:00"), wib(27, "08:00")) == (
        "27 November 2024 07:00 s.d. 08:00 WIB"
    )
