"""Browser sign-out (the sign-in pages are in dashboard/plain.py, with the other HTML pages)."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from backend.audit.service import actor_of
from backend.auth.revocation import announce
from backend.auth.service import AuthError
from backend.deps import SESSION_COOKIE, RuntimeDep
from backend.users.service import logout as end_session
from schemas.enums import CredentialKind

router = APIRouter(tags=["auth"])


@router.post(
    "/logout",
    status_code=303,
    response_class=RedirectResponse,
    responses={303: {"description": "signed out, on to /login", "content": {}}},
)
def logout(request: Request, rt: RuntimeDep) -> Response:
    """Forget the browser's credential; a password login's session is also ended for good."""
    token = request.cookies.get(SESSION_COOKIE)
    try:
        principal = rt.resolver.resolve(token, now=rt.clock.now()) if token else None
    except AuthError:
        principal = None
    if principal is not None and principal.kind is CredentialKind.SESSION:
        with Session(rt.engine) as session:
            end_session(
                session=session,
                credential_id=principal.credential_id,
                actor=actor_of(principal),
                now=rt.clock.now(),
            )
        announce(rt.hub, rt.resolver, [principal.credential_id])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
