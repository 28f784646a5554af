"""Audit API: a TPS's after-action history (JSON or CSV), the chain's entries, a verify run."""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from backend.audit.history import history_csv, tps_history
from backend.audit.service import list_entries, verify
from backend.auth.service import Principal
from backend.deps import SessionDep, require_role
from schemas.detail import TpsHistory
from schemas.enums import Role
from schemas.errors import problem_responses
from schemas.ops import AuditEntryPublic

router = APIRouter(
    prefix="/api/v1", tags=["audit"], responses=problem_responses(400, 401, 403, 404)
)
Viewer = Annotated[Principal, require_role(Role.VIEWER)]
Commander = Annotated[Principal, require_role(Role.COMMANDER)]


@router.get(
    "/tps/{code}/history",
    response_model=TpsHistory,
    responses={200: {"content": {"text/csv": {}}}},
)
def read_tps_history(
    code: str,
    principal: Viewer,
    session: SessionDep,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Everything recorded about a TPS: pings, transitions, incidents and their steps, alerts."""
    history = tps_history(session=session, code=code, area_code=principal.area_code)
    if history is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail={"field": "code", "reason": "no such TPS"}
        )
    if format == "csv":
        return Response(
            history_csv(history),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="tps-{code}.csv"'},
        )
    return Response(history.model_dump_json(), media_type="application/json")


@router.get("/audit", response_model=list[AuditEntryPublic])
def read_audit(
    principal: Commander,
    session: SessionDep,
    subject_kind: str | None = None,
    subject: str | None = None,
    action: Annotated[str | None, Query(description="action prefix, e.g. incident.")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AuditEntryPublic]:
    """The audit chain, newest first (commander)."""
    return list_entries(
        session=session,
        subject_kind=subject_kind,
        subject=subject,
        action_prefix=action,
        limit=limit,
    )


@router.get("/audit/verify")
def verify_audit(principal: Commander, session: SessionDep) -> dict[str, object]:
    """Check the whole chain; name the first bad entry if there is one (commander)."""
    result = verify(session=session)
    return {
        "ok": result.ok,
        "checked": result.checked,
        "bad_seq": result.bad_seq,
        "reason": result.reason,
    }
