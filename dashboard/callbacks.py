"""Server callbacks of both views: `async def`, with reads and figure building in a worker thread.

On the FastAPI backend a plain `def` callback runs on the event loop and would stall field
intake while it reads the database or builds a figure; here the loop only awaits.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from dash import (
    ClientsideFunction,
    Dash,
    Input,
    Output,
    Patch,
    State,
    callback_context,
    no_update,
)
from dash.exceptions import PreventUpdate
from fastapi import FastAPI

from backend.areas import AreaError, narrow
from backend.config import Settings
from backend.deps import SESSION_COOKIE
from backend.runtime import Runtime
from dashboard import ids
from dashboard.components import national as nat
from dashboard.components.detail import silent_list, tps_detail
from dashboard.data import (
    Filters,
    Picture,
    map_boundaries,
    principal_of,
    read_national,
    read_officers,
    read_picture,
    read_timeline,
    read_tps_detail,
    search_tps,
    silent_officers,
    too_many_to_map,
)
from dashboard.figures import (
    MAP_SELECTED,
    MapOptions,
    TimelineInput,
    day_figure,
    map_figure,
    progress_figure,
    timeline_figure,
)
from dashboard.i18n import Lang, browser_words, lang_of, t
from dashboard.theme import browser_theme
from schemas.registry import OfficerPublic

W = ids.WALL
C = ids.COMMANDER
FOCUS_ZOOM = 12.0


def _rev() -> str:
    return uuid.uuid4().hex[:10]


def _officer_rows(officers: list[OfficerPublic]) -> list[list[Any]]:
    """Officers as the browser counts silences and names them: [NRP, last seen or None, name]."""
    return [
        [o.nrp, o.last_seen_at.isoformat() if o.last_seen_at else None, f"{o.rank} {o.name}"]
        for o in officers
    ]


def browser_config(
    view: ids.ViewIds, lang: Lang, pic: Picture, rt: Runtime, area: str | None = None
) -> dict[str, Any]:
    """What the browser script needs to draw exactly what Python draws, and where to draw it."""
    # The screen's area goes to every read and the socket: the server narrows it again inside
    # the credential's own area, so a URL edited by hand cannot widen what the screen sees.
    q = f"area={area}" if area else ""
    return {
        "view": view.view,
        "lang": lang,
        "ids": view.for_browser(),
        "counter_type": ids.COUNTER,
        "panels_tick": ids.CMD_PANELS_TICK if view is C else None,
        # The commander's incident list and actions; the wall only watches.
        "incidents": ids.CMD_INCIDENTS if view is C else None,
        "admin_link": ids.CMD_ADMIN_LINK if view is C else None,
        "minute_tick": ids.CMD_MINUTE if view is C else None,
        "theme": browser_theme(),
        "i18n": browser_words(lang),
        "grace": pic.grace,
        "clock_speed": pic.clock_speed,
        "exercise": pic.exercise,
        "silent_after_s": 1800,
        "log_show": 12 if view is W else 40,
        # The wall has no scrollbars (it fits what its panel holds); the commander's list is
        # kept short enough to redraw quickly. The rest is counted as "+n more".
        "alerts_show": 5 if view is W else 40,
        "urls": {
            "live": "/ws/live" + (f"?{q}" if q else ""),
            "snapshot": "/api/v1/snapshot" + (f"?{q}" if q else ""),
            "log": "/api/v1/log?limit=60" + (f"&{q}" if q else ""),
            "officers": "/api/v1/officers" + (f"?{q}" if q else ""),
            "me": "/api/v1/auth/me",
            "login": f"/login?lang={lang}",  # where a screen whose access ended goes
            "platform": "/api/v1/platform",
            # Resolved incidents wait for closing; the snapshot carries only open ones.
            "incidents": (
                "/api/v1/incidents?limit=300" + (f"&{q}" if q else "") if view is C else None
            ),
            "incident": "/api/v1/incidents/",
            "alert": "/api/v1/alerts/",
            "tps": "/api/v1/tps/",
        },
    }


def _filters(kec: Any, desa: Any, phase: Any, situation: Any, risk: Any) -> Filters:
    def tup(v: Any) -> tuple[str, ...]:
        return tuple(sorted(v)) if isinstance(v, list) else ()

    return Filters(tup(kec), tup(desa), tup(phase), tup(situation), tup(risk))


def register_callbacks(dash_app: Dash, server: FastAPI, settings: Settings) -> None:
    """Attach every callback of both views to the Dash app."""

    def _map_options(rt: Runtime, lang: Lang, *, whole: bool, **kw: Any) -> MapOptions:
        # Read per render (one small query, then cached by stamp): an import shows on the next
        # resync of every screen, on every node. Without boundaries the map has no lines.
        bounds = map_boundaries(rt)
        return MapOptions(
            lang=lang,
            rev=_rev(),
            boundaries_url="/api/v1/geo" if bounds is not None else None,
            boundaries_version=bounds.version if bounds is not None else None,
            tile_url=settings.map_tile_url,
            extent=bounds.extent if bounds is not None and whole else None,
            **kw,
        )

    def runtime() -> Runtime:
        rt: Runtime = server.state.runtime
        return rt

    def cookie() -> str | None:
        value: str | None = callback_context.cookies.get(SESSION_COOKIE)
        return value

    async def in_thread(
        fn: Callable[..., Any], *args: Any, page: dict[str, Any] | None = None, maps: bool = True
    ) -> Any:
        """Run a blocking read-and-build in a worker thread, with this request's credential.

        `fn` gets the credential's area, narrowed to the page's `?area=` when that lies inside
        it (outside: the credential's own). A screen that draws TPS (`maps`) on an area holding
        more than Settings.map_max_tps draws nothing: the page guard sends browsers to
        /nasional, and this stops a stale tab from reading 435k TPS every few seconds.
        """
        token = cookie()
        rt = runtime()
        wanted = (page or {}).get("area")

        def job() -> Any:
            principal = principal_of(rt, token)
            if principal is None:
                raise PreventUpdate  # the guard let it in; the credential expired since
            area = principal.area_code
            if wanted:
                with contextlib.suppress(AreaError):
                    area = narrow(area, wanted)
            if maps and too_many_to_map(rt, area):
                raise PreventUpdate
            return fn(rt, area, *args)

        return await asyncio.to_thread(job)

    # -- the wall ------------------------------------------------------------------------

    @dash_app.callback(
        Output(W.map, "figure"),
        Output(W.timeline, "figure"),
        Output(W.progress, "figure"),
        Output(W.config, "data"),
        Output(W.officers, "data"),
        Input(W.page, "data"),
        Input(W.refresh, "data"),
    )
    async def render_wall(page: dict[str, Any], _refresh: int) -> tuple[Any, ...]:
        """Draw the wall's figures from the database (first load and after each resync)."""
        lang = lang_of((page or {}).get("lang"))

        def build(rt: Runtime, area: str | None) -> tuple[Any, ...]:
            pic = read_picture(rt, area_code=area)
            tl = read_timeline(rt, area_code=area)
            rev = _rev()
            opts = _map_options(rt, lang, whole=True, uirevision="wall", interactive=False)
            return (
                map_figure(pic.tps, pic.incidents, now=pic.now, grace=pic.grace, opts=opts),
                timeline_figure(tl, lang=lang, rev=rev),
                progress_figure(pic.tps, lang=lang, rev=rev),
                browser_config(W, lang, pic, rt, area),
                _officer_rows(read_officers(rt, area_code=area)),
            )

        result: tuple[Any, ...] = await in_thread(build, page=page)
        return result

    # -- the commander's view ---------------------------------------------------------------

    @dash_app.callback(
        Output(C.config, "data"),
        Output(C.officers, "data"),
        Output(C.progress, "figure"),
        Output(ids.CMD_KECAMATAN, "options"),
        Input(C.page, "data"),
        Input(C.refresh, "data"),
    )
    async def render_commander(page: dict[str, Any], _refresh: int) -> tuple[Any, ...]:
        """Configuration, officers, progress and the kecamatan choices."""
        lang = lang_of((page or {}).get("lang"))

        def build(rt: Runtime, area: str | None) -> tuple[Any, ...]:
            pic = read_picture(rt, area_code=area)
            kecs = sorted({(v.kecamatan_code, v.kecamatan) for v in pic.tps})
            return (
                browser_config(C, lang, pic, rt, area),
                _officer_rows(read_officers(rt, area_code=area)),
                progress_figure(pic.tps, lang=lang, rev=_rev()),
                [{"label": f"{name} ({code})", "value": code} for code, name in kecs],
            )

        result: tuple[Any, ...] = await in_thread(build, page=page)
        return result

    @dash_app.callback(
        Output(ids.CMD_DESA, "options"),
        Input(ids.CMD_KECAMATAN, "value"),
        Input(C.page, "data"),
    )
    async def desa_choices(kec: list[str] | None, page: Any) -> list[dict[str, str]]:
        """Desa of the chosen kecamatan (all when none is chosen)."""

        def build(rt: Runtime, area: str | None) -> list[dict[str, str]]:
            pic = read_picture(rt, area_code=area)
            desa = sorted(
                {(v.desa_code, v.desa) for v in pic.tps if not kec or v.kecamatan_code in kec}
            )
            return [{"label": f"{name} ({code})", "value": code} for code, name in desa]

        result: list[dict[str, str]] = await in_thread(build, page=page)
        return result

    filters_in = [
        Input(ids.CMD_KECAMATAN, "value"),
        Input(ids.CMD_DESA, "value"),
        Input(ids.CMD_PHASE, "value"),
        Input(ids.CMD_SITUATION, "value"),
        Input(ids.CMD_RISK, "value"),
    ]

    @dash_app.callback(
        Output(C.map, "figure"),
        Output(ids.CMD_MATCHES, "children"),
        Input(C.page, "data"),
        Input(C.refresh, "data"),
        *filters_in,
        Input(ids.CMD_COLOUR, "value"),
        State(ids.CMD_SELECTED, "data"),
    )
    async def render_commander_map(
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
        f = _filters(kec, desa, phase, situation, risk)
        mode = "phase" if colour == "phase" else "situation"

        def build(rt: Runtime, area: str | None) -> tuple[Any, ...]:
            pic = read_picture(rt, area_code=area)
            shown = [v for v in pic.tps if f.keep(v)]
            opts = _map_options(
                rt,
                lang,
                whole=not f.key.strip("|"),
                mode=mode,
                uirevision=f.key or "all",
                selected=selected,
            )
            fig = map_figure(shown, pic.incidents, now=pic.now, grace=pic.grace, opts=opts)
            return fig, t("matches", lang, n=len(shown), total=len(pic.tps))

        result: tuple[Any, ...] = await in_thread(build, page=page)
        return result

    def _timeline_of(rt: Runtime, area: str | None, f: Filters) -> TimelineInput:
        codes = None
        if f.key.strip("|"):
            codes = {v.code for v in read_picture(rt, area_code=area).tps if f.keep(v)}
        return read_timeline(rt, area_code=area, codes=codes)

    @dash_app.callback(
        Output(C.timeline, "figure"),
        Output(ids.CMD_DAY, "figure"),
        Input(C.page, "data"),
        Input(C.refresh, "data"),
        Input(ids.CMD_MINUTE, "data"),
        *filters_in,
    )
    async def render_commander_timeline(
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
        f = _filters(kec, desa, phase, situation, risk)
        minute_only = callback_context.triggered_id == ids.CMD_MINUTE

        def build(rt: Runtime, area: str | None) -> tuple[Any, Any]:
            data = _timeline_of(rt, area, f)
            day = day_figure(data, lang=lang, rev=_rev())
            if minute_only:
                return no_update, day
            return timeline_figure(data, lang=lang, rev=_rev(), height_px=380), day

        result: tuple[Any, Any] = await in_thread(build, page=page)
        return result

    @dash_app.callback(
        Output(ids.CMD_SELECTED, "data"),
        Output(ids.CMD_SEARCH_MSG, "children"),
        Output(C.map, "figure", allow_duplicate=True),
        Input(ids.CMD_SEARCH_GO, "n_clicks"),
        Input(ids.CMD_SEARCH, "n_submit"),
        State(ids.CMD_SEARCH, "value"),
        State(C.page, "data"),
        prevent_initial_call=True,
    )
    async def search(_clicks: Any, _submits: Any, query: str | None, page: Any) -> tuple[Any, ...]:
        """Find a TPS by code, desa name or officer NRP; open it and fly the map there."""
        lang = lang_of((page or {}).get("lang"))
        if not query or not query.strip():
            raise PreventUpdate

        def find(rt: Runtime, area: str | None) -> tuple[list[str], Picture]:
            return search_tps(rt, query, area_code=area), read_picture(rt, area_code=area)

        codes, pic = await in_thread(find, page=page)
        if not codes:
            return no_update, t("search_none", lang, q=query.strip()), no_update
        code = codes[0]
        view = next(v for v in pic.tps if v.code == code)
        msg = t("search_many", lang, n=len(codes), code=code) if len(codes) > 1 else code
        return code, msg, _focus_patch(code, view.lat, view.lon, fly=True)

    @dash_app.callback(
        Output(ids.CMD_SELECTED, "data", allow_duplicate=True),
        Output(C.map, "figure", allow_duplicate=True),
        Input(C.map, "clickData"),
        prevent_initial_call=True,
    )
    async def click_tps(click: dict[str, Any] | None) -> tuple[Any, ...]:
        """A click on a TPS marker opens it in the side panel."""
        points = (click or {}).get("points") or []
        if not points or points[0].get("curveNumber") != 0:
            raise PreventUpdate
        p = points[0]
        code = p.get("id")
        if not code:
            raise PreventUpdate
        return code, _focus_patch(code, p.get("lat"), p.get("lon"), fly=False)

    @dash_app.callback(
        Output(ids.CMD_DETAIL, "children"),
        Input(ids.CMD_SELECTED, "data"),
        Input(ids.CMD_PANELS_TICK, "data"),
        State(C.page, "data"),
    )
    async def detail(code: str | None, _tick: Any, page: Any) -> Any:
        """The selected TPS with its whole timeline of events."""
        lang = lang_of((page or {}).get("lang"))
        if not code:
            return t("detail_hint", lang)

        def build(rt: Runtime, area: str | None) -> Any:
            d = read_tps_detail(rt, code=code, area_code=area)
            if d is None:
                return t("search_none", lang, q=code)
            pic = read_picture(rt, area_code=area)
            return tps_detail(d, now=pic.now, grace=pic.grace, lang=lang)

        return await in_thread(build, page=page)

    @dash_app.callback(
        Output(ids.CMD_SILENT, "children"),
        Input(ids.CMD_MINUTE, "data"),
        Input(C.page, "data"),
        Input(C.refresh, "data"),
    )
    async def panels(_minute: Any, page: Any, _refresh: Any) -> Any:
        """The officers gone silent (incidents and alerts are drawn by the browser script)."""
        lang = lang_of((page or {}).get("lang"))

        def build(rt: Runtime, area: str | None) -> Any:
            # Officers only: reading every TPS just for the clock cost a full picture a minute.
            return silent_list(
                silent_officers(read_officers(rt, area_code=area), rt.clock.now()), lang=lang
            )

        return await in_thread(build, page=page)

    # -- the national rollup page ------------------------------------------------------------

    # Re-read the rollup every REFRESH_MS rather than follow /ws/live: the national channel
    # carries every TPS delta of the country (at mid-day hundreds per second, per screen),
    # exactly the per-TPS traffic this page exists to avoid, while the rollup read answers
    # in milliseconds at any scale (bench/national.md) and an unchanged picture sends nothing.
    @dash_app.callback(
        Output(ids.NAT_CRUMBS, "children"),
        Output(ids.NAT_NOTICE, "children"),
        Output(ids.NAT_TOTALS, "children"),
        Output(ids.NAT_TABLE, "children"),
        Output(ids.NAT_DIGEST, "data"),
        Output(ids.NAT_UPDATED, "children"),
        Input(ids.NAT_PAGE, "data"),
        Input(ids.NAT_TICK, "n_intervals"),
        State(ids.NAT_DIGEST, "data"),
    )
    async def render_national(page: dict[str, Any], _tick: Any, shown: str | None) -> Any:
        """Rows one level below the asked area, problems first; unchanged numbers: not resent."""
        lang = lang_of((page or {}).get("lang"))
        wanted = (page or {}).get("area") or None
        fresh = callback_context.triggered_id != ids.NAT_TICK

        def build(rt: Runtime, scope: str | None) -> tuple[Any, ...]:
            pic = read_national(rt, scope=scope, wanted=wanted)
            digest = f"{lang}:{pic.digest()}"
            if digest == shown and not fresh:
                skip = (no_update,) * 5
                return (*skip, nat.updated(pic, lang))
            return (
                nat.crumbs(pic, lang),
                nat.notice(pic, lang),
                nat.totals(pic, lang),
                nat.area_table(pic, lang),
                digest,
                nat.updated(pic, lang),
            )

        result: tuple[Any, ...] = await in_thread(build, maps=False)
        return result

    # The rollup comes by polling, so there is no socket to lose: the page counts as cut off
    # when its "updated" time has not moved for three refreshes and a second, and says so.
    dash_app.clientside_callback(
        ClientsideFunction("posko", "nationalFreshness"),  # assets/national.js
        Output(ids.NAT_UPDATED, "className"),
        Input(ids.NAT_TICK, "n_intervals"),
        State(ids.NAT_UPDATED, "children"),
        State(ids.NAT_TICK, "interval"),
    )

    # -- hand-overs to the browser script -------------------------------------------------------

    # assets/live/90-startup.js registers these; the first config starts the live client.
    for view in (W, C):
        dash_app.clientside_callback(
            ClientsideFunction("posko", "configure"),
            Output(view.sink, "children"),
            Input(view.config, "data"),
        )
        dash_app.clientside_callback(
            ClientsideFunction("posko", "officers"),
            Output(view.sink, "title"),
            Input(view.officers, "data"),
        )
    dash_app.clientside_callback(
        ClientsideFunction("posko", "select"),
        Output(C.sink, "className"),
        Input(ids.CMD_SELECTED, "data"),
    )


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
