"""Pure functions from state to Plotly figure dicts: the map, the timeline barcode, progress.

Plain dicts, not `go.Figure`: validating a 1,000-marker figure object costs ~80 ms per build,
and the browser patches these dicts by path (`data[0].marker.color[j]`), so their shape is the
contract with the live client (`assets/live/60-figures.js`). Trace order is fixed and documented
per figure.
"""

import html
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from dashboard import theme
from dashboard.i18n import (
    WIB,
    Lang,
    ago_text,
    category_name,
    clock_text,
    phase_name,
    risk_name,
    situation_name,
    status_name,
    t,
)
from schemas.live import IncidentPublic, TimelineRow, TpsState, TpsView

ColourMode = Literal["situation", "phase"]
GraceTable = Mapping[str, Mapping[str, float | None]]

# Map traces, in this order (the browser script patches them by index).
MAP_TPS, MAP_RING, MAP_CORE, MAP_SELECTED = 0, 1, 2, 3
# Officers' latest fixes and one officer's trail: after the TPS traces, so the live client's
# patches by index never move; drawn empty and patched by dashboard/positions.py.
MAP_OFFICERS, MAP_TRAIL = 4, 5
# Ballot boxes on the road to their PPK: patched by dashboard/custody.py.
MAP_BOXES = 6
# Timeline traces: the phase barcode, then the problem marks.
TL_PHASE, TL_WASPADA, TL_GANGGUAN, TL_STALE = 0, 1, 2, 3
TIMELINE_BIN_S = 300
DAY_START_HOUR = 5  # the election day's picture starts at 05:00 WIB and runs 24 hours
MIN_VISIBLE = timedelta(hours=9)  # show at least 05:00-14:00 (voting and its run-up)
AHEAD = timedelta(minutes=60)  # empty room to the right of "now"

FONT = "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
NOMINAL_MAP_PX = (900, 820)  # the wall's map at 1920x1080; the browser refits to its size
LABEL_PX = 15.0  # the least room between two kecamatan labels on the timeline


def grace_of(view: TpsView, grace: GraceTable) -> float | None:
    """Seconds this TPS may go unseen in its current phase (None: not watched now)."""
    if view.phase is None:
        return None
    return grace.get(view.risk.value, {}).get(view.phase.value)


def is_stale(view: TpsView, now: datetime, grace: GraceTable) -> bool:
    """Whether a watched TPS has not been seen within its grace."""
    limit = grace_of(view, grace)
    if limit is None or view.last_seen_at is None:
        return False
    return (now - view.last_seen_at).total_seconds() > limit


# Worse is later: an open incident can raise a TPS's shown situation, never lower it.
SITUATION_RANK = {None: 0, "aman": 1, "waspada": 2, "gangguan": 3}


def effective_situation(view: TpsState) -> str | None:
    """The worse of what officers report and what open incidents at the TPS raise it to."""
    pinged = view.situation.value if view.situation is not None else None
    raised = view.incident_situation.value if view.incident_situation is not None else None
    return raised if SITUATION_RANK[raised] > SITUATION_RANK[pinged] else pinged


def marker_state(view: TpsView, now: datetime, grace: GraceTable) -> str:
    """What the map shows for a TPS: not seen, its effective situation, or no report yet."""
    if is_stale(view, now, grace):
        return theme.STALE
    return effective_situation(view) or theme.NOT_REPORTED


def phase_key(view: TpsView) -> str:
    """The phase bucket of a TPS (no report yet included)."""
    return view.phase.value if view.phase is not None else theme.NOT_REPORTED


def marker_style(view: TpsView, state: str, mode: ColourMode) -> tuple[str, float]:
    """Colour and size of a TPS marker; not seen wins in both colourings."""
    if mode == "phase" and state != theme.STALE:
        return theme.PHASE_COLOURS[phase_key(view)], theme.PHASE_SIZE
    return theme.SITUATION_COLOURS[state], theme.SITUATION_SIZES[state]


