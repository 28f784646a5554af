"""/nasional: rollup rows per province, kabupaten or kecamatan, problems first; no TPS drawn.

The skeleton carries no data (it is also part of Dash's validation layout); the crumbs, totals
and table arrive from one callback that re-reads the rollup every few seconds.
"""

from typing import Any
from urllib.parse import urlencode

from dash import dcc, html

from dashboard import ids, theme
from dashboard.components.common import SEVERITIES
from dashboard.data import NationalPicture
from dashboard.i18n import Lang, clock_text, phase_name, t
from schemas.rollup import AreaCount

REFRESH_MS = 3000  # why a re-read and not the live stream: pages/national.py, render_national


def national_href(area: str | None, lang: Lang) -> str:
    """The rollup page of an area (None: the country)."""
    query = {"area": area} if area else {}
    if lang != "id":
        query["lang"] = lang
    return "/nasional" + (f"?{urlencode(query)}" if query else "")


def map_href(area: str, lang: Lang) -> str:
    """The commander's live map narrowed to one kabupaten."""
    query = {"area": area} | ({"lang": lang} if lang != "id" else {})
    return f"/?{urlencode(query)}"


def national_layout(lang: Lang, area: str | None) -> html.Div:
    """The page's skeleton: header, breadcrumb, totals, the table; numbers come by callback."""
    lang_switch = html.Nav(
        className="lang",
        title=t("language", lang),
        children=[
            dcc.Link(
                "ID",
                id=ids.NAT_LANG_ID,
                href=national_href(area, "id"),
                className="on" if lang == "id" else "",
            ),
            dcc.Link(
                "EN",
                id=ids.NAT_LANG_EN,
                href=national_href(area, "en"),
                className="on" if lang == "en" else "",
            ),
        ],
    )
    return html.Div(
        id=ids.NAT_ROOT,
        className="posko national",
        lang=lang,
        children=[
            dcc.Store(id=ids.NAT_PAGE, data={"view": "national", "lang": lang, "area": area}),
            dcc.Store(id=ids.NAT_DIGEST),
            dcc.Interval(id=ids.NAT_TICK, interval=REFRESH_MS),
            html.Header(
                className="head",
                children=[
                    html.Div(
                        className="head-title",
                        children=[
                            html.Div(t("title", lang), className="title"),
                            html.Div(t("national_title", lang), className="subtitle"),
                        ],
                    ),
                    html.Div(id=ids.NAT_UPDATED, className="freshness connecting", children="—"),
                    lang_switch,
                ],
            ),
            html.Nav(id=ids.NAT_CRUMBS, className="nat-crumbs", children=[]),
            html.Div(id=ids.NAT_NOTICE, className="nat-notice", children=[]),
            html.Section(id=ids.NAT_TOTALS, className="nat-totals", children=[]),
            html.Section(
                className="panel nat-panel",
                children=[
                    html.Div(id=ids.NAT_TABLE, className="nat-table-box", children=[]),
                    html.P(t("n_order", lang), className="nat-order"),
                ],
            ),
        ],
    )


def crumbs(pic: NationalPicture, lang: Lang) -> list[Any]:
    """Breadcrumb from the credential's area down to the one shown; every level but the last
    is a link back up."""
    out: list[Any] = []
    for i, (code, name) in enumerate(pic.crumbs):
        label = name or t("national", lang)
        last = i == len(pic.crumbs) - 1
        if i:
            out.append(html.Span("/", className="sep"))
        out.append(
            html.Span(label, className="crumb here")
            if last
            else dcc.Link(label, href=national_href(code, lang), className="crumb")
        )
    if pic.area and len(pic.area) == 5:
        out.append(html.A(t("n_open_map", lang), href=map_href(pic.area, lang), className="button"))
    return out


def notice(pic: NationalPicture, lang: Lang) -> list[Any]:
    """Why another area than the one asked for is shown, if it is."""
    return [t("n_refused", lang, area=pic.refused)] if pic.refused else []


