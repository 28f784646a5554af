"""Officers on the map: the commander's officer layer and trail, the wall's tracked counts.

Polled, not pushed: a Dash interval re-reads `officer_last_fix` (one row per officer) every few
seconds while the layer is on, and patches only the map's officer and trail traces
(figures.MAP_OFFICERS, MAP_TRAIL). The live protocol and its per-TPS patches stay untouched.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dash import Input, Output, Patch, State, dcc, html
from sqlmodel import Session, col, select

from backend.positions import service
from backend.positions.service import OfficerFix
from backend.positions.views import TRAIL_MAX, day_bounds
from backend.regions.models import Region
from backend.replay.service import positions_at
from backend.runtime import Runtime
from dashboard import ids
from dashboard.figures import MAP_OFFICERS, MAP_TRAIL
from dashboard.i18n import Lang, ago_text, clock_text, lang_of, t
from dashboard.replay import REPLAY_MOMENT, replayed_moment
from dashboard.serving import PageCallbacks, Serving

C = ids.COMMANDER
W = ids.WALL
FRESH_COLOUR = "#38bdf8"  # sky blue: no TPS state uses it
STALE_COLOUR = "#6b7280"  # grey: "we do not know where he is now"
TRAIL_COLOUR = "#f59e0b"
POLL_MS = 5000  # the officer layer re-reads every 5 s (fixes come every 10 s)
WALL_POLL_MS = 15_000
callbacks = PageCallbacks()  # the officer layer's and the wall's counts, both polled


def officer_hover(f: OfficerFix, lang: Lang) -> str:
    """Who, how old the fix is, battery: the hover of one officer's marker."""
    lines = [f"<b>{f.rank} {f.name}</b> ({f.nrp})", f.unit]
    age = ago_text(f.age_s, lang) + f" ({clock_text(f.at)} WIB)"
    if f.is_stale:
        age += " — " + t("position_stale", lang)
    lines.append(age)
    extra = [f.source]
    if f.battery is not None:
        extra.insert(0, t("battery", lang, n=round(f.battery)))
    if f.accuracy_m is not None:
        extra.append(f"±{round(f.accuracy_m)} m")
    lines.append(" · ".join(extra))
    return "<br>".join(lines)


def officer_trace(fixes: Sequence[OfficerFix], lang: Lang) -> dict[str, Any]:
    """The officers' latest fixes as one marker trace (stale ones grey), `ids` = NRPs."""
    return {
        "type": "scattermap",
        "name": "officers",
        "ids": [f.nrp for f in fixes],
        "lat": [f.lat for f in fixes],
        "lon": [f.lon for f in fixes],
        "mode": "markers",
        "marker": {
            "color": [STALE_COLOUR if f.is_stale else FRESH_COLOUR for f in fixes],
            "size": [9 if f.is_stale else 12 for f in fixes],
            "opacity": 0.9,
        },
        "hovertext": [officer_hover(f, lang) for f in fixes],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def trail_trace(points: Sequence[tuple[float, float, datetime]]) -> dict[str, Any]:
    """One officer's fixes of the day as a line, oldest first."""
    return {
        "type": "scattermap",
        "name": "trail",
        "lat": [p[0] for p in points],
        "lon": [p[1] for p in points],
        "mode": "lines+markers",
        "line": {"color": TRAIL_COLOUR, "width": 3},
        "marker": {"color": TRAIL_COLOUR, "size": 5},
        "hovertext": [clock_text(p[2], seconds=True) + " WIB" for p in points],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def commander_controls(lang: Lang) -> html.Div:
    """The sidebar's officer-layer switch and trail picker, with the layer's poll timer."""
    return html.Div(
        className="officer-layer",
        children=[
            html.H2(t("officers_layer", lang), className="panel-title"),
            dcc.Checklist(
                id=ids.CMD_OFFICERS_SHOW,
                options=[{"label": t("officers_show", lang), "value": "on"}],
                value=[],
                className="radio",
                persistence=True,
                persistence_type="session",
            ),
            html.Label(
                className="filter",
                children=[
                    html.Span(t("trail_of", lang)),
                    dcc.Dropdown(
                        id=ids.CMD_TRAIL_OFFICER,
                        placeholder=t("trail_none", lang),
                        clearable=True,
                    ),
                ],
            ),
            html.Div(id=ids.CMD_OFFICERS_INFO, className="matches"),
            dcc.Interval(id=ids.CMD_OFFICERS_TICK, interval=POLL_MS, disabled=True),
        ],
    )


def wall_tracked(lang: Lang) -> html.Div:
    """The wall's count of officers with a fresh fix per kecamatan (filled by polling)."""
    return html.Div(
        className="tracked",
        children=[
            html.H3(t("tracked", lang), className="tracked-title"),
            html.Div(id=ids.WALL_TRACKED, className="tracked-list"),
            dcc.Interval(id=ids.WALL_TRACKED_TICK, interval=WALL_POLL_MS),
        ],
    )


def tracked_rows(counts: dict[str, int], names: dict[str, str], lang: Lang) -> list[html.Div] | str:
    """One line per kecamatan: its name and how many officers have a fresh fix there."""
    if not counts:
        return t("tracked_none", lang)
    return [
        html.Div(
            className="tracked-row",
            children=[html.Span(names.get(code, code)), html.B(str(n), className="tracked-n")],
        )
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], names.get(kv[0], kv[0])))
    ]