def hover_text(view: TpsView, state: str, now: datetime, lang: Lang) -> str:
    """The hover label of a TPS (the browser script writes the same lines)."""
    situation = situation_name(effective_situation(view), lang)
    if state == theme.STALE:
        situation += f" · <b>{situation_name(theme.STALE, lang)}</b>"
    if view.last_seen_at is None:
        seen = t("h_never", lang)
    else:
        ago = ago_text((now - view.last_seen_at).total_seconds(), lang)
        seen = f"{clock_text(view.last_seen_at)} {t('wib', lang)} ({ago})"
        if view.last_officer:
            seen += f"<br>{t('h_by', lang)} {view.last_officer}"
    return (
        f"<b>{view.name} · {view.code}</b><br>"
        f"{t('h_desa', lang)} {view.desa} ({view.desa_code})<br>"
        f"{t('h_kecamatan', lang)} {view.kecamatan} ({view.kecamatan_code})<br>"
        f"{t('h_phase', lang)}: {phase_name(phase_key(view) if view.phase else None, lang)}"
        f" · {t('h_situation', lang)}: {situation}<br>"
        f"{t('h_risk', lang)}: {risk_name(view.risk.value, lang)}<br>"
        f"{t('h_seen', lang)}: {seen}"
    )


def incident_text(inc: IncidentPublic, lang: Lang) -> str:
    """The hover label of an incident."""
    where = inc.tps or "—"
    return (
        f"<b>{t('sev', lang, n=inc.severity)} {category_name(inc.category.value, lang)}</b>"
        f" · {status_name(inc.status.value, lang)}<br>"
        f"TPS {where} · {clock_text(inc.opened_at)} {t('wib', lang)}<br>"
        f"{t('reports', lang, n=inc.reports)}: {', '.join(inc.reported_by)}<br>"
        f"{html.escape(inc.description[:120], quote=False)}"
    )


def fit_view(
    lats: Sequence[float],
    lons: Sequence[float],
    size_px: tuple[int, int] = NOMINAL_MAP_PX,
    extent: Sequence[float] | None = None,
) -> tuple[dict[str, float], float, list[float]]:
    """Centre, zoom and [west, south, east, north] bounds that fit the points (and `extent`)."""
    if not lats and extent is None:
        return {"lat": -4.08, "lon": 104.55}, 8.5, [104.19, -4.53, 104.91, -3.65]
    if lats:
        # TPS sit inside their desa: pad so the boundary lines around the outer ones show too.
        pad_lon, pad_lat = 0.04 * (max(lons) - min(lons)), 0.04 * (max(lats) - min(lats))
        west, east = min(lons) - pad_lon, max(lons) + pad_lon
        south, north = min(lats) - pad_lat, max(lats) + pad_lat
    else:
        west, south, east, north = 180.0, 90.0, -180.0, -90.0
    if extent is not None:
        west, south = min(west, extent[0]), min(south, extent[1])
        east, north = max(east, extent[2]), max(north, extent[3])
    dlon, dlat = max(east - west, 0.01), max(north - south, 0.01)
    width, height = size_px
    # MapLibre draws the world 512 px wide at zoom 0; near the equator degrees are square.
    zoom = math.log2(min(width * 360 / (512 * dlon), height * 360 / (512 * dlat)) * 0.92)
    centre = {"lat": round((south + north) / 2, 5), "lon": round((west + east) / 2, 5)}
    return centre, round(min(zoom, 15.0), 2), [west, south, east, north]


@dataclass(frozen=True, slots=True)
class MapOptions:
    """How to draw the map: language, colouring, base layers, identity of this render."""

    lang: Lang = "id"
    mode: ColourMode = "situation"
    rev: str = "0"
    uirevision: str = "all"
    boundaries_url: str | None = "/api/v1/geo"  # None: no boundary files on this server
    boundaries_version: str | None = None  # changes when boundaries are imported (cache key)
    tile_url: str | None = None
    selected: str | None = None
    interactive: bool = True
    extent: tuple[float, float, float, float] | None = None  # also fit these [W, S, E, N]


