"""FastAPI dependencies: the runtime, a database session, and who is calling."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from sqlmodel import Session
from starlette.requests import HTTPConnection

from backend.areas import AreaError, is_area_code, narrow
from backend.auth.service import AuthError, Principal
from backend.intake.service import AuthFailureRecord
from backend.intake.validate import printable
from backend.metrics import METRICS
from backend.runtime import Runtime
from schemas.enums import CredentialKind, Role

SESSION_COOKIE = "posko_token"
# A browser cannot set headers on a websocket: the phone app offers its device token as the
# subprotocol `posko.bearer.<token>` beside `posko.v1`, and the field socket selects `posko.v1`
# (selecting the other would echo the token back in a response header).
FIELD_SUBPROTOCOL = "posko.v1"
BEARER_SUBPROTOCOL = "posko.bearer."

# Row ids as path parameters: within a 64-bit integer, so a fuzzed id is a 422, not a 500.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="row id")]


async def get_runtime(conn: HTTPConnection) -> Runtime:
    """The running server's parts."""
    # async: a plain def dependency is run on a worker thread, a hop per request for a lookup.
    rt: Runtime = conn.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(rt: RuntimeDep) -> Iterator[Session]:
    """A database session for one request."""
    with Session(rt.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def subprotocol_token(conn: HTTPConnection) -> str | None:
    """The token a websocket client offered as the subprotocol `posko.bearer.<token>`, if any."""
    for offered in conn.scope.get("subprotocols") or ():
        if offered.startswith(BEARER_SUBPROTOCOL):
            return str(offered[len(BEARER_SUBPROTOCOL) :])
    return None


def token_from(
    conn: HTTPConnection, *, allow_query: bool, allow_subprotocol: bool = False
) -> str | None:
    """The credential: Bearer header, `posko.bearer.` subprotocol if allowed, cookie, ?token=."""
    auth = conn.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None
    if allow_subprotocol and (offered := subprotocol_token(conn)) is not None:
        return offered
    cookie = conn.cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie
    return conn.query_params.get("token") if allow_query else None


def remote_of(conn: HTTPConnection) -> str | None:
    """The peer address."""
    return conn.client.host if conn.client else None


async def read_capped(request: Request, limit: int) -> tuple[bytes, int]:
    """Read at most `limit` + 1 bytes of the body; return them and the size seen."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        # Never more than the limit + 1 bytes kept, whatever the size of the chunks.
        chunks.append(chunk[: limit + 1 - size] if size + len(chunk) > limit else chunk)
        size += len(chunk)
        if size > limit:
            break  # an oversize body is not buffered: its start and size are kept, not all of it
    return b"".join(chunks), size


def record_refusal(rt: Runtime, conn: HTTPConnection, err: AuthError) -> None:
    """Keep a refused attempt (without waiting for the disk) and count it."""
    METRICS.auth_failures.labels(err.reason).inc()
    rt.writer.record_auth_failure(
        AuthFailureRecord(
            at=rt.clock.now(),
            remote=remote_of(conn),
            path=printable(conn.url.path),
            reason=printable(err.reason),
            prefix=printable(err.prefix) if err.prefix else None,
        )
    )


def authenticate(rt: Runtime, conn: HTTPConnection, *, allow_query: bool) -> Principal:
    """Resolve the caller or raise AuthError (recorded)."""
    try:
        return rt.resolver.resolve(token_from(conn, allow_query=allow_query), now=rt.clock.now())
    except AuthError as err:
        record_refusal(rt, conn, err)
        raise


async def authenticate_async(rt: Runtime, conn: HTTPConnection, *, allow_query: bool) -> Principal:
    """authenticate() for async endpoints: a cache miss reads the database off the event loop."""
    try:
        return await rt.resolver.resolve_async(
            token_from(conn, allow_query=allow_query), now=rt.clock.now()
        )
    except AuthError as err:
        record_refusal(rt, conn, err)
        raise


def _unauthorized(err: AuthError) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail={"field": "authorization", "reason": err.reason},
        headers={"WWW-Authenticate": "Bearer"},
    )


def current_principal(request: Request, rt: RuntimeDep) -> Principal:
    """Any valid credential."""
    try:
        return authenticate(rt, request, allow_query=False)
    except AuthError as err:
        raise _unauthorized(err) from None


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_reader(principal: PrincipalDep) -> Principal:
    """A credential that may read state (people, systems, kiosks; not devices)."""
    if not principal.can_read:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={"field": "authorization", "reason": "this credential cannot read state"},
        )
    if principal.area_code is not None and not is_area_code(principal.area_code):
        # A malformed area would scope by prefix ("1" covering "16", "17" ...): see nothing.
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={"field": "area", "reason": "this credential's area is malformed"},
        )
    return principal


ReaderDep = Annotated[Principal, Depends(require_reader)]


def require_device(principal: PrincipalDep) -> Principal:
    """An officer's device credential (the phone); people, systems and kiosks are refused."""
    if principal.kind is not CredentialKind.DEVICE or principal.officer_id is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={"field": "authorization", "reason": "needs an officer's device credential"},
        )
    return principal


CurrentDevice = Annotated[Principal, Depends(require_device)]


def scoped_area(principal_area: str | None, wanted: str | None) -> str | None:
    """Narrow to `wanted` if it lies inside the caller's area; refuse anything outside."""
    try:
        return narrow(principal_area, wanted)
    except AreaError as err:
        raise HTTPException(err.status, detail={"field": "area", "reason": err.reason}) from None


def require_role(role: Role) -> Depends:  # type: ignore[valid-type]
    """Dependency factory: the caller must hold `role` or higher."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.kind is CredentialKind.KIOSK or not principal.has_role(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail={"field": "authorization", "reason": f"needs role {role.value}"},
            )
        return principal

    return Depends(check)
