"""The two screens' layouts: light skeletons; figures and numbers arrive by callback and push.

They are also what Dash embeds as its validation layout in every index page, so they carry no
data at all.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from dash import dcc, html
from dash.development.base_component import Component

from dashboard import ids
from dashboard.components.common import (
    banner,
    counters,
    graph,
    header,
    map_legend,
    panel,
    phase_legend,
    stores,
)
from dashboard.custody import commander_custody, wall_custody
from dashboard.data import phases_and_situations
from dashboard.exports import export_menu
from dashboard.i18n import Lang, phase_name, risk_name, situation_name, t
from dashboard.positions import commander_controls, wall_tracked
from dashboard.replay import replay_control
from schemas.enums import RiskRating

W = ids.WALL
C = ids.COMMANDER


def wall_layout(lang: Lang, area: str | None = None) -> html.Div:
    """The command room's wall: map, barcode, progress, log and counters; no clicks needed."""
    return html.Div(
        id=W.root,
        className="posko wall",
        lang=lang,
        children=[
            *stores(W, lang, area),
            banner(W),
            header(W, lang),
            counters(W, lang),
            html.Main(
                className="wall-body picture",
                children=[
                    panel(
                        t("map", lang),
                        html.Div(
                            className="map-box",
                            children=[graph(W.map, "map", interactive=False), map_legend(lang)],
                        ),
                        cls="map-panel",
                    ),
                    panel(
                        t("timeline", lang),
                        phase_legend(lang),
                        html.Div(
                            className="graph-box",
                            children=graph(W.timeline, "timeline", interactive=False),
                        ),
                        cls="timeline-panel",
                    ),
                    panel(
                        t("progress", lang),
                        html.Div(
                            className="graph-box",
                            children=graph(W.progress, "progress", interactive=False),
                        ),
                        wall_tracked(lang),
                        wall_custody(lang),
                        cls="progress-panel",
                    ),
                    panel(
                        t("alerts", lang),
                        html.Div(id=W.platform, className="platform"),
                        html.Div(id=W.alerts, className="alerts", children=t("no_alerts", lang)),
                        cls="alerts-panel",
                    ),
                    panel(
                        t("log", lang),
                        html.Div(id=W.log, className="log", children=t("log_empty", lang)),
                        cls="log-panel",
                    ),
                ],
            ),
        ],
    )


def _choices(
    values: list[str], name: Callable[[str, Lang], str], lang: Lang
) -> list[dict[str, str]]:
    return [{"label": name(v, lang), "value": v} for v in values]


def _filter(label: str, component: Component) -> html.Label:
    return html.Label(className="filter", children=[html.Span(label), component])


def _multi(cid: str, lang: Lang, options: list[dict[str, str]] | None = None) -> dcc.Dropdown:
    """A filter's multi-choice dropdown; empty means all, kept for the browser session."""
    given: dict[str, Any] = {"options": options} if options is not None else {}
    return dcc.Dropdown(
        id=cid,
        **given,
        multi=True,
        placeholder=t("f_all", lang),
        persistence=True,
        persistence_type="session",
    )


def _search(lang: Lang) -> html.Div:
    """The search box: a TPS code, a desa name or an officer's NRP."""
    return html.Div(
        className="search",
        children=[
            dcc.Input(
                id=ids.CMD_SEARCH,
                type="search",
                placeholder=t("f_search", lang),
                debounce=True,
                className="search-input",
            ),
            html.Button(t("f_go", lang), id=ids.CMD_SEARCH_GO, className="button"),
            html.Div(id=ids.CMD_SEARCH_MSG, className="search-msg"),
        ],
    )


def _filters(lang: Lang) -> list[Component]:
    """Where, phase, situation and risk filters, and how the map colours its markers."""
    phases, situations = phases_and_situations()
    phase_choices = _choices(
        phases, lambda v, lg: phase_name(None if v == "belum" else v, lg), lang
    )
    situation_choices = _choices(
        situations, lambda v, lg: situation_name(None if v == "belum" else v, lg), lang
    )
    risk_choices = _choices([r.value for r in RiskRating], risk_name, lang)
    return [
        html.H2(t("f_filters", lang), className="panel-title"),
        _filter(t("f_kecamatan", lang), _multi(ids.CMD_KECAMATAN, lang)),
        _filter(t("f_desa", lang), _multi(ids.CMD_DESA, lang)),
        _filter(t("f_phase", lang), _multi(ids.CMD_PHASE, lang, options=phase_choices)),
        _filter(t("f_situation", lang), _multi(ids.CMD_SITUATION, lang, options=situation_choices)),
        _filter(t("f_risk", lang), _multi(ids.CMD_RISK, lang, options=risk_choices)),
        _filter(
            t("f_colour", lang),
            dcc.RadioItems(
                id=ids.CMD_COLOUR,
                options=[
                    {"label": t("colour_situation", lang), "value": "situation"},
                    {"label": t("colour_phase", lang), "value": "phase"},
                ],
                value="situation",
                inline=True,
                className="radio",
                persistence=True,
                persistence_type="session",
            ),
        ),
    ]


