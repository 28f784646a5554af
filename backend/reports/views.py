"""Situation reports API: list, read, draft now, edit, sign, and the HTML, PDF and CSV documents.

Every read is cut to the caller's area (a report outside it is a 404, as if it did not exist);
drafting needs an operator, editing and signing a commander. Writes commit in a worker thread
and are audited by the service; a signature then wakes the outboxes that carry it to the Polda.
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlmodel import Session

from backend.areas import contains
from backend.audit.service import actor_of
from backend.auth.service import Principal
from backend.deps import ReaderDep, RowId, RuntimeDep, SessionDep, require_role, scoped_area
from backend.reports import render
from backend.reports.models import SituationReport
from backend.reports.scheduler import default_period
from backend.reports.service import (
    ReportConflictError,
    create_draft,
    edit,
    get,
    list_reports,
    record_download,
    sign,
    to_public,
    to_summary,
)
from backend.runtime import Runtime
from schemas.enums import Role
from schemas.errors import problem_responses
from schemas.reports import (
    ReportDraftRequest,
    ReportEdit,
    ReportKind,
    ReportPublic,
    ReportSign,
    ReportsPublic,
    ReportStatus,
)

router = APIRouter(
    prefix="/api/v1", tags=["reports"], responses=problem_responses(400, 401, 403, 404, 409, 422)
)
Operator = Annotated[Principal, require_role(Role.OPERATOR)]
Commander = Annotated[Principal, require_role(Role.COMMANDER)]


def _not_found() -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND, detail={"field": "id", "reason": "no such report"}
    )


def _conflict(err: ReportConflictError) -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT, detail={"field": err.field, "reason": err.reason}
    )


def _load(session: Session, principal: Principal, report_id: int) -> SituationReport:
    r = get(session=session, report_id=report_id)
    if r is None or not contains(principal.area_code, r.area_code):
        raise _not_found()
    return r


@router.get("/reports", response_model=ReportsPublic)
def read_reports(
    principal: ReaderDep,
    session: SessionDep,
    area: str | None = None,
    kind: ReportKind | None = None,
    state: Annotated[ReportStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ReportsPublic:
    """Reports in your area, newest period first."""
    scope = scoped_area(principal.area_code, area)
    rows = list_reports(session=session, area_code=scope, kind=kind, status=state, limit=limit)
    return ReportsPublic(data=[to_summary(r) for r in rows], count=len(rows))


@router.post("/reports", response_model=ReportPublic, status_code=status.HTTP_201_CREATED)
async def draft_now(
    body: ReportDraftRequest, principal: Operator, session: SessionDep, rt: RuntimeDep
) -> ReportPublic:
    """Draft a report now (operator): the area's kabupaten, for a period (default: see docs)."""
    area = scoped_area(principal.area_code, body.area)
    if area is None or len(area) != 5:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail={"field": "area", "reason": "a report is of one kabupaten: give its code"},
        )
    now = rt.clock.now()
    start, end = default_period(body.kind, now, rt.settings.report_every_min)
    start = body.period_start or start
    end = body.period_end or end
    if end <= start:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail={"field": "period_end", "reason": "the period must end after it starts"},
        )
    if end - start > timedelta(days=31):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail={"field": "period_start", "reason": "a period is at most 31 days"},
        )

    def work() -> SituationReport:
        return create_draft(
            session=session,
            area=area,
            kind=body.kind,
            period_start=start,
            period_end=end,
            now=now,
            settings=rt.settings,
            actor=actor_of(principal),
            listening_since=rt.started_at,
        )

    return await _act(work)


# The documents come before /reports/{id}: "/reports/5.pdf" must not be read as id "5.pdf".
@router.get(
    "/reports/{report_id}.html",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}}},
)
def read_html(
    report_id: RowId, principal: ReaderDep, session: SessionDep, rt: RuntimeDep
) -> Response:
    """The report as a printable page (Bahasa Indonesia)."""
    page = render.html(_load(session, principal, report_id), rt.settings)
    return Response(page, media_type="text/html; charset=utf-8")


