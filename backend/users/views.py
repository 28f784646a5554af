"""Sign-in, sessions, users, device tokens and kiosk links.

POST /api/v1/auth/login takes JSON or a urlencoded form and answers with the HttpOnly cookie
`posko_token` holding a session credential that expires after one shift. Administration is for
the admin role and cut to the admin's area (backend/authority.py): users, credentials and kiosk
links of other areas are left out of lists and answer 404; every change is in the audit chain.
"""

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError

from backend.audit.service import actor_of
from backend.auth.revocation import announce
from backend.auth.service import AuthError, Principal
from backend.authority import Authority, GrantError
from backend.browser import set_session_cookie
from backend.deps import (
    SESSION_COOKIE,
    PrincipalDep,
    RowId,
    RuntimeDep,
    SessionDep,
    record_refusal,
    remote_of,
    require_role,
)
from backend.users.service import (
    LoginRefusedError,
    UserError,
    create,
    device_hmac,
    issue_credential,
    list_credentials,
    list_users,
    login,
    logout,
    revoke_credential,
    to_public,
    unlock,
    update_user,
)
from schemas.enums import CredentialKind, Role
from schemas.errors import problem_responses
from schemas.ops import (
    CredentialsPublic,
    DeviceTokenCreate,
    IssuedCredential,
    KioskLink,
    KioskLinkCreate,
    LoginIn,
    SessionPublic,
    UserCreate,
    UserPublic,
    UsersPublic,
    UserUpdate,
    WhoAmI,
)
from schemas.paths import local_path

router = APIRouter(
    prefix="/api/v1", tags=["people"], responses=problem_responses(400, 401, 403, 404, 409)
)
Admin = Annotated[Principal, require_role(Role.ADMIN)]
# A password check is ~0.2 s of argon2 on purpose. Never on the event loop (it would hold every
# field socket that long), and on one thread only: a storm of wrong passwords queues here and
# takes at most one core, never intake's.
_PASSWORD_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posko-password")


def _error(code: int, field: str, reason: str) -> HTTPException:
    return HTTPException(code, detail={"field": field, "reason": reason})


def _refused(err: UserError | GrantError) -> HTTPException:
    return _error(err.status, err.field, err.reason)


def _safe_next(target: str | None) -> str | None:
    # Only a page of this server: `/\host`, `/%5Chost`, ` //host` ... are other sites.
    return local_path(target)


@router.post(
    "/auth/login",
    response_model=SessionPublic,
    responses=problem_responses(401, 422, 429),
)
async def sign_in(request: Request, rt: RuntimeDep, session: SessionDep) -> Response:
    """Sign in with username and password (JSON, or a form with an optional `next` path)."""
    body = await request.body()
    is_form = request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    )
    raw: Any
    try:
        raw = dict(parse_qsl(body.decode())) if is_form else orjson.loads(body or b"{}")
        creds = LoginIn.model_validate(raw)
    except (ValidationError, orjson.JSONDecodeError, UnicodeDecodeError):
        raise _error(422, "body", "give username and password") from None
    remote = remote_of(request)
    wait_s = rt.login_throttle.retry_after(remote)
    if wait_s is not None:
        # Refused before hashing, so a storm costs no CPU; kept like any refused credential,
        # without an audit-chain row per guess.
        reason = f"too many failed sign-ins from this address; try again in {wait_s} s"
        record_refusal(rt, request, AuthError(reason, creds.username[:12]))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail={"field": "address", "reason": reason},
            headers={"Retry-After": str(wait_s)},
        )
    # Counted before the check and taken back on success: parallel guesses waiting for the
    # password thread cannot all slip past the limit.
    rt.login_throttle.failed(remote)
    try:
        signed = await asyncio.get_running_loop().run_in_executor(
            _PASSWORD_POOL,
            functools.partial(
                login,
                session=session,
                username=creds.username,
                password=creds.password,
                now=rt.clock.now(),
                settings=rt.settings,
                remote=remote,
            ),
        )
    except LoginRefusedError as err:
        if err.retry_after_s is not None:
            record_refusal(rt, request, AuthError(err.reason, creds.username[:12]))
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                detail={"field": "username", "reason": err.reason},
                headers={"Retry-After": str(err.retry_after_s)},
            ) from None
        raise _error(401, "password", err.reason) from None
    rt.login_throttle.forgive(remote)
    user, cred = signed.user, signed.credential
    assert cred.expires_at is not None
    public = SessionPublic(
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        area_code=user.area_code,
        expires_at=cred.expires_at,
    )
    target = _safe_next(raw.get("next")) if is_form and isinstance(raw, dict) else None
    response: Response
    if target is not None:
        response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    else:
        response = JSONResponse(public.model_dump(mode="json"))
    set_session_cookie(
        response,
        signed.token,
        max_age=int(rt.settings.session_hours * 3600),
        conn=request,
        settings=rt.settings,
    )
    return response