def _read_layer(
    rt: Runtime, area: str | None, nrp: str | None, past: datetime | None = None
) -> tuple[list[OfficerFix], list[tuple[float, float, datetime]]]:
    """The officers' latest fixes in `area` and, when one is picked, his fixes of the day.

    With `past` (a replayed moment, dashboard/replay.py), as they were known then.
    """
    now = past or rt.clock.now()
    stale_s = rt.settings.positions_stale_s
    with Session(rt.engine) as s:
        if past is not None:  # each officer's last fix known then
            fixes = positions_at(session=s, area_code=area, at=past, stale_s=stale_s)
        else:
            fixes = service.latest_in_area(session=s, area_code=area, now=now, stale_s=stale_s)
        points: list[tuple[float, float, datetime]] = []
        if nrp:
            officer = service.officer_in_area(session=s, nrp=nrp, area_code=area)
            if officer is not None and officer.id is not None:
                since, until = day_bounds(now)
                until = min(until, now) if past is not None else until
                rows = service.trail(
                    session=s, officer_id=officer.id, since=since, until=until, limit=TRAIL_MAX
                )
                points = [(r.lat, r.lon, r.device_time) for r in rows]
    return fixes, points


def _layer_info(
    fixes: Sequence[OfficerFix],
    points: Sequence[Any],
    *,
    shown: bool,
    nrp: str | None,
    stale_s: float,
    lang: Lang,
) -> list[Any]:
    """The line under the switch: fresh and stale officers shown, points of the trail."""
    stale = sum(1 for f in fixes if f.is_stale)
    info: list[Any] = []
    if shown:
        info.append(
            t(
                "officers_count",
                lang,
                fresh=len(fixes) - stale,
                stale=stale,
                minutes=round(stale_s / 60),
            )
        )
    if nrp:
        info += [html.Br(), t("trail_points", lang, n=len(points))]
    return info


@callbacks.server(
    Output(ids.CMD_OFFICERS_TICK, "disabled"),
    Input(ids.CMD_OFFICERS_SHOW, "value"),
)
async def poll_when_shown(_srv: Serving, show: list[str] | None) -> bool:
    """Poll only while the layer is on."""
    return "on" not in (show or [])


@callbacks.server(
    Output(C.map, "figure", allow_duplicate=True),
    Output(ids.CMD_OFFICERS_INFO, "children"),
    Output(ids.CMD_TRAIL_OFFICER, "options"),
    Input(ids.CMD_OFFICERS_SHOW, "value"),
    Input(ids.CMD_TRAIL_OFFICER, "value"),
    Input(ids.CMD_OFFICERS_TICK, "n_intervals"),
    Input(ids.CMD_MATCHES, "children"),  # the map was drawn anew: its layer too
    Input(REPLAY_MOMENT, "data"),  # a replayed moment (dashboard/replay.py), None: live
    State(C.page, "data"),
    prevent_initial_call=True,
)
async def officer_layer(
    srv: Serving,
    show: list[str] | None,
    nrp: str | None,
    _tick: Any,
    _drawn: Any,
    moment: str | None,
    page: Any,
) -> tuple[Any, ...]:
    """Patch the officers' latest fixes and the picked officer's trail onto the map."""
    lang = lang_of((page or {}).get("lang"))
    shown = "on" in (show or [])
    past = replayed_moment(moment)

    def build(rt: Runtime, area: str | None) -> tuple[Any, ...]:
        fixes, points = _read_layer(rt, area, nrp, past)
        patch = Patch()
        patch["data"][MAP_OFFICERS] = officer_trace(fixes if shown else [], lang)
        patch["data"][MAP_TRAIL] = trail_trace(points)
        stale_s = rt.settings.positions_stale_s
        info = _layer_info(fixes, points, shown=shown, nrp=nrp, stale_s=stale_s, lang=lang)
        options = [{"label": f"{f.rank} {f.name} ({f.nrp})", "value": f.nrp} for f in fixes]
        return patch, info, options

    result: tuple[Any, ...] = await srv.in_thread(build, page=page, maps=False)
    return result


@callbacks.server(
    Output(ids.WALL_TRACKED, "children"),
    Input(ids.WALL_TRACKED_TICK, "n_intervals"),
    State(W.page, "data"),
)
async def wall_counts(srv: Serving, _tick: Any, page: Any) -> Any:
    """Officers with a fresh fix per kecamatan of the wall's area."""
    lang = lang_of((page or {}).get("lang"))

    def build(rt: Runtime, area: str | None) -> Any:
        with Session(rt.engine) as s:
            counts = service.fresh_per_kecamatan(
                session=s,
                area_code=area,
                now=rt.clock.now(),
                stale_s=rt.settings.positions_stale_s,
            )
            q = select(Region.code, Region.name).where(col(Region.code).in_(list(counts)))
            names = dict(s.exec(q).all())
        return tracked_rows(counts, names, lang)

    return await srv.in_thread(build, page=page, maps=False)
