"""/: the commander's view with filters and drill-down, `?lang=en` for English."""

from typing import Any

import dash
from dash import Input, Output, Patch, State, callback_context, html, no_update
from dash.exceptions import PreventUpdate

from backend.runtime import Runtime
from backend.tps.liveness import grace_table
from dashboard import ids
from dashboard.components.detail import silent_list, tps_detail
from dashboard.components.views import commander_layout
from dashboard.data import (
    Filters,
    Picture,
    read_officers,
    read_picture,
    read_timeline,
    read_tps_detail,
    search_tps,
    silent_officers,
)
from dashboard.figures import (
    MAP_SELECTED,
    TimelineInput,
    day_figure,
    map_figure,
    progress_figure,
    timeline_figure,
)
from dashboard.i18n import lang_of, t
from dashboard.replay import REPLAY_MOMENT, replayed_moment
from dashboard.serving import (
    PageCallbacks,
    Serving,
    browser_config,
    filters,
    hand_over,
    map_options,
    new_rev,
    officer_rows,
)

dash.register_page(__name__, path="/", name="commander", title=t("commander_title", "id"))

C = ids.COMMANDER
FOCUS_ZOOM = 12.0
callbacks = PageCallbacks()


def layout(lang: str | None = None, area: str | None = None, **_: object) -> html.Div:
    """The commander's skeleton in the asked language, narrowed to `?area=` if given."""
    return commander_layout(lang_of(lang), area or None)


# -- drawn on load and after each resync ----------------------------------------------------


@callbacks.server(
    Output(C.config, "data"),
    Output(C.officers, "data"),
    Output(C.progress, "figure"),
    Output(ids.CMD_KECAMATAN, "options"),
    Input(C.page, "data"),
    Input(C.refresh, "data"),
)
async def render_commander(srv: Serving, page: dict[str, Any], _refresh: int) -> tuple[Any, ...]:
    """Configuration, officers, progress and the kecamatan choices."""
    lang = lang_of((page or {}).get("lang"))

    def build(rt: Runtime, area: str | None) -> tuple[Any, ...]:
        pic = read_picture(rt, area_code=area)
        kecs = sorted({(v.kecamatan_code, v.kecamatan) for v in pic.tps})
        return (
            browser_config(C, lang, pic, rt, area),
            officer_rows(read_officers(rt, area_code=area)),
            progress_figure(pic.tps, lang=lang, rev=new_rev()),
            [{"label": f"{name} ({code})", "value": code} for code, name in kecs],
        )

    result: tuple[Any, ...] = await srv.in_thread(build, page=page)
    return result


@callbacks.server(
    Output(ids.CMD_DESA, "options"),
    Input(ids.CMD_KECAMATAN, "value"),
    Input(C.page, "data"),
)
async def desa_choices(srv: Serving, kec: list[str] | None, page: Any) -> list[dict[str, str]]:
    """Desa of the chosen kecamatan (all when none is chosen)."""

    def build(rt: Runtime, area: str | None) -> list[dict[str, str]]:
        pic = read_picture(rt, area_code=area)
        desa = sorted(
            {(v.desa_code, v.desa) for v in pic.tps if not kec or v.kecamatan_code in kec}
        )
        return [{"label": f"{name} ({code})", "value": code} for code, name in desa]

    result: list[dict[str, str]] = await srv.in_thread(build, page=page)
    return result


# -- the filtered map and timelines -----------------------------------------------------------

FILTERS_IN = (
    Input(ids.CMD_KECAMATAN, "value"),
    Input(ids.CMD_DESA, "value"),
    Input(ids.CMD_PHASE, "value"),
    Input(ids.CMD_SITUATION, "value"),
    Input(ids.CMD_RISK, "value"),
)


