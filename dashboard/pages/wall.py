"""/wall: the command room's wall display (kiosk), `?lang=en` for English."""

from typing import Any

import dash
from dash import Input, Output, html

from backend.runtime import Runtime
from dashboard import ids
from dashboard.components.views import wall_layout
from dashboard.data import read_officers, read_picture, read_timeline
from dashboard.figures import map_figure, progress_figure, timeline_figure
from dashboard.i18n import lang_of, t
from dashboard.serving import (
    PageCallbacks,
    Serving,
    browser_config,
    hand_over,
    map_options,
    new_rev,
    officer_rows,
)

dash.register_page(__name__, path="/wall", name="wall", title=t("wall_title", "id"))

W = ids.WALL
callbacks = PageCallbacks()


def layout(lang: str | None = None, area: str | None = None, **_: object) -> html.Div:
    """The wall's skeleton in the asked language, narrowed to `?area=` if given."""
    return wall_layout(lang_of(lang), area or None)


@callbacks.server(
    Output(W.map, "figure"),
    Output(W.timeline, "figure"),
    Output(W.progress, "figure"),
    Output(W.config, "data"),
    Output(W.officers, "data"),
    Input(W.page, "data"),
    Input(W.refresh, "data"),
)
async def render_wall(srv: Serving, page: dict[str, Any], _refresh: int) -> tuple[Any, ...]:
    """Draw the wall's figures from the database (first load and after each resync)."""
    lang = lang_of((page or {}).get("lang"))

    def build(rt: Runtime, area: str | None) -> tuple[Any, ...]:
        pic = read_picture(rt, area_code=area)
        tl = read_timeline(rt, area_code=area)
        rev = new_rev()
        opts = map_options(rt, lang, whole=True, uirevision="wall", interactive=False)
        return (
            map_figure(pic.tps, pic.incidents, now=pic.now, grace=pic.grace, opts=opts),
            timeline_figure(tl, lang=lang, rev=rev),
            progress_figure(pic.tps, lang=lang, rev=rev),
            browser_config(W, lang, pic, rt, area),
            officer_rows(read_officers(rt, area_code=area)),
        )

    result: tuple[Any, ...] = await srv.in_thread(build, page=page)
    return result


hand_over(callbacks, W)
