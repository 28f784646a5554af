"""What a browser may do with the sign-in cookie: same-origin writes only, and a cookie kept safe.

SameSite=Lax keeps the `posko_token` cookie off cross-site POSTs, but not off same-site ones: a
page on another port of this host, or on a sibling host (`peta.polres.example`), is the same
"site", and its plain form or websocket would carry the commander's cookie. So OriginGuard lets
through a state-changing request that the cookie authenticates, a websocket upgrade carrying
the cookie, and a sign-in only when they come from one of this server's own pages: `Origin`
says so (browsers send it on every cross-origin POST and on every websocket upgrade), else
`Referer`, else `Sec-Fetch-Site: same-origin`. A cookie request with none of them is refused; a
sign-in with none is a program's (scripts and tests sign in with JSON and no browser headers).

Callers with a Bearer header or an HMAC signature are programs acting for themselves: a page
cannot add those headers to someone else's browser request, so they are left alone.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.auth.service import AuthError
from backend.config import Settings
from backend.deps import SESSION_COOKIE, record_refusal, subprotocol_token

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Requests that set the cookie rather than use it: a sign-in by a cross-site form would put the
# victim's browser into the attacker's session (login CSRF).
SIGN_IN_PATHS = frozenset({"/api/v1/auth/login"})
HMAC_HEADER = "x-posko-key-id"
FIELD_PATH = "/ws/field"  # the one socket that reads a `posko.bearer.` subprotocol
DEFAULT_PORTS = {"http": 80, "https": 443}
WS_SCHEMES = {"ws": "http", "wss": "https"}
POLICY_VIOLATION = 1008


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) or ws(s) URL, normalised; None if it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = WS_SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
    host = parts.hostname  # lower-cased, IPv6 brackets removed
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def trusted_origins(settings: Settings) -> frozenset[str]:
    """Origins besides the request's own: the public URL and POSKO_TRUSTED_ORIGINS."""
    urls = [settings.public_url, *settings.trusted_origins]
    return frozenset(o for u in urls if u and (o := origin_of(u)) is not None)


def own_origin(scope: Scope, headers: Headers) -> str | None:
    """This server's origin as the request reached it: its scheme and its Host header.

    The scheme is uvicorn's, which honours X-Forwarded-Proto only from --forwarded-allow-ips.
    """
    host = headers.get("host")
    return origin_of(f"{scope.get('scheme', 'http')}://{host}") if host else None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a browser request was refused: a fixed reason (kept, counted) and the details."""

    reason: str
    detail: str


def cross_origin_refusal(
    headers: Headers, allowed: frozenset[str], *, proof_needed: bool
) -> Refusal | None:
    """None if the request comes from an allowed origin (or, without proof_needed, says nothing)."""
    origin = headers.get("origin")
    if origin is not None and origin != "null":
        if origin_of(origin) in allowed:
            return None
        return Refusal("request from another origin", f"from {origin[:100]}")
    referer = headers.get("referer")
    if referer:
        page = origin_of(referer)
        if page in allowed:
            return None
        return Refusal("request from another origin", f"from a page of {page}")
    # Set by the browser itself, never by a page: the fallback when a strict referrer policy
    # leaves a same-origin request with `Origin: null` and no Referer.
    if headers.get("sec-fetch-site") == "same-origin":
        return None
    if origin == "null":
        return Refusal("request from an opaque origin", "from an opaque origin (null)")
    if proof_needed:
        return Refusal("request without Origin or Referer", "without Origin or Referer")
    return None


class OriginGuard:
    """ASGI middleware: cookie-authenticated writes, websockets and sign-ins from our own pages."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.trusted = trusted_origins(settings)

    def _refusal(self, scope: Scope) -> Refusal | None:
        headers = Headers(scope=scope)
        if "authorization" in headers or HMAC_HEADER in headers:
            return None  # a program's own credential, which token_from prefers to the cookie
        if scope["path"] == FIELD_PATH and subprotocol_token(HTTPConnection(scope)) is not None:
            return None  # the phone app's device token, which the field socket prefers too
        sign_in = scope["type"] == "http" and scope["path"] in SIGN_IN_PATHS
        if not sign_in and SESSION_COOKIE not in cookie_parser(headers.get("cookie", "")):
            return None
        own = own_origin(scope, headers)
        allowed = self.trusted | {own} if own else self.trusted
        return cross_origin_refusal(headers, allowed, proof_needed=not sign_in)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a cross-origin request that the cookie would authenticate; pass the rest."""
        checked = scope["type"] == "websocket" or (
            scope["type"] == "http" and scope["method"] in UNSAFE_METHODS
        )
        refusal = self._refusal(scope) if checked else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        record_refusal(scope["app"].state.runtime, conn, AuthError(refusal.reason))
        text = (
            f"{refusal.reason} ({refusal.detail}): only this server's own pages may use its "
            "sign-in cookie; behind a proxy, set POSKO_PUBLIC_URL"
        )
        if scope["type"] == "websocket":
            await _refuse_socket(receive, send, text, refusal.reason)
            return
        body = {"detail": {"field": "origin", "reason": text}}
        await Response(orjson.dumps(body), 403, media_type="application/json")(scope, receive, send)


async def _refuse_socket(receive: Receive, send: Send, text: str, reason: str) -> None:
    # Accepted only to say why (a browser shows nothing of a refused handshake), then closed.
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    frame = {"type": "error", "error": {"field": "origin", "reason": text}}
    await send({"type": "websocket.send", "text": orjson.dumps(frame).decode()})
    await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": reason})


def set_session_cookie(
    response: Response, token: str, *, max_age: int, conn: HTTPConnection, settings: Settings
) -> None:
    """Put the credential in the HttpOnly cookie; Secure whenever people reach us over HTTPS.

    Behind a TLS-terminating proxy the request itself is plain HTTP, so the public URL decides.
    """
    secure = conn.url.scheme in ("https", "wss") or (settings.public_url or "").lower().startswith(
        "https://"
    )
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
