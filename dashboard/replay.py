"""The commander's time control: a moment of the day, play 1x-600x, back to live.

Only the skeleton is drawn here; `assets/live/85-replay.js` does the work in the browser (reads
`/api/v1/replay/*`, puts the connection in its `replay` state so no live delta touches the past
picture, and reconnects on the way back). The script reads the inputs itself: no callback.
"""

from dash import dcc, html

from dashboard.i18n import Lang, t

REPLAY = "cmd-replay"
REPLAY_SLIDER = "cmd-replay-slider"  # minutes of the WIB day, 0-1439
REPLAY_TIME = "cmd-replay-time"  # HH:MM or HH:MM:SS, WIB
REPLAY_SEEK = "cmd-replay-seek"
REPLAY_PLAY = "cmd-replay-play"
REPLAY_PAUSE = "cmd-replay-pause"
REPLAY_RATE = "cmd-replay-rate"
REPLAY_LIVE = "cmd-replay-live"
REPLAY_AT = "cmd-replay-at"  # what is shown: "LANGSUNG" or the moment
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
                "⏸",
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
        ],
    )
