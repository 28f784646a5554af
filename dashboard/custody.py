"""The ballot boxes' way to the PPK on screen: the wall's counts and map, the commander's timeline.

Polled, not pushed (as dashboard/positions.py): a Dash interval re-reads the custody API's
service every few seconds and patches only the map's boxes trace (figures.MAP_BOXES), so the live
protocol and its per-TPS patches stay untouched. Every read is cut to the screen's area.
"""

from datetime import datetime, timedelta
from typing import Any

from dash import Input, Output, Patch, State, dcc, html
from sqlmodel import Session, col, select

from backend.areas import contains
from backend.custody.service import RoadModel, overview, timeline
from backend.runtime import Runtime
from backend.tps.models import Tps
from dashboard import ids
from dashboard.figures import MAP_BOXES
from dashboard.i18n import Lang, clock_text, lang_of, t
from dashboard.replay import REPLAY_MOMENT, replayed_moment
from dashboard.serving import PageCallbacks, Serving
from schemas.custody import BoxOnRoad, CustodyStepPublic, CustodyTimeline, KecamatanCustody

C = ids.COMMANDER
W = ids.WALL
BOX_COLOUR = "#a855f7"  # violet: no TPS state or officer uses it
# Overdue stays violet (red is gangguan on this map), deeper and larger; its alert says why.
OVERDUE_COLOUR = "#7c3aed"
POLL_MS = 10_000


def _road(rt: Runtime) -> RoadModel:
    return RoadModel(road_factor=rt.settings.custody_road_factor, kmh=rt.settings.custody_road_kmh)


def wall_custody(lang: Lang) -> html.Div:
    """The wall's boxes sealed / on the road / received per kecamatan (filled by polling)."""
    return html.Div(
        className="tracked custody",
        children=[
            html.H3(
                [
                    t("custody", lang),
                    html.Span(
                        [html.Span("●", style={"color": BOX_COLOUR}), " " + t("custody_map", lang)],
                        className="custody-legend",
                    ),
                ],
                className="tracked-title",
            ),
            html.Div(id=ids.WALL_CUSTODY, className="custody-list"),
            dcc.Interval(id=ids.WALL_CUSTODY_TICK, interval=POLL_MS),
        ],
    )


def commander_custody(lang: Lang) -> html.Div:
    """The selected TPS's custody timeline under its detail (filled by its callback)."""
    return html.Div(
        className="custody-detail",
        children=[
            html.H3(t("custody_timeline", lang), className="tracked-title"),
            html.Div(id=ids.CMD_CUSTODY, className="custody-timeline"),
            dcc.Interval(id=ids.CMD_CUSTODY_TICK, interval=POLL_MS),
        ],
    )


def count_rows(rows: list[KecamatanCustody], lang: Lang) -> list[Any] | str:
    """One line per kecamatan with boxes moving: sealed, on the road, received (of its TPS)."""
    moving = [r for r in rows if r.sealed or r.on_road or r.received]
    if not moving:
        return t("custody_none", lang)
    head = html.Div(
        className="custody-row custody-head",
        children=[
            html.Span(""),
            html.Span(t("custody_sealed", lang)),
            html.Span(t("custody_on_road", lang)),
            html.Span(t("custody_received", lang)),
        ],
    )
    return [
        head,
        *(
            html.Div(
                className="custody-row",
                title=r.kecamatan_code,
                children=[
                    html.Span(r.name),
                    html.B(str(r.sealed), className="custody-n sealed"),
                    html.B(str(r.on_road), className="custody-n on-road"),
                    html.B(f"{r.received}/{r.tps}", className="custody-n received"),
                ],
            )
            for r in moving
        ),
    ]


