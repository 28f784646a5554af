"""Pieces both views share: stores, the banner, the header, counters, legends, panels."""

from typing import Any

from dash import dcc, html

from dashboard import theme
from dashboard.figures import empty_figure
from dashboard.i18n import Lang, phase_name, situation_name, t
from dashboard.ids import ViewIds, counter_id

SEVERITIES = (1, 2, 3, 4)  # schemas.events.IncidentIn: 1 minor ... 4 critical


def stores(ids: ViewIds, lang: Lang, area: str | None = None) -> list[Any]:
    """The view's stores and the hidden target of its clientside callbacks."""
    return [
        # `area`: the page's ?area= narrowing, checked against the credential by every read.
        dcc.Store(id=ids.page, data={"view": ids.view, "lang": lang, "area": area}),
        dcc.Store(id=ids.refresh, data=0),
        dcc.Store(id=ids.config),
        dcc.Store(id=ids.officers),
        html.Div(id=ids.sink, hidden=True),
    ]


def banner(ids: ViewIds) -> html.Div:
    """The connection-lost banner; the browser script shows it the moment the stream stops."""
    return html.Div(id=ids.banner, className="banner hidden", role="alert", children="")


def header(ids: ViewIds, lang: Lang, *extra: Any) -> html.Header:
    """Title, date and clock in WIB, exercise label and the live status."""
    return html.Header(
        className="head",
        children=[
            html.Div(
                className="head-title",
                children=[
                    html.Div(t("title", lang), className="title"),
                    html.Div(t("unit", lang), className="subtitle"),
                ],
            ),
            html.Div(id=ids.exercise, className="exercise hidden", children=""),
            html.Div(
                className="head-time",
                children=[
                    html.Div(id=ids.date, className="date", children="—"),
                    html.Div(id=ids.clock, className="clock", children="--:--:--"),
                ],
            ),
            html.Div(
                id=ids.freshness, className="freshness connecting", children=t("connecting", lang)
            ),
            *extra,
        ],
    )


def _kpi(
    view: str, key: str, label: str, sub: str = "", cls: str = "", *, sub_key: str | None = None
) -> html.Div:
    sub_div = (
        html.Div(sub, id=counter_id(view, sub_key), className="kpi-sub")
        if sub_key
        else html.Div(sub, className="kpi-sub")
    )
    return html.Div(
        className=f"kpi kpi-{key} {cls}".strip(),
        children=[
            html.Div(label, className="kpi-label"),
            html.Div("—", id=counter_id(view, key), className="kpi-value"),
            sub_div,
        ],
    )


def counters(ids: ViewIds, lang: Lang) -> html.Section:
    """The counters: not seen, open incidents by severity, situations, silent officers, phases."""
    v = ids.view
    incidents = html.Div(
        className="kpi kpi-incidents",
        children=[
            html.Div(t("c_incidents", lang), className="kpi-label"),
            html.Div("—", id=counter_id(v, "incidents"), className="kpi-value"),
            html.Div(
                className="sev-row",
                children=[
                    html.Span(
                        className=f"sev sev-{n}",
                        children=[
                            html.Span(t("sev", lang, n=n), className="sev-label"),
                            html.Span("—", id=counter_id(v, f"sev{n}"), className="sev-value"),
                        ],
                    )
                    for n in SEVERITIES
                ],
            ),
        ],
    )
    phases = html.Div(
        className="phase-row",
        children=[
            html.Div(
                className=f"phase-tile phase-{key}",
                style={"--swatch": theme.PHASE_COLOURS[key]},
                children=[
                    html.Div("—", id=counter_id(v, key), className="phase-value"),
                    html.Div(
                        phase_name(key if key != theme.NOT_REPORTED else None, lang),
                        className="phase-label",
                    ),
                ],
            )
            for key in theme.PHASE_KEYS
        ],
    )
    return html.Section(
        className="kpis",
        children=[
            _kpi(v, "stale", t("c_stale", lang), t("c_stale_sub", lang), "alarm"),
            incidents,
            _kpi(v, "gangguan", t("c_gangguan", lang)),
            _kpi(v, "waspada", t("c_waspada", lang)),
            _kpi(v, "silent", t("c_silent", lang), "", sub_key="silent_sub"),
            html.Div(
                className="kpi kpi-phases",
                children=[
                    html.Div(
                        className="kpi-label",
                        children=[
                            t("legend_phase", lang),
                            " · ",
                            html.Span("—", id=counter_id(v, "tps")),
                            " TPS",
                        ],
                    ),
                    phases,
                ],
            ),
        ],
    )


def swatch(colour: str, label: str, cls: str = "") -> html.Span:
    """One legend entry."""
    return html.Span(
        className=f"swatch {cls}".strip(),
        children=[html.I(style={"background": colour}), label],
    )


def map_legend(lang: Lang) -> html.Div:
    """What the map's colours and rings mean."""
    sits = [theme.NOT_REPORTED, "aman", "waspada", "gangguan", theme.STALE]
    return html.Div(
        className="legend map-legend",
        children=[
            html.Div(t("legend_situation", lang), className="legend-title"),
            *[swatch(theme.SITUATION_COLOURS[s], situation_name(s, lang), f"s-{s}") for s in sits],
            html.Div(t("legend_incident", lang), className="legend-title"),
            html.Div(
                className="rings",
                children=[
                    html.Span(
                        className="ring",
                        style={
                            "--ring": theme.SEVERITY_COLOURS[n],
                            "--d": f"{theme.ring_size(n) / 2}",
                        },
                        title=t("sev", lang, n=n),
                        children=t("sev", lang, n=n),
                    )
                    for n in SEVERITIES
                ],
            ),
        ],
    )


def phase_legend(lang: Lang) -> html.Div:
    """What the timeline's and progress chart's colours mean."""
    return html.Div(
        className="legend phase-legend",
        children=[
            swatch(theme.PHASE_COLOURS[k], phase_name(k if k != theme.NOT_REPORTED else None, lang))
            for k in theme.PHASE_KEYS
        ]
        + [html.Span(t("problems", lang), className="legend-note")],
    )


def panel(title: str, *children: Any, cls: str = "") -> html.Section:
    """A titled panel of the screen."""
    return html.Section(
        className=f"panel {cls}".strip(),
        children=[html.H2(title, className="panel-title"), *children],
    )


def graph(component_id: str, kind: str, *, interactive: bool) -> dcc.Graph:
    """A graph that fills its panel; the wall's graphs never show tools or react to clicks."""
    config: dict[str, Any] = {
        "displayModeBar": False,
        "responsive": True,
        "displaylogo": False,
        "scrollZoom": interactive,
        "doubleClick": "reset" if interactive else False,
        "showTips": False,
    }
    return dcc.Graph(
        id=component_id,
        figure=empty_figure(kind),
        config=config,  # type: ignore[arg-type]  # a plain dict is what Plotly reads
        className="graph",
        style={"height": "100%", "width": "100%"},
    )
