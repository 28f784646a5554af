"""The two screens' layouts: light skeletons; figures and numbers arrive by callback and push.

They are also what Dash embeds as its validation layout in every index page, so they carry no
data at all.
"""

from collections.abc import Callable
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
from dashboard.data import phases_and_situations
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


def commander_layout(lang: Lang, area: str | None = None) -> html.Div:
    """The commander's laptop: the same live picture with filters, search and drill-down."""
    phases, situations = phases_and_situations()
    sidebar = html.Aside(
        className="sidebar",
        children=[
            html.Div(
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
            ),
            html.H2(t("f_filters", lang), className="panel-title"),
            _filter(
                t("f_kecamatan", lang),
                dcc.Dropdown(
                    id=ids.CMD_KECAMATAN,
                    multi=True,
                    placeholder=t("f_all", lang),
                    persistence=True,
                    persistence_type="session",
                ),
            ),
            _filter(
                t("f_desa", lang),
                dcc.Dropdown(
                    id=ids.CMD_DESA,
                    multi=True,
                    placeholder=t("f_all", lang),
                    persistence=True,
                    persistence_type="session",
                ),
            ),
            _filter(
                t("f_phase", lang),
                dcc.Dropdown(
                    id=ids.CMD_PHASE,
                    options=_choices(
                        phases, lambda v, lg: phase_name(None if v == "belum" else v, lg), lang
                    ),
                    multi=True,
                    placeholder=t("f_all", lang),
                    persistence=True,
                    persistence_type="session",
                ),
            ),
            _filter(
                t("f_situation", lang),
                dcc.Dropdown(
                    id=ids.CMD_SITUATION,
                    options=_choices(
                        situations,
                        lambda v, lg: situation_name(None if v == "belum" else v, lg),
                        lang,
                    ),
                    multi=True,
                    placeholder=t("f_all", lang),
                    persistence=True,
                    persistence_type="session",
                ),
            ),
            _filter(
                t("f_risk", lang),
                dcc.Dropdown(
                    id=ids.CMD_RISK,
                    options=_choices([r.value for r in RiskRating], risk_name, lang),
                    multi=True,
                    placeholder=t("f_all", lang),
                    persistence=True,
                    persistence_type="session",
                ),
            ),
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
            html.Div(id=ids.CMD_MATCHES, className="matches"),
            commander_controls(lang),
            map_legend(lang),
            phase_legend(lang),
        ],
    )
    lang_switch = html.Nav(
        className="lang",
        title=t("language", lang),
        children=[
            dcc.Link(
                "ID",
                id=ids.CMD_LANG_ID,
                href="/?" + urlencode({"lang": "id"} | ({"area": area} if area else {})),
                className="on" if lang == "id" else "",
            ),
            dcc.Link(
                "EN",
                id=ids.CMD_LANG_EN,
                href="/?" + urlencode({"lang": "en"} | ({"area": area} if area else {})),
                className="on" if lang == "en" else "",
            ),
        ],
    )
    account = html.Nav(
        className="account",
        children=[
            # Plain links, not dcc.Link: /admin is not a Dash page.
            html.A(t("admin", lang), id=ids.CMD_ADMIN_LINK, href="/admin", className="hidden"),
            html.Form(
                action="/logout",
                method="post",
                children=html.Button(t("logout", lang), id=ids.CMD_LOGOUT, className="button"),
            ),
        ],
    )
    side = html.Aside(
        className="side",
        children=[
            panel(
                t("detail", lang),
                html.Div(id=ids.CMD_DETAIL, className="detail", children=t("detail_hint", lang)),
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
            header(C, lang, lang_switch, account),
            replay_control(lang),  # dashboard/replay.py: the time control
            counters(C, lang),
            html.Main(
                className="cmd-body picture",
                children=[
                    sidebar,
                    panel(
                        t("map", lang),
                        html.Div(
                            className="map-box", children=graph(C.map, "map", interactive=True)
                        ),
                        cls="map-panel",
                    ),
                    side,
                    panel(
                        t("timeline", lang),
                        html.Div(
                            className="graph-box",
                            children=graph(C.timeline, "timeline", interactive=True),
                        ),
                        cls="timeline-panel",
                    ),
                    panel(
                        t("day", lang),
                        html.Div(
                            className="graph-box",
                            children=graph(ids.CMD_DAY, "day", interactive=True),
                        ),
                        cls="day-panel",
                    ),
                    panel(
                        t("progress", lang),
                        html.Div(
                            className="graph-box",
                            children=graph(C.progress, "progress", interactive=True),
                        ),
                        cls="progress-panel",
                    ),
                ],
            ),
        ],
    )
