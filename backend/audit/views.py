"""Audit API: a TPS's after-action history (JSON or CSV), the chain's entries, a verify run.

Entries are cut to the reader's area: an entry's area is the narrowest one of its subject, and
entries without one (system-wide, or from before keyed chaining) are for national readers.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status

from backend.audit.anchor import AnchorSet, read_anchors
from backend.audit.history import history_csv, tps_history
from backend.audit.keys import key_from_options
from backend.audit.models import AuditEntry
from backend.audit.service import VerifyResult, is_visible, list_entries, verify
from backend.auth.service import Principal
from backend.deps import RuntimeDep, SessionDep, require_role, scoped_area
from schemas.detail import TpsHistory
from schemas.enums import Role
from schemas.errors import problem_responses
from schemas.ops import AuditEntryPublic, AuditVerifyPublic

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
    file_format: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """Everything recorded about a TPS: pings, transitions, incidents and their steps, alerts."""
    history = tps_history(session=session, code=code, area_code=principal.area_code)
    if history is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail={"field": "code", "reason": "no such TPS"}
        )
    if file_format == "csv":
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
    area: Annotated[str | None, Query(description="narrow to an area inside yours")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AuditEntryPublic]:
    """The audit chain inside the reader's area, newest first (commander)."""
    return list_entries(
        session=session,
        subject_kind=subject_kind,
        subject=subject,
        action_prefix=action,
        area_code=scoped_area(principal.area_code, area),
        limit=limit,
    )


@router.get("/audit/verify", response_model=AuditVerifyPublic)
def verify_audit(principal: Commander, session: SessionDep, rt: RuntimeDep) -> AuditVerifyPublic:
    """Check the whole chain against this node's anchor file (commander).

    Everyone learns whether the chain holds; where it broke, only a reader whose area holds
    the broken entry (national readers: always).
    """
    scope = scoped_area(principal.area_code, None)
    key = key_from_options(rt.engine.get_execution_options())
    path = rt.settings.audit_anchor_path
    anchors = read_anchors([path], key) if path is not None and path.exists() else AnchorSet()
    result = verify(session=session, anchors=anchors, key=key)
    return _public(result, scope, session)


def _public(result: VerifyResult, scope: str | None, session: SessionDep) -> AuditVerifyPublic:
    out = AuditVerifyPublic(
        ok=result.ok,
        checked=result.checked,
        keyed_from=result.keyed_from,
        anchors=result.anchors,
        anchored_seq=result.anchored_seq,
        bad_seq=result.bad_seq,
        reason=result.reason,
        anchor_problems=list(result.anchor_problems),
    )
    if scope is None:
        return out
    if result.anchor_problems:
        out.anchor_problems = [f"{len(result.anchor_problems)} anchor line(s) cannot be trusted"]
    bad = session.get(AuditEntry, result.bad_seq) if result.bad_seq else None
    if result.bad_seq is not None and (bad is None or not is_visible(scope, bad.area_code)):
        out.bad_seq, out.reason = None, "outside your area: ask a national reader"
    return out