@callbacks.server(
    Output(C.map, "figure"),
    Output(ids.CMD_MATCHES, "children"),
    Input(C.page, "data"),
    Input(C.refresh, "data"),
    *FILTERS_IN,
    Input(ids.CMD_COLOUR, "value"),
    State(ids.CMD_SELECTED, "data"),
)
async def render_commander_map(
    srv: Serving,
    page: dict[str, Any],
    _refresh: int,
    kec: Any,
    desa: Any,
    phase: Any,
    situation: Any,
    risk: Any,
    colour: str | None,
    selected: str | None,
) -> tuple[Any, ...]:
    """The map of the TPS that pass the filters, coloured as asked."""
    lang = lang_of((page or {}).get("lang"))
    f = filters(kec, desa, phase, situation, risk)
    mode = "phase" if colour == "phase" else "situation"

    def build(rt: Runtime, area: str | None) -> tuple[Any, ...]:
        pic = read_picture(rt, area_code=area)
        shown = [v for v in pic.tps if f.keep(v)]
        opts = map_options(
            rt,
            lang,
            whole=not f.key.strip("|"),
            mode=mode,
            uirevision=f.key or "all",
            selected=selected,
        )
        fig = map_figure(shown, pic.incidents, now=pic.now, grace=pic.grace, opts=opts)
        return fig, t("matches", lang, n=len(shown), total=len(pic.tps))

    result: tuple[Any, ...] = await srv.in_thread(build, page=page)
    return result


def _timeline_of(rt: Runtime, area: str | None, f: Filters) -> TimelineInput:
    codes = None
    if f.key.strip("|"):
        codes = {v.code for v in read_picture(rt, area_code=area).tps if f.keep(v)}
    return read_timeline(rt, area_code=area, codes=codes)


@callbacks.server(
    Output(C.timeline, "figure"),
    Output(ids.CMD_DAY, "figure"),
    Input(C.page, "data"),
    Input(C.refresh, "data"),
    Input(ids.CMD_MINUTE, "data"),
    *FILTERS_IN,
)
async def render_commander_timeline(
    srv: Serving,
    page: dict[str, Any],
    _refresh: int,
    _minute: int,
    kec: Any,
    desa: Any,
    phase: Any,
    situation: Any,
    risk: Any,
) -> tuple[Any, Any]:
    """The barcode and the phases over the day of the TPS that pass the filters.

    One read of the timeline feeds both. The minute tick redraws only the day chart: the
    browser keeps the barcode's last bin live, and the barcode is the dearer figure.
    """
    lang = lang_of((page or {}).get("lang"))
    f = filters(kec, desa, phase, situation, risk)
    minute_only = callback_context.triggered_id == ids.CMD_MINUTE

    def build(rt: Runtime, area: str | None) -> tuple[Any, Any]:
        data = _timeline_of(rt, area, f)
        day = day_figure(data, lang=lang, rev=new_rev())
        if minute_only:
            return no_update, day
        return timeline_figure(data, lang=lang, rev=new_rev(), height_px=380), day

    result: tuple[Any, Any] = await srv.in_thread(build, page=page)
    return result


# -- finding and opening one TPS --------------------------------------------------------------


@callbacks.server(
    Output(ids.CMD_SELECTED, "data"),
    Output(ids.CMD_SEARCH_MSG, "children"),
    Output(C.map, "figure", allow_duplicate=True),
    Input(ids.CMD_SEARCH_GO, "n_clicks"),
    Input(ids.CMD_SEARCH, "n_submit"),
    State(ids.CMD_SEARCH, "value"),
    State(C.page, "data"),
    prevent_initial_call=True,
)
async def search(
    srv: Serving, _clicks: Any, _submits: Any, query: str | None, page: Any
) -> tuple[Any, ...]:
    """Find a TPS by code, desa name or officer NRP; open it and fly the map there."""
    lang = lang_of((page or {}).get("lang"))
    if not query or not query.strip():
        raise PreventUpdate

    def find(rt: Runtime, area: str | None) -> tuple[list[str], Picture]:
        return search_tps(rt, query, area_code=area), read_picture(rt, area_code=area)

    codes, pic = await srv.in_thread(find, page=page)
    if not codes:
        return no_update, t("search_none", lang, q=query.strip()), no_update
    code = codes[0]
    view = next(v for v in pic.tps if v.code == code)
    msg = t("search_many", lang, n=len(codes), code=code) if len(codes) > 1 else code
    return code, msg, _focus_patch(code, view.lat, view.lon, fly=True)


