"""Incidents API: read them; accept, dispatch, resolve, close, annotate, merge and split them.

Every step is a compare-and-set on the incident's version (send the version you saw): a stale
version or a step that does not fit the status is a 409 naming the field and the reason.
The steps' transactions run in a worker thread (`_act`): on the event loop, a wait for a row
lock held by another node would stall every field socket of this one.
"""

import asyncio
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import Session

from backend.areas import contains
from backend.audit.service import actor_of
from backend.auth.service import Principal
from backend.deps import ReaderDep, RowId, RuntimeDep, SessionDep, require_role, scoped_area
from backend.incidents.lifecycle import MERGE_SPLIT_ROLE, NOTE_ROLE, REQUIRED_ROLE, Action
from backend.incidents.models import Incident
from backend.incidents.service import (
    IncidentConflictError,
    IncidentInputError,
    add_note,
    list_details,
    list_public,
    merge,
    split,
    transition,
)
from backend.runtime import Runtime
from schemas.detail import IncidentDetail
from schemas.errors import problem_responses
from schemas.live import IncidentsPublic
from schemas.ops import (
    IncidentAction,
    IncidentDispatch,
    IncidentMerge,
    IncidentNoteIn,
    IncidentSplit,
)

router = APIRouter(
    prefix="/api/v1", tags=["state"], responses=problem_responses(400, 401, 403, 404, 409)
)


@router.get("/incidents/open", response_model=IncidentsPublic)
def read_open_incidents(principal: ReaderDep, session: SessionDep) -> IncidentsPublic:
    """Incidents not yet resolved, newest first."""
    data = list_public(session=session, area_code=principal.area_code, open_only=True)
    return IncidentsPublic(data=data, count=len(data))


@router.get("/incidents", response_model=IncidentsPublic)
def read_incidents(
    principal: ReaderDep,
    session: SessionDep,
    open_only: bool = False,
    limit: int = Query(500, ge=1, le=5000),
    area: Annotated[str | None, Query(description="province or kabupaten code")] = None,
) -> IncidentsPublic:
    """Incidents in your area (or `area` inside it), newest first."""
    data = list_public(
        session=session,
        area_code=scoped_area(principal.area_code, area),
        open_only=open_only,
        limit=limit,
    )
    return IncidentsPublic(data=data, count=len(data))


# --- lifecycle -----------------------------------------------------------------------------

Operator = Annotated[Principal, require_role(NOTE_ROLE)]
Commander = Annotated[Principal, require_role(MERGE_SPLIT_ROLE)]


def _load(session: Session, principal: Principal, incident_id: int) -> Incident:
    inc = session.get(Incident, incident_id)
    area = principal.area_code
    if inc is None or not contains(area, inc.kabupaten_code):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail={"field": "id", "reason": "no such incident"}
        )
    return inc


def _refuse(err: IncidentConflictError) -> HTTPException:
    code = (
        status.HTTP_422_UNPROCESSABLE_CONTENT
        if isinstance(err, IncidentInputError)
        else status.HTTP_409_CONFLICT
    )
    return HTTPException(code, detail={"field": err.field, "reason": err.reason})


def _detail(session: Session, incident_id: int) -> IncidentDetail:
    return list_details(session=session, ids=[incident_id])[0]


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
def read_incident(incident_id: RowId, principal: ReaderDep, session: SessionDep) -> IncidentDetail:
    """One incident with its reports and every step taken on it."""
    _load(session, principal, incident_id)
    return _detail(session, incident_id)


async def _act(rt: Runtime, session: Session, work: Callable[[], list[int]]) -> IncidentDetail:
    """Commit `work` off the loop (it returns changed ids, the shown one first); publish; answer."""
    try:
        changed = await asyncio.to_thread(work)
    except IncidentConflictError as err:
        raise _refuse(err) from None
    await rt.after.incident_changed(changed)
    return await asyncio.to_thread(_detail, session, changed[0])


