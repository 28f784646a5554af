"""Replay API: the live picture as of a moment, cut to the caller's area (docs/replay.md)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AwareDatetime

from backend.deps import ReaderDep, RuntimeDep, SessionDep, scoped_area
from backend.realtime.hub import channel_for_area
from backend.replay import service
from backend.tps.liveness import grace_table
from schemas.errors import problem_responses
from schemas.live import IncidentsPublic, LogEntry, Snapshot, Summary
from schemas.positions import OfficerFixesPublic, OfficerFixPublic

router = APIRouter(prefix="/api/v1/replay", tags=["replay"])


def _moment(
    at: Annotated[AwareDatetime, Query(description="the moment, ISO 8601 with its offset")],
) -> datetime:
    """The moment in UTC; one that has none (year 0 or 10000 once its offset is applied) is 422."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise HTTPException(422, detail={"field": "at", "reason": "out of range"}) from None


At = Annotated[datetime, Depends(_moment)]
Area = Annotated[str | None, Query(description="province or kabupaten code")]


@router.get("/snapshot", response_model=Snapshot, responses=problem_responses(401, 403))
def replay_snapshot(
    principal: ReaderDep, session: SessionDep, rt: RuntimeDep, at: At, area: Area = None
) -> Snapshot:
    """What GET /api/v1/snapshot returned at `at` (seq 0: no deltas apply on top)."""
    area_code = scoped_area(principal.area_code, area)
    state = service.state_at(session=session, area_code=area_code, at=at)
    return Snapshot(
        seq=0,
        channel=channel_for_area(area_code),
        taken_at=state.at,
        clock_speed=rt.clock.speed,
        exercise=rt.settings.exercise_label(),
        grace_s=grace_table(rt.settings),
        tps=state.tps,
        incidents=state.incidents,
        alerts=state.alerts,
    )


@router.get("/log", response_model=list[LogEntry], responses=problem_responses(401, 403))
def replay_log(
    principal: ReaderDep, session: SessionDep, at: At, area: Area = None
) -> list[LogEntry]:
    """The event log's phase and situation lines as they stood at `at`, newest first."""
    area_code = scoped_area(principal.area_code, area)
    return service.log_at(session=session, area_code=area_code, at=at)


@router.get("/incidents", response_model=IncidentsPublic, responses=problem_responses(401, 403))
def replay_incidents(
    principal: ReaderDep, session: SessionDep, at: At, area: Area = None
) -> IncidentsPublic:
    """Incidents resolved and waiting to be closed at `at` (the snapshot has the open ones)."""
    area_code = scoped_area(principal.area_code, area)
    data = service.resolved_at(session=session, area_code=area_code, at=at)
    return IncidentsPublic(data=data, count=len(data))


@router.get("/rollup", response_model=Summary, responses=problem_responses(401, 403))
def replay_rollup(principal: ReaderDep, session: SessionDep, at: At, area: Area = None) -> Summary:
    """Counts per kecamatan, phase and situation at `at` (fast at national scale)."""
    area_code = scoped_area(principal.area_code, area)
    return service.rollup_at(session=session, area_code=area_code, at=at)


@router.get("/positions", response_model=OfficerFixesPublic, responses=problem_responses(401, 403))
def replay_positions(
    principal: ReaderDep, session: SessionDep, rt: RuntimeDep, at: At, area: Area = None
) -> OfficerFixesPublic:
    """Each officer's last fix known at `at`."""
    area_code = scoped_area(principal.area_code, area)
    stale = rt.settings.positions_stale_s
    fixes = service.positions_at(session=session, area_code=area_code, at=at, stale_s=stale)
    data = [OfficerFixPublic.model_validate(f, from_attributes=True) for f in fixes]
    return OfficerFixesPublic(data=data, count=len(data), stale_after_s=stale, now=at)
