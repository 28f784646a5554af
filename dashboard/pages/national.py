"""/nasional: provinces, kabupaten or kecamatan as rollup rows, `?area=16` drills down."""

import dash
from dash import html

from dashboard.components.national import national_layout
from dashboard.i18n import lang_of, t

dash.register_page(__name__, path="/nasional", name="national", title=t("national_title", "id"))


def layout(lang: str | None = None, area: str | None = None, **_: object) -> html.Div:
    """The rollup page's skeleton for the area asked (checked against the credential later)."""
    return national_layout(lang_of(lang), area or None)