def _layers(opts: MapOptions) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    if opts.tile_url:
        layers.append(
            {
                "sourcetype": "raster",
                "source": [opts.tile_url],
                "below": "traces",
                "opacity": 0.55,
            }
        )
    if opts.boundaries_url:
        query = f"?v={opts.boundaries_version}" if opts.boundaries_version else ""
        layers += [
            {
                "sourcetype": "geojson",
                "source": f"{opts.boundaries_url}/desa{query}",
                "type": "line",
                "color": theme.DESA_LINE,
                "line": {"width": 0.6},
                "below": "traces",
            },
            {
                "sourcetype": "geojson",
                "source": f"{opts.boundaries_url}/kecamatan{query}",
                "type": "line",
                "color": theme.KECAMATAN_LINE,
                "line": {"width": 1.6},
                "below": "traces",
                # The kecamatan outlines are heavily simplified: close up, the desa lines say it.
                "maxzoom": 11.5,
            },
        ]
    return layers


def map_figure(
    tps: Sequence[TpsView],
    incidents: Iterable[IncidentPublic],
    *,
    now: datetime,
    grace: GraceTable,
    opts: MapOptions,
) -> dict[str, Any]:
    """Every TPS as a marker (trace 0, `ids` = TPS codes) plus incident rings and cores."""
    colours, sizes, texts = [], [], []
    for v in tps:
        state = marker_state(v, now, grace)
        colour, size = marker_style(v, state, opts.mode)
        colours.append(colour)
        sizes.append(size)
        texts.append(hover_text(v, state, now, opts.lang))
    centre, zoom, bounds = fit_view([v.lat for v in tps], [v.lon for v in tps], extent=opts.extent)
    selected = next((v for v in tps if v.code == opts.selected), None)
    data = [
        {
            "type": "scattermap",
            "name": "TPS",
            "ids": [v.code for v in tps],
            "lat": [v.lat for v in tps],
            "lon": [v.lon for v in tps],
            "mode": "markers",
            "marker": {"color": colours, "size": sizes, "opacity": 0.95},
            "hovertext": texts,
            "hovertemplate": "%{hovertext}<extra></extra>",
        },
        *incident_traces(incidents, opts.lang),
        {
            "type": "scattermap",
            "name": "selected",
            "lat": [selected.lat] if selected else [],
            "lon": [selected.lon] if selected else [],
            "mode": "markers",
            "marker": {"color": "#ffffff", "size": 26, "opacity": 0.45},
            "hoverinfo": "skip",
        },
        {"type": "scattermap", "name": "officers", "lat": [], "lon": [], "mode": "markers"},
        {"type": "scattermap", "name": "trail", "lat": [], "lon": [], "mode": "markers"},
        {"type": "scattermap", "name": "boxes", "lat": [], "lon": [], "mode": "markers"},
    ]
    layout = {
        "map": {
            "style": theme.MAP_STYLE,
            "center": centre,
            "zoom": zoom,
            "layers": _layers(opts),
        },
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "paper_bgcolor": theme.BG,
        "plot_bgcolor": theme.BG,
        "showlegend": False,
        "uirevision": opts.uirevision,
        "hoverlabel": {
            "bgcolor": theme.PANEL,
            "bordercolor": theme.MUTED,
            "font": {"family": FONT, "size": 15, "color": theme.TEXT},
        },
        "font": {"family": FONT, "color": theme.TEXT},
        "dragmode": "pan" if opts.interactive else False,
        "meta": {
            "kind": "map",
            "rev": opts.rev,
            "mode": opts.mode,
            "lang": opts.lang,
            "bounds": bounds,
            "uirevision": opts.uirevision,
        },
    }
    return {"data": data, "layout": layout}


