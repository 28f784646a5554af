"""The commander's time control: a moment of the day, play 1x-600x, back to live.

The skeleton is drawn here; `assets/live/85-replay.js` does the work in the browser (reads
`/api/v1/replay/*`, puts the connection in its `replay` state so no live delta touches the past
picture, and reconnects on the way back) and reads the inputs itself. The one callback here
redraws the server-drawn timeline and day charts up to the replayed moment, which the script
hands over in `REPLAY_MOMENT` (at most every 2 s while playing; None back in live, when the
reconnect's refresh redraws them as they are).
"""

import contextlib
from datetime import UTC, datetime
from typing import Any

from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from backend.runtime import Runtime
from dashboard import ids
from dashboard.data import read_timeline
from dashboard.figures import day_figure, timeline_figure
from dashboard.i18n import Lang, lang_of, t
from dashboard.serving import PageCallbacks, Serving

C = ids.COMMANDER

REPLAY = "cmd-replay"
REPLAY_SLIDER = "cmd-replay-slider"  # minutes of the WIB day, 0-1439
REPLAY_TIME = "cmd-replay-time"  # HH:MM or HH:MM:SS, WIB
REPLAY_SEEK = "cmd-replay-seek"
REPLAY_PLAY = "cmd-replay-play"
REPLAY_PAUSE = "cmd-replay-pause"
REPLAY_RATE = "cmd-replay-rate"
REPLAY_LIVE = "cmd-replay-live"
REPLAY_AT = "cmd-replay-at"  # what is shown: "LANGSUNG" or the moment
REPLAY_MOMENT = "cmd-replay-moment"  # the replayed moment (ISO) for the server-drawn charts
RATES = (1, 10, 60, 600)  # seconds of the day per second of play (85-replay.js: RATES)


def replay_control(lang: Lang) -> html.Div:
    """The time control above the commander's picture."""
    return html.Div(
        id=REPLAY,
        className="replay",
        children=[
            html.Span(t("replay_title", lang), className="replay-title"),
            html.Label(
                title=t("replay_slider", lang),
                className="replay-slider",
                children=dcc.Input(id=REPLAY_SLIDER, type="range", min=0, max=1439, step=1),
            ),
            html.Label(
                title=t("replay_time", lang),
                className="replay-time",
                children=dcc.Input(
                    id=REPLAY_TIME,
                    type="text",
                    placeholder="07:30",
                    pattern=r"\d{1,2}:\d{2}(:\d{2})?",
                ),
            ),
            html.Button(t("replay_seek", lang), id=REPLAY_SEEK, className="button"),
            html.Button(
                "▶", id=REPLAY_PLAY, title=t("replay_play", lang), className="button replay-play"
            ),
            html.Button(
                "❚❚",
                id=REPLAY_PAUSE,
                title=t("replay_pause", lang),
                className="button replay-pause",
            ),
            html.Select(
                id=REPLAY_RATE,
                className="replay-rate",
                title=t("replay_rate", lang),
                children=[html.Option(f"{r}x", value=str(r)) for r in RATES],
            ),
            html.Span(t("live", lang), id=REPLAY_AT, className="replay-at"),
            html.Button(t("replay_live", lang), id=REPLAY_LIVE, className="button replay-live"),
            dcc.Store(id=REPLAY_MOMENT, data=None),
        ],
    )


def replayed_moment(moment: str | None) -> datetime | None:
    """The moment the browser replays (REPLAY_MOMENT's data), or None when live or unreadable."""
    if not moment:
        return None
    with contextlib.suppress(ValueError, OverflowError):
        return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(UTC)
    return None


callbacks = PageCallbacks()


@callbacks.server(
    Output(C.timeline, "figure", allow_duplicate=True),
    Output(ids.CMD_DAY, "figure", allow_duplicate=True),
    Input(REPLAY_MOMENT, "data"),
    State(C.page, "data"),
    prevent_initial_call=True,
)
async def replay_charts(
    srv: Serving, moment: str | None, page: dict[str, Any] | None
) -> tuple[Any, Any]:
    """Draw the charts up to `moment` (every TPS: the filters are the live view's)."""
    at = replayed_moment(moment)
    if at is None:
        raise PreventUpdate  # back to live: the reconnect's refresh draws the present
    lang = lang_of((page or {}).get("lang"))

    def build(rt: Runtime, area: str | None) -> tuple[Any, Any]:
        data = read_timeline(rt, area_code=area, now=at)
        rev = f"replay-{at.timestamp():.0f}"
        return (
            timeline_figure(data, lang=lang, rev=rev, height_px=380),
            day_figure(data, lang=lang, rev=rev),
        )

    result: tuple[Any, Any] = await srv.in_thread(build, page=page)
    return result
