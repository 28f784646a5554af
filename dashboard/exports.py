"""The "Unduh" menu: links to the exports API, in the commander's view and on /admin.

Plain links: the browser sends the cookie, the API checks the role, cuts to the credential's
area (narrowed to the page's `?area=`), audits and streams the file as a download.
"""

import html as html_text
from urllib.parse import urlencode

from dash import html

from backend.exports.datasets import DATASETS, Format
from dashboard import ids
from dashboard.i18n import Lang, t
from schemas.enums import Role

EXPORT_PATH = "/api/v1/exports"


def export_links(area: str | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """(dataset, [(format, href)]) for every dataset, in menu order; GeoJSON where located."""
    query = f"?{urlencode({'area': area})}" if area else ""
    out = []
    for name, spec in DATASETS.items():
        formats = [f for f in Format if f is not Format.GEOJSON or spec.is_located]
        out.append((name, [(f.value, f"{EXPORT_PATH}/{name}.{f.value}{query}") for f in formats]))
    return out


def export_menu(lang: Lang, area: str | None = None) -> html.Details:
    """The commander's "Unduh" menu (closed until opened)."""
    rows = [
        html.Li(
            # Shown to everyone who may download it: a commander's dataset (the audit trail)
            # to commanders only, as the page shows its actions (body.can-commander).
            className="export-row"
            + ("" if DATASETS[name].role is Role.VIEWER else " commander-only"),
            children=[
                html.Span(t(f"exp_{name}", lang), className="export-name"),
                *(
                    html.A(
                        fmt.upper(),
                        href=href,
                        download="",
                        className="export-link",
                        id=f"{ids.CMD_EXPORT}-{name}-{fmt}",
                    )
                    for fmt, href in links
                ),
            ],
        )
        for name, links in export_links(area)
    ]
    return html.Details(
        id=ids.CMD_EXPORT,
        className="export-menu",
        children=[
            html.Summary(t("exp_menu", lang), className="button"),
            html.P(t("exp_hint", lang), className="export-hint"),
            html.Ul(rows, className="export-list"),
        ],
    )


def export_section(lang: Lang) -> str:
    """/admin's export panel as HTML (the API cuts every file to the admin's own area)."""
    rows = "".join(
        f'<li class="export-row"><span class="export-name">'
        f"{html_text.escape(t(f'exp_{name}', lang))}</span> "
        + " ".join(
            f'<a class="export-link" href="{html_text.escape(href)}" download>{fmt.upper()}</a>'
            for fmt, href in links
        )
        + "</li>"
        for name, links in export_links()
    )
    return (
        f'<section class="panel" id="adm-exports"><h2>{html_text.escape(t("exp_menu", lang))}'
        f'</h2><p class="export-hint">{html_text.escape(t("exp_hint", lang))}</p>'
        f'<ul class="export-list">{rows}</ul></section>'
    )
