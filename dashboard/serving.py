"""What every page's callbacks share: the way to the server, reads in a worker thread, config.

Callbacks are `async def`, with reads and figure building in a worker thread: on the FastAPI
backend a plain `def` callback runs on the event loop and would stall field intake while it
reads the database or builds a figure; here the loop only awaits.

Each page or component declares its callbacks beside itself in a `PageCallbacks`, and
`attach_dashboard` attaches them to each Dash app with that app's `Serving`: Dash 4.4's FastAPI
dispatch sets no app context (`dash.get_app()` answers the last app built, another node's when
tests run two in one process), and a module-level `dash.callback` outside `pages/` would reach
only the first app a process builds.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, callback_context
from dash.exceptions import PreventUpdate
from fastapi import FastAPI

from backend.areas import AreaError, narrow
from backend.deps import SESSION_COOKIE
from backend.runtime import Runtime
from dashboard import ids
from dashboard.data import Filters, Picture, map_boundaries, principal_of, too_many_to_map
from dashboard.figures import MapOptions
from dashboard.i18n import Lang, browser_words
from dashboard.theme import browser_theme
from schemas.registry import OfficerPublic

W = ids.WALL
C = ids.COMMANDER
Handler = Callable[..., Awaitable[Any]]


class Serving:
    """One Dash app's way to its server: the runtime, and reads with the caller's credential."""

    def __init__(self, server: FastAPI) -> None:
        self._server = server

    def runtime(self) -> Runtime:
        """The server's runtime (set by its lifespan, so read per call)."""
        rt: Runtime = self._server.state.runtime
        return rt

    async def in_thread(
        self,
        fn: Callable[..., Any],
        *args: Any,
        page: dict[str, Any] | None = None,
        maps: bool = True,
    ) -> Any:
        """Run a blocking read-and-build in a worker thread, with this request's credential.

        `fn` gets the credential's area, narrowed to the page's `?area=` when that lies inside
        it (outside: the credential's own). A screen that draws TPS (`maps`) on an area holding
        more than Settings.map_max_tps draws nothing: the page guard sends browsers to
        /nasional, and this stops a stale tab from reading 435k TPS every few seconds.
        """
        token = cookie()
        rt = self.runtime()
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


class PageCallbacks:
    """The callbacks of one page or component: declared at import, attached to an app later."""

    def __init__(self) -> None:
        self._server: list[tuple[Handler, tuple[Any, ...], dict[str, Any]]] = []
        self._browser: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def server(self, *deps: Any, **kwargs: Any) -> Callable[[Handler], Handler]:
        """Declare `async def f(srv, *values)` a server callback on Dash's Output/Input/State."""

        def declare(fn: Handler) -> Handler:
            self._server.append((fn, deps, kwargs))
            return fn

        return declare

    def browser(self, function: str, *deps: Any, **kwargs: Any) -> None:
        """Declare a clientside callback: the browser script's `posko.<function>`."""
        self._browser.append((function, deps, kwargs))

    def register(self, app: Dash, srv: Serving) -> None:
        """Attach every declared callback to `app`, the server ones bound to `srv`."""
        for fn, deps, kwargs in self._server:
            app.callback(*deps, **kwargs)(_bound(fn, srv))
        for function, deps, kwargs in self._browser:
            app.clientside_callback(ClientsideFunction("posko", function), *deps, **kwargs)


def _bound(fn: Handler, srv: Serving) -> Handler:
    async def call(*values: Any, **named: Any) -> Any:
        return await fn(srv, *values, **named)

    call.__name__, call.__qualname__, call.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return call


def cookie() -> str | None:
    """The session cookie of the request this callback answers."""
    value: str | None = callback_context.cookies.get(SESSION_COOKIE)
    return value


def new_rev() -> str:
    """A fresh uirevision-like stamp for a figure drawn anew."""
    return uuid.uuid4().hex[:10]


def map_options(rt: Runtime, lang: Lang, *, whole: bool, **kw: Any) -> MapOptions:
    """How to draw a map: boundaries, tiles and, for the whole area, its extent."""
    # Read per render (one small query, then cached by stamp): an import shows on the next
    # resync of every screen, on every node. Without boundaries the map has no lines.
    bounds = map_boundaries(rt)
    return MapOptions(
        lang=lang,
        rev=new_rev(),
        boundaries_url="/api/v1/geo" if bounds is not None else None,
        boundaries_version=bounds.version if bounds is not None else None,
        tile_url=rt.settings.map_tile_url,
        extent=bounds.extent if bounds is not None and whole else None,
        **kw,
    )


def officer_rows(officers: list[OfficerPublic]) -> list[list[Any]]:
    """Officers as the browser counts silences and names them: [NRP, last seen or None, name]."""
    return [
        [o.nrp, o.last_seen_at.isoformat() if o.last_seen_at else None, f"{o.rank} {o.name}"]
        for o in officers
    ]


def filters(kec: Any, desa: Any, phase: Any, situation: Any, risk: Any) -> Filters:
    """The commander's filter values as a `Filters` (a cleared dropdown: no filter)."""

    def tup(v: Any) -> tuple[str, ...]:
        return tuple(sorted(v)) if isinstance(v, list) else ()

    return Filters(tup(kec), tup(desa), tup(phase), tup(situation), tup(risk))


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


def hand_over(callbacks: PageCallbacks, view: ids.ViewIds) -> None:
    """The view's config and officers go to the browser script (assets/live/90-startup.js)."""
    # The first config starts the live client.
    callbacks.browser("configure", Output(view.sink, "children"), Input(view.config, "data"))
    callbacks.browser("officers", Output(view.sink, "title"), Input(view.officers, "data"))
