"""Read API for TPS: list with state, one TPS with its timeline, summary, snapshot."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import AwareDatetime
from sqlmodel import Session, col, select

from backend.areas import contains
from backend.audit.service import actor_of
from backend.auth.service import Principal
from backend.deps import ReaderDep, RuntimeDep, SessionDep, require_role, scoped_area
from backend.incidents.service import list_public
from backend.registry.boundaries import cached_layer
from backend.runtime import Runtime
from backend.tps.models import Tps
from backend.tps.service import (
    confirm_phase,
    correct_state,
    get_by_code,
    list_views,
    recent_log,
    summary,
    timeline,
    timeline_rows,
)
from backend.tps.state import StateConflictError, TpsChange
from schemas.enums import Phase, RegionLevel, RiskRating, Role, Situation
from schemas.errors import problem_responses
from schemas.live import LogEntry, Summary, Timeline, TpsPage, TpsTimeline, TpsView
from schemas.ops import TpsCorrection, TpsPhaseConfirm

router = APIRouter(prefix="/api/v1", tags=["state"], responses=problem_responses(401, 403))


_scope = scoped_area
Commander = Annotated[Principal, require_role(Role.COMMANDER)]


@router.get("/tps", response_model=TpsPage)
def read_tps(
    principal: ReaderDep,
    session: SessionDep,
    kecamatan: str | None = None,
    desa: str | None = None,
    phase: Phase | None = None,
    situation: Situation | None = None,
    risk: RiskRating | None = None,
    area: Annotated[str | None, Query(description="province or kabupaten code")] = None,
) -> TpsPage:
    """Every TPS in your area with phase, situation, last seen and by whom."""
    data = list_views(
        session=session,
        area_code=_scope(principal.area_code, area),
        kecamatan_code=kecamatan,
        desa_code=desa,
        phase=phase,
        situation=situation,
        risk=risk,
    )
    return TpsPage(data=data, count=len(data))


@router.get("/tps/{code}", response_model=TpsTimeline, responses=problem_responses(404))
def read_tps_timeline(
    code: str, principal: ReaderDep, session: SessionDep, limit: int = Query(500, ge=1, le=5000)
) -> TpsTimeline:
    """One TPS with its whole timeline of events, newest first."""
    views = list_views(session=session, area_code=_scope(principal.area_code, None), codes=[code])
    if not views:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail={"field": "code", "reason": "no such TPS"}
        )
    tps_id = session.exec(select(Tps.id).where(col(Tps.code) == code)).one()
    assert tps_id is not None
    return TpsTimeline(tps=views[0], events=timeline(session=session, tps_id=tps_id, limit=limit))


def _own_tps(session: Session, principal: Principal, code: str) -> Tps:
    """The TPS, if it lies inside the caller's area (else 404: outside, it does not exist)."""
    tps = get_by_code(session=session, code=code)
    if tps is None or not contains(principal.area_code, tps.kabupaten_code):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail={"field": "code", "reason": "no such TPS"}
        )
    return tps


async def _act(rt: Runtime, session: Session, code: str, work: Callable[[], TpsChange]) -> TpsView:
    """Commit `work` off the loop (it waits for the TPS's lock), publish the change, answer."""
    try:
        change = await asyncio.to_thread(work)
    except StateConflictError as err:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail={"field": err.field, "reason": err.reason}
        ) from None
    await rt.after.tps_changed(change)
    views = await asyncio.to_thread(lambda: list_views(session=session, codes=[code]))
    return views[0]


@router.post(
    "/tps/{code}/confirm-phase",
    response_model=TpsView,
    responses=problem_responses(400, 404, 409, 422),
)
async def confirm_tps_phase(
    code: str, body: TpsPhaseConfirm, principal: Commander, session: SessionDep, rt: RuntimeDep
) -> TpsView:
    """Confirm the phase an officer not assigned to the TPS claimed (commander; audited).

    Send the claimed phase you saw: if the claim changed meanwhile, the answer is a 409.
    """

    def work() -> TpsChange:
        tps = _own_tps(session, principal, code)
        return confirm_phase(
            session=session,
            tps=tps,
            phase=body.phase,
            actor=actor_of(principal),
            now=rt.clock.now(),
        )

    return await _act(rt, session, code, work)


