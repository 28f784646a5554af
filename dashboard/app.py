"""attach_dashboard: the Dash app on the API's own FastAPI server, behind a reading credential."""

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash
from dash import Dash, html
from dash.development.base_component import Component
from fastapi import FastAPI, HTTPException, status

from backend.config import Settings
from dashboard import custody, positions, replay
from dashboard.guard import DashboardGuard
from dashboard.lapor import router as lapor_router
from dashboard.plain import router as plain_router
from dashboard.serving import Serving

HERE = Path(__file__).resolve().parent


def _with_ids(component: Any) -> Iterator[Component]:
    """Every component with an id in a layout, as an empty copy of its type."""
    if isinstance(component, (list, tuple)):
        for c in component:
            yield from _with_ids(c)
        return
    if not isinstance(component, Component):
        return
    cid = getattr(component, "id", None)
    # Dict ids are the counters, which only the browser script writes; Dash brings its own.
    if isinstance(cid, str) and not cid.startswith("_pages"):
        # Components with required props (links) are never a callback's input or output.
        with contextlib.suppress(TypeError):
            yield type(component)(id=cid)
    yield from _with_ids(getattr(component, "children", None))


def _light_validation_layout() -> Component:
    """The pages' components that carry ids, without children or furniture, plus Dash's own."""
    pages = [page["layout"]() for page in dash.page_registry.values() if callable(page["layout"])]
    return html.Div([dash.page_container, *_with_ids(pages)])


def _page_paths() -> set[str]:
    return {page["path"] for page in dash.page_registry.values()}


def _register_callbacks(dash_app: Dash, srv: Serving) -> None:
    """Attach the callbacks that each page and component declares (dashboard/serving.py)."""
    for page in dash.page_registry.values():
        # Dash has just run each page's module afresh for this app, under its own name (e.g.
        # `pages.wall`); importing dashboard.pages.wall instead would register a second page.
        sys.modules[page["module"]].callbacks.register(dash_app, srv)
    positions.callbacks.register(dash_app, srv)
    custody.callbacks.register(dash_app, srv)
    replay.callbacks.register(dash_app, srv)


def attach_dashboard(app: FastAPI, settings: Settings) -> Dash:
    """Serve `/` (commander) and `/wall` (wall display) from `app`; call after the API routes."""
    # Before Dash: its catch-all route would otherwise answer /admin with a Dash index page.
    app.include_router(plain_router)
    app.include_router(lapor_router)  # the officer's phone app, /lapor/
    dash_app = Dash(
        __name__,
        server=app,  # type: ignore[arg-type]  # Dash 4.4 types only name Flask's server
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        # Dash loads every other .js there on every page, in file-name order (assets/live/NN-*.js:
        # the live client's modules, in the order their numbers give). assets/plain/ holds the
        # scripts of the pages outside Dash (plain.py inlines them).
        assets_path_ignore=["^plain$"],
        title="Posko",
        update_title="",  # the wall's tab title must not flicker with every callback
        serve_locally=True,  # no CDN: the command post may have no internet
        compress=False,  # create_app compresses the whole app once
    )
    # Dash on FastAPI opens its own callback websocket from every page even when no callback
    # uses it; the screens push with /ws/live, so that would be a second idle socket per screen.
    dash_app.backend.websocket_capability = False
    _register_callbacks(dash_app, Serving(app))
    # Dash 4.4 on FastAPI runs its first-request setup (validation layout, page router,
    # inline clientside scripts) only for requests to "/" and "/_dash-*"; a first visit to
    # /wall would get an index page without them and a broken screen. Run it now instead.
    for setup in getattr(dash_app.backend, "_before_request_funcs", ()):
        setup()
    # Dash embeds the validation layout in every index page; it only needs what callbacks name.
    dash_app.validation_layout = _light_validation_layout()  # type: ignore[assignment]
    app.add_middleware(DashboardGuard, page_paths=_page_paths)

    # Dash adds a catch-all GET route that answers any unknown path with its index page; an
    # unknown API path must stay a JSON 404 for the programs that call it.
    @app.get("/api/{rest:path}", include_in_schema=False)
    def unknown_api(rest: str) -> None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail={"field": "path", "reason": f"no route /api/{rest}"}
        )

    app.state.dash = dash_app
    return dash_app