def _bar(row: AreaCount, lang: Lang) -> html.Div:
    """Phase progress of one row as a stacked bar (widths are TPS counts)."""
    parts = [(k, row.phases.get(k, 0)) for k in theme.PHASE_KEYS]
    return html.Div(
        className="nat-bar",
        children=[
            html.Span(
                style={"flexGrow": n, "background": theme.PHASE_COLOURS[k]},
                title=f"{phase_name(k if k != theme.NOT_REPORTED else None, lang)}: {n}",
            )
            for k, n in parts
            if n
        ],
    )


def _num(n: int, cls: str) -> html.Td:
    return html.Td(f"{n:,}".replace(",", "."), className=f"num {cls}" + (" hot" if n else ""))


def _incidents(row: AreaCount) -> html.Td:
    return html.Td(
        className="num sev-cells",
        children=[
            html.Span(
                str(row.incidents.get(n, 0)),
                className=f"sev sev-{n}" + (" hot" if row.incidents.get(n) else ""),
            )
            for n in SEVERITIES
        ],
    )


def _cells(row: AreaCount, lang: Lang) -> list[Any]:
    return [
        _num(row.total, "total"),
        html.Td(_bar(row, lang), className="bar-cell"),
        _num(row.gangguan, "gangguan"),
        _num(row.not_seen, "not-seen"),
        _num(row.behind, "behind"),
        _num(row.waspada, "waspada"),
        _num(row.ditunda, "ditunda"),
        _incidents(row),
    ]


def area_table(pic: NationalPicture, lang: Lang) -> html.Table | html.P:
    """One row per area, problems first; a province or kabupaten name drills down a level."""
    if not pic.rows:
        return html.P(t("n_empty", lang), className="nat-empty")
    drill = pic.level != "kecamatan"
    head = html.Tr(
        [
            html.Th(t(f"n_level_{pic.level}", lang)),
            *(
                html.Th(t(k, lang), className="num" if k != "n_progress" else "")
                for k in (
                    "n_tps",
                    "n_progress",
                    "n_gangguan",
                    "n_not_seen",
                    "n_behind",
                    "n_waspada",
                    "n_ditunda",
                    "n_incidents",
                )
            ),
            *([html.Th("")] if pic.level == "kabupaten" else []),
        ]
    )
    body = []
    for row in pic.rows:
        name = html.Span([row.name, html.Small(row.code, className="code")])
        first = html.Td(
            dcc.Link(name, href=national_href(row.code, lang), className="drill")
            if drill
            else name,
            className="name",
        )
        extra = (
            [html.Td(html.A(t("n_map", lang), href=map_href(row.code, lang), className="map"))]
            if pic.level == "kabupaten"
            else []
        )
        data_code: dict[str, Any] = {"data-code": row.code}  # Dash takes data-* as keywords
        body.append(
            html.Tr(
                [first, *_cells(row, lang), *extra],
                className="row" + (" trouble" if row.gangguan or row.not_seen else ""),
                **data_code,
            )
        )
    return html.Table(className="nat-table", children=[html.Thead(head), html.Tbody(body)])


def totals(pic: NationalPicture, lang: Lang) -> list[Any]:
    """The area's sums as tiles, with its own phase bar."""
    r = pic.total

    def tile(key: str, n: int, cls: str) -> html.Div:
        return html.Div(
            className=f"kpi nat-kpi {cls}",
            children=[
                html.Div(t(key, lang), className="kpi-label"),
                html.Div(f"{n:,}".replace(",", "."), className="kpi-value", id=f"nat-sum-{cls}"),
            ],
        )

    return [
        tile("n_tps", r.total, "total"),
        tile("n_gangguan", r.gangguan, "gangguan"),
        tile("n_not_seen", r.not_seen, "not-seen"),
        tile("n_behind", r.behind, "behind"),
        tile("n_waspada", r.waspada, "waspada"),
        tile("c_incidents", r.open_incidents, "incidents"),
        html.Div(className="kpi nat-kpi nat-kpi-bar", children=_bar(r, lang)),
    ]


def updated(pic: NationalPicture, lang: Lang) -> str:
    """When these numbers were read, in WIB; an exercise says so first."""
    when = t("n_updated", lang, time=clock_text(pic.now, seconds=True))
    return f"{t('exercise', lang, label=pic.exercise)} · {when}" if pic.exercise else when
