"""/: the commander's view with filters and drill-down, `?lang=en` for English."""

import dash
from dash import html

from dashboard.components.views import commander_layout
from dashboard.i18n import lang_of, t

dash.register_page(__name__, path="/", name="commander", title=t("commander_title", "id"))


def layout(lang: str | None = None, area: str | None = None, **_: object) -> html.Div:
    """The commander's skeleton in the asked language, narrowed to `?area=` if given."""
    return commander_layout(lang_of(lang), area or None)