@router.post("/auth/logout", status_code=204)
def sign_out(principal: PrincipalDep, rt: RuntimeDep, session: SessionDep) -> Response:
    """End this session (its credential is revoked) and drop the cookie."""
    if principal.kind is CredentialKind.SESSION:
        logout(
            session=session,
            credential_id=principal.credential_id,
            actor=actor_of(principal),
            now=rt.clock.now(),
        )
        announce(rt.hub, rt.resolver, [principal.credential_id])
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/auth/me", response_model=WhoAmI)
def who_am_i(principal: PrincipalDep) -> WhoAmI:
    """Who the server thinks you are (the dashboard shows or hides actions by role)."""
    return WhoAmI(
        kind=principal.kind,
        name=principal.name,
        role=principal.role,
        area_code=principal.area_code,
        username=principal.name if principal.kind is CredentialKind.SESSION else None,
        can_read=principal.can_read,
    )


@router.get("/users", response_model=UsersPublic)
def read_users(principal: Admin, session: SessionDep) -> UsersPublic:
    """The users of your area (admin)."""
    data = list_users(session=session, authority=Authority.of(principal))
    return UsersPublic(data=data, count=len(data))


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(
    body: UserCreate, principal: Admin, session: SessionDep, rt: RuntimeDep
) -> UserPublic:
    """Add a user in your area (your own if none is given), at most your role (admin)."""
    try:
        user = create(
            session=session,
            data=body,
            now=rt.clock.now(),
            actor=actor_of(principal),
            settings=rt.settings,
            authority=Authority.of(principal),
        )
    except (UserError, GrantError) as err:
        raise _refused(err) from None
    return to_public(user)


@router.patch("/users/{user_id}", response_model=UserPublic)
def change_user(
    user_id: RowId, body: UserUpdate, principal: Admin, session: SessionDep, rt: RuntimeDep
) -> UserPublic:
    """Change or disable a user of your area; role, area or password changes end their sessions."""
    try:
        user, ended = update_user(
            session=session,
            user_id=user_id,
            data=body,
            now=rt.clock.now(),
            actor=actor_of(principal),
            settings=rt.settings,
            authority=Authority.of(principal),
        )
    except (UserError, GrantError) as err:
        raise _refused(err) from None
    announce(rt.hub, rt.resolver, ended)
    return to_public(user)


@router.post("/users/{user_id}/unlock", response_model=UserPublic)
def unlock_user(
    user_id: RowId, principal: Admin, session: SessionDep, rt: RuntimeDep
) -> UserPublic:
    """Let a user of your area sign in again at once after too many wrong passwords (admin)."""
    try:
        user = unlock(
            session=session,
            user_id=user_id,
            now=rt.clock.now(),
            actor=actor_of(principal),
            authority=Authority.of(principal),
        )
    except UserError as err:
        raise _refused(err) from None
    return to_public(user)