def incident_traces(incidents: Iterable[IncidentPublic], lang: Lang) -> list[dict[str, Any]]:
    """The ring and core traces of open incidents that have a place (traces 1 and 2)."""
    placed = sorted(
        (i for i in incidents if i.lat is not None and i.lon is not None),
        key=lambda i: (i.severity, i.id),
    )
    ids = [str(i.id) for i in placed]
    lats = [i.lat for i in placed]
    lons = [i.lon for i in placed]
    colours = [theme.SEVERITY_COLOURS[i.severity] for i in placed]
    texts = [incident_text(i, lang) for i in placed]
    return [
        {
            "type": "scattermap",
            "name": "incident-ring",
            "ids": ids,
            "lat": lats,
            "lon": lons,
            "mode": "markers",
            "marker": {
                "color": colours,
                "size": [theme.ring_size(i.severity) for i in placed],
                "opacity": theme.RING_OPACITY,
            },
            "hoverinfo": "skip",
        },
        {
            "type": "scattermap",
            "name": "incident",
            "ids": ids,
            "lat": lats,
            "lon": lons,
            "mode": "markers",
            "marker": {
                "color": colours,
                "size": [theme.core_size(i.severity) for i in placed],
                "opacity": 1.0,
            },
            "hovertext": texts,
            "hovertemplate": "%{hovertext}<extra></extra>",
        },
    ]


def day_window(now: datetime) -> tuple[datetime, datetime]:
    """The election day's picture around `now`: 05:00 WIB for 24 hours (the night belongs to it)."""
    local = now.astimezone(WIB)
    day = local.date() if local.hour >= DAY_START_HOUR else local.date() - timedelta(days=1)
    start = datetime(day.year, day.month, day.day, DAY_START_HOUR, tzinfo=WIB)
    return start, start + timedelta(hours=24)


def axis_time(at: datetime) -> str:
    """A time as the timeline's x axis holds it: WIB wall time without an offset."""
    return at.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")


def visible_range(start: datetime, now: datetime) -> list[str]:
    """The x range shown: the voting run-up at least, and an hour beyond now."""
    end = min(max(now + AHEAD, start + MIN_VISIBLE), start + timedelta(hours=24))
    return [axis_time(start), axis_time(end)]


def expand_runs(runs: Sequence[tuple[int, str | None]], bins: int) -> list[str | None]:
    """A run-length encoded row ([first_bin, value], ...) as one value per bin."""
    out: list[str | None] = [None] * bins
    for k, (first, value) in enumerate(runs):
        last = runs[k + 1][0] if k + 1 < len(runs) else bins
        for b in range(first, min(last, bins)):
            out[b] = value
    return out


def not_seen_bins(
    phases: Sequence[str | None],
    seen_at: Sequence[datetime],
    *,
    risk: str,
    start: datetime,
    bin_s: int,
    grace: GraceTable,
) -> list[int]:
    """The bins at whose end a TPS had not been seen within its grace (pings sorted by time)."""
    out: list[int] = []
    limits = grace.get(risk, {})
    i, last = 0, None
    for b, phase in enumerate(phases):
        edge = start + timedelta(seconds=bin_s * (b + 1))
        while i < len(seen_at) and seen_at[i] < edge:
            last = seen_at[i]
            i += 1
        limit = limits.get(phase) if phase else None
        if limit is not None and last is not None and (edge - last).total_seconds() > limit:
            out.append(b)
    return out


@dataclass(frozen=True, slots=True)
class TimelineInput:
    """Everything the barcode needs, read in one go."""

    start: datetime
    now: datetime
    bin_s: int
    bins: int
    rows: Sequence[TimelineRow]
    kecamatan_names: Mapping[str, str]
    not_seen: Mapping[str, Sequence[int]]  # TPS code -> bins not seen within grace