def _sidebar(lang: Lang, area: str | None) -> html.Aside:
    """The left column: search, filters, the officer layer, the legends, downloads."""
    return html.Aside(
        className="sidebar",
        children=[
            _search(lang),
            *_filters(lang),
            html.Div(id=ids.CMD_MATCHES, className="matches"),
            commander_controls(lang),
            map_legend(lang),
            phase_legend(lang),
            export_menu(lang, area),
        ],
    )


def _lang_switch(lang: Lang, area: str | None) -> html.Nav:
    """ID / EN links that keep the page's area."""

    def link(cid: str, to: Lang) -> dcc.Link:
        query = urlencode({"lang": to} | ({"area": area} if area else {}))
        return dcc.Link(to.upper(), id=cid, href="/?" + query, className="on" if lang == to else "")

    return html.Nav(
        className="lang",
        title=t("language", lang),
        children=[link(ids.CMD_LANG_ID, "id"), link(ids.CMD_LANG_EN, "en")],
    )


def _account(lang: Lang, area: str | None) -> html.Nav:
    """The admin link (shown by the browser script to who may use it), the reports, sign-out."""
    return html.Nav(
        className="account",
        children=[
            # Plain links, not dcc.Link: /admin is not a Dash page.
            html.A(t("admin", lang), id=ids.CMD_ADMIN_LINK, href="/admin", className="hidden"),
            html.A(
                t("r_link", lang),
                id=ids.CMD_REPORTS_LINK,
                href="/laporan?" + urlencode({"lang": lang} | ({"area": area} if area else {})),
                className="button",
            ),
            html.Form(
                action="/logout",
                method="post",
                children=html.Button(t("logout", lang), id=ids.CMD_LOGOUT, className="button"),
            ),
        ],
    )


def _side_panels(lang: Lang) -> html.Aside:
    """The right column: the selected TPS, alerts, incidents, silent officers, the log."""
    return html.Aside(
        className="side",
        children=[
            panel(
                t("detail", lang),
                html.Div(id=ids.CMD_DETAIL, className="detail", children=t("detail_hint", lang)),
                commander_custody(lang),
                cls="detail-panel",
            ),
            panel(
                t("alerts", lang),
                html.Div(id=C.platform, className="platform"),
                html.Div(id=C.alerts, className="alerts", children=t("no_alerts", lang)),
                cls="alerts-panel",
            ),
            panel(
                t("incidents", lang),
                # Written by the browser script from the live state, with the actions the
                # signed-in role may take; the buttons call the API with the browser's cookie.
                html.Div(id=ids.CMD_INCIDENTS, className="incidents"),
                cls="incidents-panel",
            ),
            panel(
                t("silent", lang),
                html.Div(id=ids.CMD_SILENT, className="silent"),
                cls="silent-panel",
            ),
            panel(
                t("log", lang),
                html.Div(id=C.log, className="log", children=t("log_empty", lang)),
                cls="log-panel",
            ),
        ],
    )


def _graph_panel(title: str, cid: str, kind: str, cls: str) -> html.Section:
    """A panel holding one interactive figure."""
    return panel(
        title,
        html.Div(className="graph-box", children=graph(cid, kind, interactive=True)),
        cls=cls,
    )


def commander_layout(lang: Lang, area: str | None = None) -> html.Div:
    """The commander's laptop: the same live picture with filters, search and drill-down."""
    return html.Div(
        id=C.root,
        className="posko commander",
        lang=lang,
        children=[
            *stores(C, lang, area),
            dcc.Store(id=ids.CMD_SELECTED, storage_type="session"),
            dcc.Store(id=ids.CMD_PANELS_TICK, data=0),
            dcc.Store(id=ids.CMD_MINUTE, data=0),
            banner(C),
            header(C, lang, _lang_switch(lang, area), _account(lang, area)),
            replay_control(lang),  # dashboard/replay.py: the time control
            counters(C, lang),
            html.Main(
                className="cmd-body picture",
                children=[
                    _sidebar(lang, area),
                    panel(
                        t("map", lang),
                        html.Div(
                            className="map-box", children=graph(C.map, "map", interactive=True)
                        ),
                        cls="map-panel",
                    ),
                    _side_panels(lang),
                    _graph_panel(t("timeline", lang), C.timeline, "timeline", "timeline-panel"),
                    _graph_panel(t("day", lang), ids.CMD_DAY, "day", "day-panel"),
                    _graph_panel(t("progress", lang), C.progress, "progress", "progress-panel"),
                ],
            ),
        ],
    )
