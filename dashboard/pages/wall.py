"""/wall: the command room's wall display (kiosk), `?lang=en` for English."""

import dash
from dash import html

from dashboard.components.views import wall_layout
from dashboard.i18n import lang_of, t

dash.register_page(__name__, path="/wall", name="wall", title=t("wall_title", "id"))


def layout(lang: str | None = None, area: str | None = None, **_: object) -> html.Div:
    """The wall's skeleton in the asked language, narrowed to `?area=` if given."""
    return wall_layout(lang_of(lang), area or None)