@router.post(
    "/tps/{code}/correction",
    response_model=TpsView,
    responses=problem_responses(400, 404, 409, 422),
)
async def correct_tps(
    code: str, body: TpsCorrection, principal: Commander, session: SessionDep, rt: RuntimeDep
) -> TpsView:
    """Set a TPS's phase (and situation), also backwards, with a reason (commander; audited).

    From then on pings with an earlier device time are stored and flagged
    `before_correction` but no longer count: a late ping cannot undo the correction.
    """

    def work() -> TpsChange:
        tps = _own_tps(session, principal, code)
        return correct_state(
            session=session,
            tps=tps,
            phase=body.phase,
            situation=body.situation,
            reason=body.reason,
            actor=actor_of(principal),
            now=rt.clock.now(),
        )

    return await _act(rt, session, code, work)


@router.get("/summary", response_model=Summary)
def read_summary(principal: ReaderDep, session: SessionDep, area: str | None = None) -> Summary:
    """How many TPS of each kecamatan are in each phase and situation."""
    return summary(session=session, area_code=_scope(principal.area_code, area))


# Far enough apart for any election, near enough that adding a bin or 18 hours never leaves
# the years datetime can hold (year 1 or 9999 would overflow and answer 500).
TIMELINE_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
TIMELINE_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _in_range(field: str, value: datetime | None) -> datetime | None:
    """`value` if it lies between TIMELINE_EARLIEST and TIMELINE_LATEST, else a 422."""
    # Both are aware (AwareDatetime), so comparing never raises, whatever their offsets.
    if value is not None and not TIMELINE_EARLIEST <= value <= TIMELINE_LATEST:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail={"field": field, "reason": "must lie between 1970-01-01 and 9000-01-01"},
        )
    return value


@router.get("/timeline", response_model=Timeline)
def read_timeline(
    principal: ReaderDep,
    session: SessionDep,
    rt: RuntimeDep,
    start: Annotated[
        AwareDatetime | None, Query(description="ISO 8601 with offset, e.g. +07:00")
    ] = None,
    end: Annotated[
        AwareDatetime | None, Query(description="ISO 8601 with offset; default: now")
    ] = None,
    bin_s: Annotated[int, Query(ge=60, le=3600)] = 300,
    area: str | None = None,
) -> Timeline:
    """Every TPS's phase and situation per time bin (default: the last 18 hours to now)."""
    end = _in_range("end", end) or rt.clock.now()
    start = _in_range("start", start) or end - timedelta(hours=18)
    if end <= start or (end - start) > timedelta(days=5):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail={"field": "start", "reason": "start must be before end, at most 5 days apart"},
        )
    bins, rows = timeline_rows(
        session=session,
        area_code=_scope(principal.area_code, area),
        start=start,
        end=end,
        bin_s=bin_s,
    )
    return Timeline(start=start, end=end, bin_s=bin_s, bins=bins, rows=rows)


@router.get("/log", response_model=list[LogEntry])
def read_log(
    principal: ReaderDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
    area: Annotated[str | None, Query(description="province or kabupaten code")] = None,
) -> list[LogEntry]:
    """The event log, newest first: phase and situation changes and incidents."""
    area = _scope(principal.area_code, area)
    entries = recent_log(session=session, area_code=area, limit=limit)
    for inc in list_public(session=session, area_code=area, limit=limit):
        entries.append(
            LogEntry(
                at=inc.opened_at,
                kind="incident",
                tps=inc.tps,
                officer=inc.reported_by[0] if inc.reported_by else None,
                after=inc.category.value,
                incident_id=inc.id,
                severity=inc.severity,
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


_GEO_FILES = {
    "kabupaten": "oku_timur_kabupaten.geojson",
    "kecamatan": "oku_timur_kecamatan.geojson",
    "desa": "oku_timur_desa.geojson",
}


@router.get("/geo/{layer}", response_class=Response, responses=problem_responses(404))
def read_geo(
    layer: Literal["kabupaten", "kecamatan", "desa"],
    _: ReaderDep,
    rt: RuntimeDep,
    session: SessionDep,
) -> Response:
    """Boundaries as GeoJSON: imported into the database, else from the region data directory."""
    # Imported outlines win whole: a layer the import lacks is empty, never filled in from the
    # shipped OKU Timur files under another kabupaten's TPS.
    body = cached_layer(session=session, level=RegionLevel(layer))
    if body is None:
        path: Path = rt.settings.region_data_dir / _GEO_FILES[layer]
        if not path.is_file():
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                detail={"field": "layer", "reason": f"no boundaries imported and no file {path}"},
            )
        body = path.read_bytes()
    return Response(
        body,
        media_type="application/geo+json",
        # private: a shared cache must not hand a signed-in reader's file to anyone else.
        headers={"Cache-Control": "private, max-age=3600"},
    )