async def _transition(
    action: Action,
    incident_id: RowId,
    body: IncidentAction,
    principal: Principal,
    session: Session,
    rt: Runtime,
) -> IncidentDetail:
    if not principal.has_role(REQUIRED_ROLE[action]):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={"field": "authorization", "reason": f"needs role {REQUIRED_ROLE[action]}"},
        )
    target = body if isinstance(body, IncidentDispatch) else None

    def work() -> list[int]:
        _load(session, principal, incident_id)
        transition(
            session=session,
            incident_id=incident_id,
            action=action,
            expected_version=body.version,
            actor=actor_of(principal),
            now=rt.clock.now(),
            note=body.note,
            officer_nrp=target.officer if target else None,
            unit_code=target.unit if target else None,
        )
        return [incident_id]

    return await _act(rt, session, work)


@router.post("/incidents/{incident_id}/accept", response_model=IncidentDetail)
async def accept_incident(
    incident_id: RowId,
    body: IncidentAction,
    principal: Operator,
    session: SessionDep,
    rt: RuntimeDep,
) -> IncidentDetail:
    """baru -> diterima: someone at the post has taken it (operator or commander)."""
    return await _transition(Action.ACCEPT, incident_id, body, principal, session, rt)


@router.post("/incidents/{incident_id}/dispatch", response_model=IncidentDetail)
async def dispatch_incident(
    incident_id: RowId,
    body: IncidentDispatch,
    principal: Commander,
    session: SessionDep,
    rt: RuntimeDep,
) -> IncidentDetail:
    """-> ditangani: hand it to an officer (NRP) or a unit (code); again to re-dispatch."""
    return await _transition(Action.DISPATCH, incident_id, body, principal, session, rt)


@router.post("/incidents/{incident_id}/resolve", response_model=IncidentDetail)
async def resolve_incident(
    incident_id: RowId,
    body: IncidentAction,
    principal: Commander,
    session: SessionDep,
    rt: RuntimeDep,
) -> IncidentDetail:
    """ditangani -> selesai: handled on the ground (commander)."""
    return await _transition(Action.RESOLVE, incident_id, body, principal, session, rt)


@router.post("/incidents/{incident_id}/close", response_model=IncidentDetail)
async def close_incident(
    incident_id: RowId,
    body: IncidentAction,
    principal: Commander,
    session: SessionDep,
    rt: RuntimeDep,
) -> IncidentDetail:
    """selesai -> ditutup: the file is closed (commander)."""
    return await _transition(Action.CLOSE, incident_id, body, principal, session, rt)


@router.post("/incidents/{incident_id}/notes", response_model=IncidentDetail, status_code=201)
async def annotate_incident(
    incident_id: RowId,
    body: IncidentNoteIn,
    principal: Operator,
    session: SessionDep,
    rt: RuntimeDep,
) -> IncidentDetail:
    """Add a free-text line to the incident's log (operator or commander)."""

    def work() -> list[int]:
        _load(session, principal, incident_id)
        add_note(
            session=session,
            incident_id=incident_id,
            text=body.text,
            actor=actor_of(principal),
            now=rt.clock.now(),
        )
        return [incident_id]

    return await _act(rt, session, work)


@router.post("/incidents/{incident_id}/merge", response_model=IncidentDetail)
async def merge_incidents(
    incident_id: RowId,
    body: IncidentMerge,
    principal: Commander,
    session: SessionDep,
    rt: RuntimeDep,
) -> IncidentDetail:
    """Merge other incidents into this one: their reports move here, they close (commander)."""

    def work() -> list[int]:
        _load(session, principal, incident_id)
        for other in body.others:
            _load(session, principal, other)
        merge(
            session=session,
            incident_id=incident_id,
            others=body.others,
            expected_version=body.version,
            actor=actor_of(principal),
            now=rt.clock.now(),
            note=body.note,
        )
        return [incident_id, *body.others]

    return await _act(rt, session, work)


@router.post("/incidents/{incident_id}/split", response_model=IncidentDetail, status_code=201)
async def split_incident(
    incident_id: RowId,
    body: IncidentSplit,
    principal: Commander,
    session: SessionDep,
    rt: RuntimeDep,
) -> IncidentDetail:
    """Move one report out into a new incident; returns the new incident (commander)."""

    def work() -> list[int]:
        _load(session, principal, incident_id)
        new = split(
            session=session,
            incident_id=incident_id,
            report_id=body.report_id,
            expected_version=body.version,
            actor=actor_of(principal),
            now=rt.clock.now(),
            note=body.note,
        )
        assert new.id is not None
        return [new.id, incident_id]

    return await _act(rt, session, work)