@router.get(
    "/reports/{report_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **problem_responses(503)},
)
async def read_pdf(
    report_id: RowId, principal: ReaderDep, session: SessionDep, rt: RuntimeDep
) -> Response:
    """The report as PDF, printed by headless Chromium."""
    r = await asyncio.to_thread(_load, session, principal, report_id)
    page = render.html(r, rt.settings)
    try:
        data = await asyncio.to_thread(render.pdf, page, rt.settings)
    except render.PdfError as err:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail={"field": "pdf", "reason": str(err)}
        ) from None
    name = f"laporan-situasi-{r.area_code}-{r.id}-v{r.version}.pdf"
    await asyncio.to_thread(_downloaded, session, principal, r, "pdf", rt)
    return Response(
        data,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="{name}"'},
    )


@router.get(
    "/reports/{report_id}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def read_csv(
    report_id: RowId, principal: ReaderDep, session: SessionDep, rt: RuntimeDep
) -> Response:
    """The report's tables as CSV, one value per line."""
    r = _load(session, principal, report_id)
    _downloaded(session, principal, r, "csv", rt)
    name = f"laporan-situasi-{r.area_code}-{r.id}-v{r.version}.csv"
    return Response(
        render.csv_text(r),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _downloaded(
    session: Session, principal: Principal, r: SituationReport, fmt: str, rt: Runtime
) -> None:
    actor = actor_of(principal)
    record_download(session=session, report=r, actor=actor, fmt=fmt, now=rt.clock.now())


@router.get("/reports/{report_id}", response_model=ReportPublic)
def read_report(report_id: RowId, principal: ReaderDep, session: SessionDep) -> ReportPublic:
    """One report with its content."""
    return to_public(_load(session, principal, report_id))


@router.patch("/reports/{report_id}", response_model=ReportPublic)
async def edit_report(
    report_id: RowId, body: ReportEdit, principal: Commander, session: SessionDep, rt: RuntimeDep
) -> ReportPublic:
    """Change a draft's remarks and plan for the next period (commander); 409 once signed."""

    def work() -> SituationReport:
        _load(session, principal, report_id)
        return edit(
            session=session,
            report_id=report_id,
            remarks=body.remarks,
            plan_next=body.plan_next,
            now=rt.clock.now(),
            actor=actor_of(principal),
            expected_row_version=body.row_version,
        )

    return await _act(work)


@router.post("/reports/{report_id}/sign", response_model=ReportPublic)
async def sign_report(
    report_id: RowId, body: ReportSign, principal: Commander, session: SessionDep, rt: RuntimeDep
) -> ReportPublic:
    """Sign a draft (commander): frozen from now on, audited, sent to the Polda."""

    def work() -> SituationReport:
        _load(session, principal, report_id)
        return sign(
            session=session,
            report_id=report_id,
            name=body.name,
            rank=body.rank,
            nrp=body.nrp,
            now=rt.clock.now(),
            actor=actor_of(principal),
            settings=rt.settings,
            expected_row_version=body.row_version,
        )

    public = await _act(work)
    wake_senders(rt)
    return public


@router.post(
    "/reports/{report_id}/revise", response_model=ReportPublic, status_code=status.HTTP_201_CREATED
)
async def revise_report(
    report_id: RowId, principal: Commander, session: SessionDep, rt: RuntimeDep
) -> ReportPublic:
    """Draft the next version of a signed report (commander), from the facts as they are now."""

    def work() -> SituationReport:
        r = _load(session, principal, report_id)
        if r.status is not ReportStatus.SIGNED:
            raise ReportConflictError("status", "a draft is edited, not revised")
        return create_draft(
            session=session,
            area=r.area_code,
            kind=r.kind,
            period_start=r.period_start,
            period_end=r.period_end,
            now=rt.clock.now(),
            settings=rt.settings,
            actor=actor_of(principal),
            listening_since=rt.started_at,
        )

    return await _act(work)


def wake_senders(rt: Runtime) -> None:
    """Look at the outboxes now: a signed report is waiting in them."""
    if rt.outbox is not None:
        rt.outbox.wake()
    if rt.channel_outbox is not None:
        rt.channel_outbox.wake()


async def _act(work: Callable[[], SituationReport]) -> ReportPublic:
    """Commit off the event loop (a row lock must not stall intake); conflicts are 409s."""
    try:
        return await asyncio.to_thread(lambda: to_public(work()))
    except ReportConflictError as err:
        raise _conflict(err) from None
