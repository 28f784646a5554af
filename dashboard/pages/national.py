"""/nasional: provinces, kabupaten or kecamatan as rollup rows, `?area=16` drills down."""

from typing import Any

import dash
from dash import Input, Output, State, callback_context, html, no_update

from backend.runtime import Runtime
from dashboard import ids
from dashboard.components import national as nat
from dashboard.components.national import national_layout
from dashboard.data import read_national
from dashboard.i18n import lang_of, t
from dashboard.serving import PageCallbacks, Serving

dash.register_page(__name__, path="/nasional", name="national", title=t("national_title", "id"))

callbacks = PageCallbacks()


def layout(lang: str | None = None, area: str | None = None, **_: object) -> html.Div:
    """The rollup page's skeleton for the area asked (checked against the credential later)."""
    return national_layout(lang_of(lang), area or None)


# Re-read the rollup every REFRESH_MS rather than follow /ws/live: the national channel
# carries every TPS delta of the country (at mid-day hundreds per second, per screen),
# exactly the per-TPS traffic this page exists to avoid, while the rollup read answers
# in milliseconds at any scale (bench/national.md) and an unchanged picture sends nothing.
@callbacks.server(
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
async def render_national(srv: Serving, page: dict[str, Any], _tick: Any, shown: str | None) -> Any:
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

    result: tuple[Any, ...] = await srv.in_thread(build, maps=False)
    return result


# The rollup comes by polling, so there is no socket to lose: the page counts as cut off
# when its "updated" time has not moved for three refreshes and a second, and says so.
callbacks.browser(
    "nationalFreshness",  # assets/national.js
    Output(ids.NAT_UPDATED, "className"),
    Input(ids.NAT_TICK, "n_intervals"),
    State(ids.NAT_UPDATED, "children"),
    State(ids.NAT_TICK, "interval"),
)