def timeline_figure(
    data: TimelineInput, *, lang: Lang, rev: str, height_px: float = 780.0
) -> dict[str, Any]:
    """All TPS as rows grouped by kecamatan, bins across, colour = phase, problems marked.

    `height_px` is the plot's expected height: kecamatan labels that would overlap at it are left
    out (the separators still show every group).
    """
    x = [
        axis_time(data.start + timedelta(seconds=data.bin_s * (b + 0.5))) for b in range(data.bins)
    ]
    codes = [r.code for r in data.rows]
    z: list[list[int | None]] = []
    marks: dict[str, tuple[list[str], list[str]]] = {
        "waspada": ([], []),
        "gangguan": ([], []),
        theme.STALE: ([], []),
    }
    for r in data.rows:
        phases = expand_runs(r.phase, data.bins)
        z.append([theme.PHASE_INDEX[p or theme.NOT_REPORTED] for p in phases])
        stale = set(data.not_seen.get(r.code, ()))
        for b, situation in enumerate(expand_runs(r.situation, data.bins)):
            kind = theme.STALE if b in stale else situation
            if kind in marks:
                marks[kind][0].append(x[b])
                marks[kind][1].append(r.code)
    n = len(theme.PHASE_KEYS)
    # A stepped colour scale: value k fills [k/n, (k+1)/n) with phase k's colour.
    scale: list[list[Any]] = []
    for k, key in enumerate(theme.PHASE_KEYS):
        scale += [[k / n, theme.PHASE_COLOURS[key]], [(k + 1) / n, theme.PHASE_COLOURS[key]]]
    scale[-1][0] = 1.0
    traces: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            "name": "phase",
            "x": x,
            "y": codes,
            "z": z,
            "zmin": -0.5,
            "zmax": n - 0.5,
            "colorscale": scale,
            "showscale": False,
            "xgap": 0,
            "ygap": 0,
            "hovertemplate": "%{y}<br>%{x|%H:%M} WIB<extra></extra>",
        }
    ]
    for kind, colour in (
        ("waspada", theme.SITUATION_COLOURS["waspada"]),
        ("gangguan", theme.SITUATION_COLOURS["gangguan"]),
        (theme.STALE, theme.SITUATION_COLOURS[theme.STALE]),
    ):
        xs, ys = marks[kind]
        traces.append(
            {
                "type": "scatter",
                "name": kind,
                "x": xs,
                "y": ys,
                "mode": "markers",
                "marker": {"color": colour, "size": 4, "symbol": "square"},
                "hovertemplate": "%{y}<br>%{x|%H:%M} WIB · "
                + situation_name(kind, lang)
                + "<extra></extra>",
            }
        )
    groups = _groups(codes, [r.kecamatan_code for r in data.rows])
    row_px = height_px / max(len(codes), 1)
    annotations, last_y = [], -LABEL_PX
    for kec, first, last in groups:
        y = (first + last + 1) / 2 * row_px
        if y - last_y < LABEL_PX:
            continue
        last_y = y
        annotations.append(
            {
                "x": 0,
                "xref": "paper",
                "xanchor": "right",
                "y": codes[(first + last) // 2],
                "yref": "y",
                "text": data.kecamatan_names.get(kec, kec),
                "showarrow": False,
                "font": {"size": 13, "color": theme.TEXT},
            }
        )
    now_x = axis_time(data.now)
    shapes = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": now_x,
            "x1": now_x,
            "y0": 0,
            "y1": 1,
            "line": {"color": theme.TEXT, "width": 2, "dash": "dot"},
        }
    ] + [
        {
            "type": "line",
            "xref": "paper",
            "yref": "y",
            "x0": 0,
            "x1": 1,
            "y0": first - 0.5,
            "y1": first - 0.5,
            "line": {"color": theme.BG, "width": 2},
        }
        for _, first, _ in groups[1:]
    ]
    layout = {
        "margin": {"l": 184, "r": 8, "t": 4, "b": 28},
        "paper_bgcolor": theme.BG,
        "plot_bgcolor": theme.PANEL,
        "font": {"family": FONT, "color": theme.TEXT, "size": 13},
        "showlegend": False,
        "xaxis": {
            "type": "date",
            "range": visible_range(data.start, data.now),
            "tickformat": "%H:%M",
            "dtick": 3600_000,
            "gridcolor": theme.GRID,
            "color": theme.MUTED,
            "fixedrange": True,
        },
        "yaxis": {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": codes,
            "autorange": "reversed",
            "showticklabels": False,
            "showgrid": False,
            "fixedrange": True,
        },
        "annotations": annotations,
        "shapes": shapes,
        "hoverlabel": {"font": {"family": FONT, "size": 14}},
        "uirevision": "timeline",
        "meta": {
            "kind": "timeline",
            "rev": rev,
            "start": data.start.isoformat(),
            "bin_s": data.bin_s,
            "bins": data.bins,
            "day_end": (data.start + timedelta(hours=24)).isoformat(),
        },
    }
    return {"data": traces, "layout": layout}


