"""The enrolment sheet: print-ready A4 HTML, one card per officer with the QR of its link.

Cards are grouped by unit (each Polsek starts a new page) and sorted by name; a card never
breaks across pages. Everything is inline (CSS, the QR codes as SVG), so the page prints the
same with no network. Every value is escaped: a name may hold anything. Each card carries its
link in `data-link` too, so a program (and the tests) can read what its QR code holds.
"""

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from zoneinfo import ZoneInfo

import qrcode
import qrcode.image.svg

from schemas.field import OfficerCard

WIB = ZoneInfo("Asia/Jakarta")
HOW_TO = "Pindai dengan kamera HP, buka di Chrome, lalu tekan Pasang"

_STYLE = """
@page{size:A4;margin:10mm}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:#000;font:10pt/1.3 Arial,Helvetica,sans-serif}
.toolbar{padding:8px 12px;background:#eef2f7;border-bottom:1px solid #ccd;font-size:11pt}
.toolbar button{font:inherit;padding:4px 14px;margin-right:12px}
@media print{.toolbar{display:none}}
section.unit{padding:0}
section.unit+section.unit{break-before:page;page-break-before:always}
h2{font-size:13pt;margin:0 0 3mm}
.cards{display:grid;grid-template-columns:repeat(3,1fr);grid-auto-rows:62mm;gap:3mm}
.card{break-inside:avoid;page-break-inside:avoid;border:.3mm dashed #555;padding:2.5mm;
text-align:center;overflow:hidden;display:flex;flex-direction:column;align-items:center}
.card svg{width:32mm;height:32mm;flex:none}
.name{font-weight:700;font-size:10.5pt;overflow-wrap:anywhere;max-height:2.7em;overflow:hidden}
.meta,.polsek,.expires{font-size:8.5pt}
.how{font-size:8pt;margin:1mm 0 0;font-style:italic}
.daftar{font-size:9pt;margin:1mm 0 0}
.empty{padding:12mm;font-size:12pt}
"""


@dataclass(frozen=True, slots=True)
class SheetCard:
    """One officer's card: who, the link its QR holds, and until when it works."""

    officer: OfficerCard
    url: str
    expires_at: datetime
    chat_code: str | None = None  # `DAFTAR 482913` by WhatsApp, Telegram or SMS


def qr_svg(link: str) -> str:
    """The QR code of `link` as inline SVG (one path; sized by the sheet's CSS)."""
    image = qrcode.make(link, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg: str = image.to_string(encoding="unicode")
    # One page holds hundreds: no element id (the package names every path "qr-path").
    svg = svg.replace(' id="qr-path"', "", 1)
    return svg.replace("<svg ", '<svg role="img" aria-label="QR" ', 1)


def wib(at: datetime) -> str:
    """A moment as the sheet prints it: 27-11-2024 08:00 WIB."""
    return at.astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _card(c: SheetCard) -> str:
    o = c.officer
    return (
        f'<article class="card" data-nrp="{_e(o.nrp)}" data-link="{_e(c.url)}">'
        f"{qr_svg(c.url)}"
        f'<div class="name">{_e(o.name)}</div>'
        f'<div class="meta">{_e(o.rank)} · NRP {_e(o.nrp)}</div>'
        f'<div class="polsek">{_e(o.unit_name)}</div>'
        f'<div class="expires">Berlaku s.d. {_e(wib(c.expires_at))}</div>'
        + (
            f'<div class="daftar" data-daftar="{_e(c.chat_code)}">WA/Telegram/SMS: '
            f"<b>DAFTAR {_e(c.chat_code)}</b></div>"
            if c.chat_code
            else ""
        )
        + f'<p class="how">{_e(HOW_TO)}</p>'
        "</article>"
    )


def _order(c: SheetCard) -> tuple[str, str, str, str]:
    o = c.officer
    return (o.unit_name.casefold(), o.unit_code, o.name.casefold(), o.nrp)


def render(cards: Sequence[SheetCard], *, made_at: datetime, title: str) -> str:
    """The whole sheet: one section per unit (a new page each), cards sorted by name."""
    sections = []
    for (_, unit_code), group in groupby(
        sorted(cards, key=_order), key=lambda c: (c.officer.unit_name, c.officer.unit_code)
    ):
        members = list(group)
        sections.append(
            f'<section class="unit" data-unit="{_e(unit_code)}">'
            f"<h2>{_e(members[0].officer.unit_name)} — {len(members)} petugas</h2>"
            f'<div class="cards">{"".join(_card(c) for c in members)}</div></section>'
        )
    body = "".join(sections) or '<p class="empty">Tidak ada petugas untuk didaftarkan.</p>'
    return (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        '<div class="toolbar"><button type="button" onclick="window.print()">Cetak</button>'
        f"{_e(title)} · {len(cards)} petugas · dibuat {_e(wib(made_at))} · "
        "tiap kode hanya berlaku sekali; simpan lembar ini seperti kunci</div>"
        f"{body}</body></html>"
    )
