"""Enrolment API: print links for officers' phones (commander, admin), and redeem one (the phone).

Making, listing and revoking are cut to the actor's area (backend/authority.py): officers, units
and links of other areas are absent. Redeeming needs no credential (the link is one); it is
throttled per address like sign-in, and every refused link is kept as an `auth_failure` row.
"""

import asyncio
import functools
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from backend.audit.service import actor_of
from backend.auth.revocation import announce
from backend.auth.service import AuthError, Principal
from backend.authority import Authority
from backend.deps import RowId, RuntimeDep, SessionDep, record_refusal, remote_of, require_role
from backend.enrolment import sheet
from backend.enrolment.service import (
    EnrolmentError,
    create_links,
    enrolment_url,
    list_links,
    redeem,
    revoke_link,
)
from schemas.enums import Role
from schemas.errors import problem_responses
from schemas.field import (
    EnrolmentCreate,
    EnrolmentLink,
    EnrolmentLinks,
    EnrolmentPublic,
    EnrolmentRedeem,
    EnrolmentsPublic,
    RedeemedEnrolment,
    RedeemProblemResponse,
)

router = APIRouter(prefix="/api/v1", tags=["enrolment"], responses=problem_responses(400, 401, 403))
Enroller = Annotated[Principal, require_role(Role.COMMANDER)]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
PREFIX_KEPT = 8  # of a refused code, in auth_failure: enough to recognise, useless to replay


def _refused(err: EnrolmentError) -> HTTPException:
    detail: dict[str, str] = {"field": err.field, "reason": err.reason}
    if err.code is not None:
        detail["code"] = err.code.value
    return HTTPException(err.status, detail=detail)


def _wants_html(page_format: str | None, accept: str | None) -> bool:
    if page_format is not None:
        return page_format == "html"
    accept = (accept or "").lower()
    return "text/html" in accept and "application/json" not in accept


@router.post(
    "/enrolments",
    status_code=201,
    response_model=EnrolmentLinks,
    responses={
        201: {
            "description": "the new links (shown only here), or the print-ready sheet",
            "content": {"text/html": {}},
        },
        **problem_responses(422),
    },
)
def create_enrolments(
    body: EnrolmentCreate,
    request: Request,
    principal: Enroller,
    session: SessionDep,
    rt: RuntimeDep,
    page_format: Annotated[
        Literal["json", "html"] | None,
        Query(
            alias="format",
            description="html: the print-ready A4 sheet (also for Accept: text/html)",
        ),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """One-time enrolment links for one Polsek, one NRP, or every officer of your area.

    Each officer's earlier links that still wait stop working. The links are shown only in
    this answer: their codes are never stored.
    """
    now = rt.clock.now()
    try:
        links = create_links(
            session=session,
            authority=Authority.of(principal),
            actor=actor_of(principal),
            now=now,
            hours=body.expires_hours or rt.settings.enrolment_hours,
            polsek=body.polsek,
            nrp=body.nrp,
            chat_secret=rt.settings.secret_key,
        )
    except EnrolmentError as err:
        raise _refused(err) from None
    base = rt.settings.public_url or str(request.base_url)
    cards = [
        EnrolmentLink(
            id=link.enrolment_id,
            officer=link.officer,
            url=enrolment_url(base, link.code),
            expires_at=link.expires_at,
            chat_code=link.chat_code,
        )
        for link in links
    ]
    if _wants_html(page_format, accept):
        page = sheet.render(
            [sheet.SheetCard(c.officer, c.url, c.expires_at, c.chat_code) for c in cards],
            made_at=now,
            title="Lembar pendaftaran HP petugas" + (f" — {body.polsek}" if body.polsek else ""),
        )
        # Never cached anywhere: the page is as secret as the links on it.
        return HTMLResponse(page, status_code=201, headers={"Cache-Control": "no-store"})
    result = EnrolmentLinks(data=cards, count=len(cards))
    return Response(
        result.model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/enrolments/redeem",
    response_model=RedeemedEnrolment,
    responses={
        404: {"description": "no such link (code: unknown)", "model": RedeemProblemResponse},
        410: {
            "description": "the link was used, has expired or was revoked (code says which)",
            "model": RedeemProblemResponse,
        },
        **problem_responses(422, 429),
    },
)
async def redeem_enrolment(
    body: EnrolmentRedeem, request: Request, rt: RuntimeDep, session: SessionDep
) -> RedeemedEnrolment:
    """Exchange a link's code for the officer's device credential: once, until it expires.

    Enrolling again revokes the officer's previous phone. No credential needed; an address that
    keeps sending refused links gets 429 with Retry-After.
    """
    remote = remote_of(request)
    kept = body.code[:PREFIX_KEPT]
    throttle = rt.redeem_throttle
    wait_s = throttle.retry_after(remote)
    if wait_s is not None:
        reason = f"too many refused enrolment links from this address; try again in {wait_s} s"
        record_refusal(rt, request, AuthError(reason, kept))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail={"field": "address", "reason": reason},
            headers={"Retry-After": str(wait_s)},
        )
    # Counted before the check and taken back on success, as for sign-in: parallel guesses
    # cannot all slip past the limit.
    throttle.failed(remote)
    try:
        done = await asyncio.to_thread(
            functools.partial(
                redeem, session=session, code=body.code, now=rt.clock.now(), remote=remote
            )
        )
    except EnrolmentError as err:
        code = err.code.value if err.code is not None else "refused"
        record_refusal(rt, request, AuthError(f"enrolment link {code}", kept))
        raise _refused(err) from None
    throttle.forgive(remote)
    # Every node forgets the phone's old credentials at once: refused at their next frame.
    announce(rt.hub, rt.resolver, done.revoked_credentials)
    assert done.credential.id is not None
    return RedeemedEnrolment(
        token=done.token, credential_id=done.credential.id, officer=done.officer
    )


@router.get("/enrolments", response_model=EnrolmentsPublic)
def read_enrolments(
    principal: Enroller,
    session: SessionDep,
    rt: RuntimeDep,
    polsek: Annotated[str | None, Query(max_length=40, pattern=PRINTABLE)] = None,
    nrp: Annotated[str | None, Query(max_length=18, pattern=PRINTABLE)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> EnrolmentsPublic:
    """Enrolment links of your area's officers with their state, newest first (never codes)."""
    data = list_links(
        session=session,
        authority=Authority.of(principal),
        now=rt.clock.now(),
        polsek=polsek,
        nrp=nrp,
        limit=limit,
    )
    return EnrolmentsPublic(data=data, count=len(data))


@router.delete(
    "/enrolments/{enrolment_id}",
    response_model=EnrolmentPublic,
    responses=problem_responses(404, 409),
)
def revoke_enrolment(
    enrolment_id: RowId, principal: Enroller, session: SessionDep, rt: RuntimeDep
) -> EnrolmentPublic:
    """Revoke a link of your area that was not used yet (a used one: revoke its device)."""
    try:
        return revoke_link(
            session=session,
            enrolment_id=enrolment_id,
            now=rt.clock.now(),
            actor=actor_of(principal),
            authority=Authority.of(principal),
        )
    except EnrolmentError as err:
        raise _refused(err) from None