def _groups(codes: Sequence[str], kecamatan: Sequence[str]) -> list[tuple[str, int, int]]:
    """Runs of rows with the same kecamatan: (code, first row, last row)."""
    groups: list[tuple[str, int, int]] = []
    for i, kec in enumerate(kecamatan):
        if groups and groups[-1][0] == kec:
            groups[-1] = (kec, groups[-1][1], i)
        else:
            groups.append((kec, i, i))
    return groups


def progress_figure(tps: Sequence[TpsView], *, lang: Lang, rev: str) -> dict[str, Any]:
    """Per kecamatan, how many TPS are in each phase now: one stacked bar each."""
    names: dict[str, str] = {}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for v in tps:
        names[v.kecamatan_code] = v.kecamatan
        counts[v.kecamatan_code][phase_key(v)] += 1
    kecs = sorted(names)
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": phase_name(key if key != theme.NOT_REPORTED else None, lang),
            "x": [counts[k][key] for k in kecs],
            "y": kecs,
            "marker": {"color": theme.PHASE_COLOURS[key]},
            "hovertemplate": "%{y}: %{x} TPS<extra>%{fullData.name}</extra>",
            "meta": key,
        }
        for key in theme.PHASE_KEYS
    ]
    layout = {
        "barmode": "stack",
        "bargap": 0.25,
        "margin": {"l": 184, "r": 12, "t": 4, "b": 24},
        "paper_bgcolor": theme.BG,
        "plot_bgcolor": theme.BG,
        "font": {"family": FONT, "color": theme.TEXT, "size": 13},
        "showlegend": False,
        "xaxis": {"gridcolor": theme.GRID, "color": theme.MUTED, "fixedrange": True},
        "yaxis": {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": kecs,
            "tickvals": kecs,
            "ticktext": [names[k] for k in kecs],
            "autorange": "reversed",
            "fixedrange": True,
        },
        "uirevision": "progress",
        "meta": {"kind": "progress", "rev": rev, "kecamatan": kecs},
    }
    return {"data": traces, "layout": layout}


def day_figure(data: TimelineInput, *, lang: Lang, rev: str) -> dict[str, Any]:
    """How many of the shown TPS were in each phase through the day (stacked areas)."""
    x = [axis_time(data.start + timedelta(seconds=data.bin_s * (b + 1))) for b in range(data.bins)]
    per_bin: list[Counter[str]] = [Counter() for _ in range(data.bins)]
    for r in data.rows:
        for b, p in enumerate(expand_runs(r.phase, data.bins)):
            per_bin[b][p or theme.NOT_REPORTED] += 1
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "stackgroup": "phases",
            "name": phase_name(key if key != theme.NOT_REPORTED else None, lang),
            "x": x,
            "y": [c[key] for c in per_bin],
            "line": {"width": 0.5, "color": theme.PHASE_COLOURS[key]},
            "fillcolor": theme.PHASE_COLOURS[key],
            "hovertemplate": "%{x|%H:%M} WIB: %{y} TPS<extra>%{fullData.name}</extra>",
        }
        for key in theme.PHASE_KEYS
    ]
    layout = {
        "margin": {"l": 44, "r": 8, "t": 4, "b": 28},
        "paper_bgcolor": theme.BG,
        "plot_bgcolor": theme.PANEL,
        "font": {"family": FONT, "color": theme.TEXT, "size": 12},
        "showlegend": False,
        "xaxis": {
            "type": "date",
            "range": visible_range(data.start, data.now),
            "tickformat": "%H:%M",
            "gridcolor": theme.GRID,
            "color": theme.MUTED,
        },
        "yaxis": {"gridcolor": theme.GRID, "color": theme.MUTED, "rangemode": "tozero"},
        "uirevision": "day",
        "meta": {"kind": "day", "rev": rev},
    }
    return {"data": traces, "layout": layout}


def empty_figure(kind: str) -> dict[str, Any]:
    """A placeholder figure in the screen's colours, shown before the first render."""
    return {
        "data": [],
        "layout": {
            "paper_bgcolor": theme.BG,
            "plot_bgcolor": theme.BG,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "meta": {"kind": kind, "rev": ""},
        },
    }
