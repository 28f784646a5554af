"""Colours, sizes and the offline map style: one source for the figures and the browser script."""

from typing import Any

from schemas.enums import PHASE_ORDER, Phase, Situation

NOT_REPORTED = "belum"  # no phase reported yet (same bucket name as backend.tps.service)
STALE = "stale"  # not seen within its grace: a state of its own, whatever it last reported

# Phases in the order a TPS goes through them, with the "no report yet" bucket first and the
# postponed state last: the index is the heatmap value of the timeline.
PHASE_KEYS: tuple[str, ...] = (
    NOT_REPORTED,
    *(p.value for p in PHASE_ORDER),
    Phase.DITUNDA.value,
)
PHASE_INDEX: dict[str, int] = {k: i for i, k in enumerate(PHASE_KEYS)}

# Dark room, bright marks: every colour reads against BG at 5 m and differs for the common
# kinds of colour blindness by lightness as well as hue.
BG = "#0b1220"
PANEL = "#111a2e"
LAND = "#0f1a2c"
TEXT = "#e6edf7"
MUTED = "#8a9bb8"
GRID = "#24324d"
KECAMATAN_LINE = "#7f93b8"
DESA_LINE = "#33425f"

PHASE_COLOURS: dict[str, str] = {
    NOT_REPORTED: "#3a4660",
    "logistik_tiba": "#6d5ce8",
    "persiapan": "#3b82f6",
    "pemungutan": "#14b8a6",
    "penghitungan": "#84cc16",
    "selesai_hitung": "#facc15",
    "kotak_dikawal": "#fb923c",
    "diterima_ppk": "#f1f5f9",
    "ditunda": "#f43f5e",
}

SITUATION_COLOURS: dict[str, str] = {
    NOT_REPORTED: "#3a4660",
    Situation.AMAN.value: "#22c55e",
    Situation.WASPADA.value: "#f59e0b",
    Situation.GANGGUAN.value: "#ef4444",
    STALE: "#e040fb",  # fuchsia: nothing else on the screen uses it
}

# Marker sizes in CSS px at 1920x1080; the browser scales them for larger screens.
SITUATION_SIZES: dict[str, float] = {
    NOT_REPORTED: 5.0,
    Situation.AMAN.value: 7.0,
    Situation.WASPADA.value: 11.0,
    Situation.GANGGUAN.value: 14.0,
    STALE: 12.0,
}
PHASE_SIZE = 7.0

# Incidents: a translucent ring sized by severity around a solid core.
SEVERITY_COLOURS: dict[int, str] = {  # 1 minor ... 4 critical (schemas.events.IncidentIn)
    1: "#fde047",
    2: "#fbbf24",
    3: "#fb923c",
    4: "#ef4444",
}
RING_OPACITY = 0.45
RING_BASE, RING_PER_SEVERITY = 18.0, 8.0
CORE_BASE, CORE_PER_SEVERITY = 7.0, 1.5


def ring_size(severity: int) -> float:
    """Diameter of an incident's ring, growing with severity."""
    return RING_BASE + RING_PER_SEVERITY * severity


def core_size(severity: int) -> float:
    """Diameter of an incident's core."""
    return CORE_BASE + CORE_PER_SEVERITY * severity


# The built-in "white-bg" style is the one that needs nothing from the internet (no tiles,
# glyphs or sprites). The browser script paints its background layer dark. A custom style
# object would say it here, but Plotly re-applies object styles on updates (it compares them as
# JSON after MapLibre has touched them), which throws "Map error." and rebuilds the map.
MAP_STYLE = "white-bg"
MAP_BACKGROUND_LAYER = "white-bg"


def browser_theme() -> dict[str, Any]:
    """The colours and sizes the browser script needs to colour markers exactly like Python."""
    return {
        "phase_keys": list(PHASE_KEYS),
        "phase_colours": PHASE_COLOURS,
        "situation_colours": SITUATION_COLOURS,
        "situation_sizes": SITUATION_SIZES,
        "phase_size": PHASE_SIZE,
        "severity_colours": {str(k): v for k, v in SEVERITY_COLOURS.items()},
        "ring": {"base": RING_BASE, "per_severity": RING_PER_SEVERITY, "opacity": RING_OPACITY},
        "core": {"base": CORE_BASE, "per_severity": CORE_PER_SEVERITY},
        "land": LAND,
        "background_layer": MAP_BACKGROUND_LAYER,
    }
