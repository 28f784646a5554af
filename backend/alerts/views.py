"""Alerts API: list with the platform's health beside them; acknowledge, silence, sweep now."""

import asyncio
import time
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import Session

from backend.alerts.models import Alert
from backend.alerts.service import (
    AlertConflictError,
    acknowledge,
    get,
    list_alerts,
    silence,
    to_public,
)
from backend.alerts.sweeper import LEASE_NAME
from backend.areas import contains
from backend.audit.service import AuditRecord, actor_of, append
from backend.auth.service import Principal
from backend.cluster import current_holder
from backend.deps import ReaderDep, RowId, RuntimeDep, SessionDep, require_role
from backend.runtime import Runtime
from schemas.enums import Role
from schemas.errors import problem_responses
from schemas.ops import AlertKind, AlertPublic, AlertSilence, AlertsPublic, PlatformHealth

router = APIRouter(
    prefix="/api/v1", tags=["alerts"], responses=problem_responses(400, 401, 403, 404, 409)
)
Operator = Annotated[Principal, require_role(Role.OPERATOR)]
Commander = Annotated[Principal, require_role(Role.COMMANDER)]
Admin = Annotated[Principal, require_role(Role.ADMIN)]


def platform_health(rt: Runtime) -> PlatformHealth:
    """Intake queue, age of the last commit, whether intake is stalled, the sweeper."""
    last = rt.writer.last_commit_at
    sweeper = rt.sweeper
    return PlatformHealth(
        queue_depth=rt.writer.queue_depth,
        last_commit_age_s=round(time.time() - last, 3) if last else None,
        intake_stalled=sweeper.intake_stalled() if sweeper else False,
        last_sweep_at=sweeper.last_sweep_at if sweeper else None,
        sweeper_node=current_holder(engine=rt.engine, name=LEASE_NAME),
        loop_lag_ms=rt.loop_lag.peak_ms,
        insecure=rt.settings.insecure,
    )


@router.get("/platform", response_model=PlatformHealth)
def read_platform(_principal: ReaderDep, rt: RuntimeDep) -> PlatformHealth:
    """This node's own health (screens show it beside the alerts, every few seconds)."""
    return platform_health(rt)


def _in_area(principal: Principal, kabupaten_code: str | None) -> bool:
    area = principal.area_code
    return kabupaten_code is None or contains(area, kabupaten_code)


def _conflict(err: AlertConflictError) -> HTTPException:
    detail = {"field": err.field, "reason": err.reason}
    return HTTPException(status.HTTP_409_CONFLICT, detail=detail)


def _not_found() -> HTTPException:
    detail = {"field": "id", "reason": "no such alert"}
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=detail)


@router.get("/alerts", response_model=AlertsPublic)
def read_alerts(
    principal: ReaderDep,
    session: SessionDep,
    rt: RuntimeDep,
    state: Literal["open", "all"] = "open",
    kind: AlertKind | None = None,
    subject: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
) -> AlertsPublic:
    """Alerts in your area (open by default, newest first) and the platform's own health."""
    data = list_alerts(
        session=session,
        area_code=principal.area_code,
        open_only=state == "open",
        kind=kind,
        subject=subject,
        limit=limit,
    )
    return AlertsPublic(data=data, count=len(data), platform=platform_health(rt))


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertPublic)
async def acknowledge_alert(
    alert_id: RowId, principal: Operator, session: SessionDep, rt: RuntimeDep
) -> AlertPublic:
    """Say you have seen an alert (operator or commander)."""

    def work() -> Alert:
        _load(session, principal, alert_id)
        return acknowledge(
            session=session, alert_id=alert_id, actor=actor_of(principal), now=rt.clock.now()
        )

    # The acknowledged SOS clears now, not on the next tick.
    return await _act(rt, alert_id, work, sweep_if_sos=True)


@router.post("/alerts/{alert_id}/silence", response_model=AlertPublic)
async def silence_alert(
    alert_id: RowId,
    body: AlertSilence,
    principal: Commander,
    session: SessionDep,
    rt: RuntimeDep,
) -> AlertPublic:
    """Silence an open alert for some minutes or until it clears (commander)."""

    def work() -> Alert:
        _load(session, principal, alert_id)
        return silence(
            session=session,
            alert_id=alert_id,
            actor=actor_of(principal),
            now=rt.clock.now(),
            minutes=body.minutes,
        )

    return await _act(rt, alert_id, work)


def _load(session: Session, principal: Principal, alert_id: int) -> None:
    alert = get(session=session, alert_id=alert_id)
    if alert is None or not _in_area(principal, alert.kabupaten_code):
        raise _not_found()


async def _act(
    rt: Runtime, alert_id: int, work: Callable[[], Alert], *, sweep_if_sos: bool = False
) -> AlertPublic:
    """Commit `work` off the event loop (a row lock must not stall intake), then publish it."""
    try:
        public = await asyncio.to_thread(lambda: to_public(work()))
    except AlertConflictError as err:
        raise _conflict(err) from None
    await rt.after.alert_changed(alert_id, sweep=sweep_if_sos and public.kind is AlertKind.SOS)
    return public


@router.post("/alerts/sweep")
async def sweep_now(principal: Admin, rt: RuntimeDep) -> dict[str, object]:
    """Run a sweep now on this node (if it holds the lease); report what changed (admin)."""
    if principal.area_code is not None:
        # A sweep is the whole cluster's, and its answer lists alerts of every area.
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={"field": "authorization", "reason": "needs an admin without an area"},
        )
    if rt.sweeper is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="no sweeper")
    record = AuditRecord(at=rt.clock.now(), actor=actor_of(principal), action="alert.sweep_asked")
    await asyncio.to_thread(_append_audit, rt, record)
    changes = await rt.sweeper.tick()
    if changes is None:
        return {"leader": False}
    return {
        "leader": True,
        "raised": changes.raised,
        "cleared": changes.cleared,
        "updated": changes.updated,
    }


def _append_audit(rt: Runtime, record: AuditRecord) -> None:
    with Session(rt.engine) as session:
        append(session=session, records=[record])
        session.commit()