@router.get("/credentials", response_model=CredentialsPublic)
def read_credentials(
    principal: Admin,
    session: SessionDep,
    kind: CredentialKind | None = None,
    include_revoked: bool = False,
) -> CredentialsPublic:
    """Credentials of your area, without their secrets (admin)."""
    data = list_credentials(
        session=session,
        authority=Authority.of(principal),
        kind=kind,
        include_revoked=include_revoked,
    )
    return CredentialsPublic(data=data, count=len(data))


@router.post("/device-tokens", response_model=IssuedCredential, status_code=201)
def issue_device_token(
    body: DeviceTokenCreate, principal: Admin, session: SessionDep, rt: RuntimeDep
) -> IssuedCredential:
    """Issue a device token for the phone of an officer of your area (token, HMAC secret once)."""
    try:
        cred, token, public = issue_credential(
            session=session,
            kind=CredentialKind.DEVICE,
            name=body.name or f"phone {body.nrp}",
            now=rt.clock.now(),
            actor=actor_of(principal),
            authority=Authority.of(principal),
            officer_nrp=body.nrp,
        )
    except (UserError, GrantError) as err:
        raise _refused(err) from None
    key_id, secret = device_hmac(rt.settings, cred)
    return IssuedCredential(credential=public, token=token, hmac_key_id=key_id, hmac_secret=secret)


@router.delete("/credentials/{credential_id}", response_model=CredentialsPublic)
def revoke_any(
    credential_id: RowId, principal: Admin, session: SessionDep, rt: RuntimeDep
) -> CredentialsPublic:
    """Revoke a credential of your area (admin); every server refuses it at once."""
    try:
        public = revoke_credential(
            session=session,
            credential_id=credential_id,
            now=rt.clock.now(),
            actor=actor_of(principal),
            authority=Authority.of(principal),
        )
    except UserError as err:
        raise _refused(err) from None
    announce(rt.hub, rt.resolver, [public.id])
    return CredentialsPublic(data=[public], count=1)


def _kiosk_url(request: Request, rt: RuntimeDep, token: str, target: str) -> str:
    base = (rt.settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/login?{urlencode({'token': token, 'next': target})}"


@router.post("/kiosk-links", response_model=KioskLink, status_code=201)
def issue_kiosk_link(
    body: KioskLinkCreate, request: Request, principal: Admin, session: SessionDep, rt: RuntimeDep
) -> KioskLink:
    """A watch-only wall credential of your area, or part of it, and its URL (shown once)."""
    try:
        _, token, public = issue_credential(
            session=session,
            kind=CredentialKind.KIOSK,
            name=body.name,
            now=rt.clock.now(),
            actor=actor_of(principal),
            authority=Authority.of(principal),
            area_code=body.area_code,
        )
    except (UserError, GrantError) as err:
        raise _refused(err) from None
    return KioskLink(credential=public, url=_kiosk_url(request, rt, token, body.next))


@router.get("/kiosk-links", response_model=CredentialsPublic)
def read_kiosk_links(principal: Admin, session: SessionDep) -> CredentialsPublic:
    """Kiosk credentials of your area that still work (admin)."""
    data = list_credentials(
        session=session, authority=Authority.of(principal), kind=CredentialKind.KIOSK
    )
    return CredentialsPublic(data=data, count=len(data))


@router.delete("/kiosk-links/{credential_id}", response_model=CredentialsPublic)
def revoke_kiosk_link(
    credential_id: RowId, principal: Admin, session: SessionDep, rt: RuntimeDep
) -> CredentialsPublic:
    """Revoke a kiosk link of your area: the wall drops to the sign-in page within seconds."""
    try:
        public = revoke_credential(
            session=session,
            credential_id=credential_id,
            now=rt.clock.now(),
            actor=actor_of(principal),
            authority=Authority.of(principal),
            kind=CredentialKind.KIOSK,
        )
    except UserError as err:
        raise _refused(err) from None
    announce(rt.hub, rt.resolver, [public.id])
    return CredentialsPublic(data=[public], count=1)