@callbacks.server(
    Output(ids.CMD_SELECTED, "data", allow_duplicate=True),
    Output(C.map, "figure", allow_duplicate=True),
    Input(C.map, "clickData"),
    prevent_initial_call=True,
)
async def click_tps(_srv: Serving, click: dict[str, Any] | None) -> tuple[Any, ...]:
    """A click on a TPS marker opens it in the side panel."""
    points = (click or {}).get("points") or []
    if not points or points[0].get("curveNumber") != 0:
        raise PreventUpdate
    p = points[0]
    code = p.get("id")
    if not code:
        raise PreventUpdate
    return code, _focus_patch(code, p.get("lat"), p.get("lon"), fly=False)


def _focus_patch(code: str, lat: Any, lon: Any, *, fly: bool) -> Patch:
    """Highlight a TPS on the map and, when asked, centre the map on it."""
    p = Patch()
    p["data"][MAP_SELECTED]["lat"] = [lat]
    p["data"][MAP_SELECTED]["lon"] = [lon]
    if fly:
        p["layout"]["map"]["center"] = {"lat": lat, "lon": lon}
        p["layout"]["map"]["zoom"] = FOCUS_ZOOM
        # A new uirevision makes Plotly take the new view even after the user panned.
        p["layout"]["uirevision"] = f"focus:{code}"
        p["layout"]["meta"]["fit"] = False
    return p


# -- the side panels -----------------------------------------------------------------------


@callbacks.server(
    Output(ids.CMD_DETAIL, "children"),
    Input(ids.CMD_SELECTED, "data"),
    Input(ids.CMD_PANELS_TICK, "data"),
    Input(REPLAY_MOMENT, "data"),  # a replayed moment (dashboard/replay.py), None: live
    State(C.page, "data"),
)
async def detail(srv: Serving, code: str | None, _tick: Any, moment: Any, page: Any) -> Any:
    """The selected TPS with its whole timeline of events (as it stood at a replayed moment)."""
    lang = lang_of((page or {}).get("lang"))
    if not code:
        return t("detail_hint", lang)
    at = replayed_moment(moment)

    def build(rt: Runtime, area: str | None) -> Any:
        d = read_tps_detail(rt, code=code, area_code=area, at=at)
        if d is None:
            return t("search_none", lang, q=code)
        return tps_detail(d, now=at or rt.clock.now(), grace=grace_table(rt.settings), lang=lang)

    return await srv.in_thread(build, page=page)


@callbacks.server(
    Output(ids.CMD_SILENT, "children"),
    Input(ids.CMD_MINUTE, "data"),
    Input(C.page, "data"),
    Input(C.refresh, "data"),
    Input(REPLAY_MOMENT, "data"),
)
async def panels(srv: Serving, _minute: Any, page: Any, _refresh: Any, moment: Any) -> Any:
    """The officers gone silent, live or at a replayed moment (incidents and alerts: the script)."""
    lang = lang_of((page or {}).get("lang"))
    at = replayed_moment(moment)

    def build(rt: Runtime, area: str | None) -> Any:
        # Officers only: reading every TPS just for the clock cost a full picture a minute.
        now = at or rt.clock.now()
        return silent_list(
            silent_officers(read_officers(rt, area_code=area, at=at), now), lang=lang
        )

    return await srv.in_thread(build, page=page)


# -- hand-overs to the browser script (assets/live/90-startup.js) ------------------------------

hand_over(callbacks, C)
callbacks.browser("select", Output(C.sink, "className"), Input(ids.CMD_SELECTED, "data"))