def boxes_trace(boxes: list[BoxOnRoad], lang: Lang) -> dict[str, Any]:
    """The boxes on the road as one marker trace (overdue deeper and larger), `ids` = TPS codes."""
    return {
        "type": "scattermap",
        "name": "boxes",
        "ids": [b.tps for b in boxes],
        "lat": [b.lat for b in boxes],
        "lon": [b.lon for b in boxes],
        "mode": "markers",
        "marker": {
            "color": [OVERDUE_COLOUR if b.overdue else BOX_COLOUR for b in boxes],
            "size": [20 if b.overdue else 14 for b in boxes],
            "opacity": 0.95,
        },
        "hovertext": [
            t(
                "custody_box_hover",
                lang,
                tps=b.tps,
                dep=clock_text(b.departed_at),
                due=clock_text(b.expected_at),
            )
            + (f"<br><b>{t('custody_overdue', lang)}</b>" if b.overdue else "")
            for b in boxes
        ],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def _step_line(s: CustodyStepPublic, lang: Lang) -> html.Li:
    who = f"{s.officer_name} ({s.officer_nrp})" if s.officer_name else "—"
    facts: list[str] = []
    if s.seal_numbers:
        facts.append(t("custody_seals", lang, v=", ".join(s.seal_numbers)))
    if s.vehicle:
        facts.append(t("custody_vehicle", lang, v=s.vehicle))
    if s.escort_nrps:
        facts.append(t("custody_escorts", lang, v=", ".join(s.escort_nrps)))
    if s.receiver_name:
        key = "custody_ba" if s.ba_number else "custody_no_ba"
        facts.append(t(key, lang, ba=s.ba_number, name=s.receiver_name))
    if s.lat is not None and s.lon is not None:
        facts.append(t("custody_where", lang, lat=f"{s.lat:.5f}", lon=f"{s.lon:.5f}"))
    photo: list[Any] = []
    if s.photo_url and s.photo_thumb_url:
        # The thumbnail links to the photo as sent; both are read with the viewer's own session.
        label = t("custody_seal_photo", lang)
        photo.append(
            html.A(
                html.Img(src=s.photo_thumb_url, alt=label, className="custody-photo"),
                href=s.photo_url,
                target="_blank",
                rel="noopener",
                title=label,
                className="custody-photo-link",
            )
        )
    return html.Li(
        className=f"custody-step step-{s.step.value}"
        + (" no-ba" if s.receiver_name and not s.ba_number else ""),
        children=[
            html.Span(f"{clock_text(s.device_time)} WIB", className="custody-when"),
            html.B(t(f"step_{s.step.value}", lang), className="custody-what"),
            html.Span(who, className="custody-who"),
            *(html.Div(f, className="custody-fact") for f in facts),
            *photo,
        ],
    )


def timeline_list(tl: CustodyTimeline, lang: Lang) -> list[Any] | str:
    """A TPS's custody steps, oldest first, and the expected arrival while on the road."""
    if not tl.steps:
        return t("custody_no_steps", lang)
    steps = [_step_line(s, lang) for s in tl.steps]
    out: list[Any] = [html.Ol(className="custody-steps", children=steps)]
    done = {s.step.value for s in tl.steps} & {"tiba", "serah_terima"}
    if tl.expected_at is not None and tl.ppk is not None and not done:
        out.append(
            html.Div(
                t("custody_expected", lang, ppk=tl.ppk.name, at=clock_text(tl.expected_at)),
                className="custody-expected",
            )
        )
    return out


callbacks = PageCallbacks()


def _read_overview(rt: Runtime, area: str | None, at: datetime | None = None) -> Any:
    """The area's custody counts and boxes on the road, as of now (or a replayed moment)."""
    with Session(rt.engine) as s:
        return overview(
            session=s,
            area=area,
            road=_road(rt),
            now=at or rt.clock.now(),
            margin=timedelta(minutes=rt.settings.custody_arrival_margin_min),
            at=at,
        )


@callbacks.server(
    Output(ids.WALL_CUSTODY, "children"),
    Output(W.map, "figure", allow_duplicate=True),
    Input(ids.WALL_CUSTODY_TICK, "n_intervals"),
    Input(W.config, "data"),  # the map was drawn anew: its boxes too
    State(W.page, "data"),
    prevent_initial_call=True,
)
async def wall_boxes(srv: Serving, _tick: Any, _drawn: Any, page: Any) -> tuple[Any, ...]:
    """Counts per kecamatan and the boxes on the road on the wall's map."""
    lang = lang_of((page or {}).get("lang"))

    def build(rt: Runtime, area: str | None) -> tuple[Any, ...]:
        view = _read_overview(rt, area)
        patch = Patch()
        patch["data"][MAP_BOXES] = boxes_trace(view.on_road, lang)
        return count_rows(view.kecamatan, lang), patch

    result: tuple[Any, ...] = await srv.in_thread(build, page=page)
    return result


@callbacks.server(
    Output(C.map, "figure", allow_duplicate=True),
    Input(ids.CMD_CUSTODY_TICK, "n_intervals"),
    Input(ids.CMD_MATCHES, "children"),  # the map was drawn anew: its boxes too
    Input(REPLAY_MOMENT, "data"),  # a replayed moment (dashboard/replay.py), None: live
    State(C.page, "data"),
    prevent_initial_call=True,
)
async def commander_boxes(srv: Serving, _tick: Any, _drawn: Any, moment: Any, page: Any) -> Any:
    """The boxes on the road on the commander's map (as they were at a replayed moment)."""
    lang = lang_of((page or {}).get("lang"))
    at = replayed_moment(moment)

    def build(rt: Runtime, area: str | None) -> Any:
        patch = Patch()
        patch["data"][MAP_BOXES] = boxes_trace(_read_overview(rt, area, at).on_road, lang)
        return patch

    return await srv.in_thread(build, page=page)


@callbacks.server(
    Output(ids.CMD_CUSTODY, "children"),
    Input(ids.CMD_SELECTED, "data"),
    Input(ids.CMD_PANELS_TICK, "data"),
    Input(ids.CMD_CUSTODY_TICK, "n_intervals"),
    Input(REPLAY_MOMENT, "data"),
    State(C.page, "data"),
)
async def custody_detail(
    srv: Serving, code: str | None, _panels: Any, _tick: Any, moment: Any, page: Any
) -> Any:
    """The selected TPS's custody timeline: step, who, when, where (by a replayed moment)."""
    lang = lang_of((page or {}).get("lang"))
    if not code:
        return ""
    at = replayed_moment(moment)

    def build(rt: Runtime, area: str | None) -> Any:
        with Session(rt.engine) as s:
            tps = s.exec(select(Tps).where(col(Tps.code) == code)).first()
            if tps is None or not contains(area, tps.kabupaten_code):
                return ""
            return timeline_list(timeline(session=s, tps=tps, road=_road(rt), at=at), lang)

    return await srv.in_thread(build, page=page, maps=False)


__all__ = ["callbacks", "count_rows", "timeline_list"]
