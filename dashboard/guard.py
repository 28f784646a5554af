"""Keep the dashboard (pages, Dash's own endpoints, assets) behind a reading credential."""

import contextlib
from collections.abc import Callable
from urllib.parse import quote

import orjson
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.areas import AreaError, is_area_code, narrow
from backend.auth.service import AuthError
from backend.deps import authenticate
from backend.runtime import Runtime
from dashboard.components.national import national_href
from dashboard.i18n import lang_of
from schemas.areas import AREA_CODE_REASON

# Everything Dash serves that is not a page: its endpoints and the assets folder.
CALLBACK_PATH = "/_dash-update-component"
DASH_PREFIXES = ("/_dash-", "/assets/", "/_favicon.ico", "/_reload-hash")
MAP_PAGES = ("/", "/wall")  # pages that draw every TPS of their area


class DashboardGuard:
    """ASGI middleware: a browser without a reading credential is sent to /login.

    Pages redirect (the login page explains how to open the token link); Dash's endpoints
    answer 401 and its websocket closes with 1008, so no data ever leaves without a credential.
    The credential comes from the `posko_token` cookie (or a Bearer header, for tools).
    """

    def __init__(self, app: ASGIApp, *, page_paths: Callable[[], set[str]]) -> None:
        self.app = app
        self.page_paths = page_paths

    def _guarded(self, path: str) -> bool:
        return path.startswith(DASH_PREFIXES) or path in self.page_paths()

    @staticmethod
    def _rollup_instead(rt: Runtime, conn: HTTPConnection, own: str | None) -> str | None:
        """Where a map page on an area too big to draw goes instead (/nasional), or None.

        The count comes from the in-memory registry index: no database read on the loop.
        """
        if conn.scope["type"] != "http" or conn.scope["path"] not in MAP_PAGES:
            return None
        area = own
        with contextlib.suppress(AreaError):
            area = narrow(own, conn.query_params.get("area"))
        if rt.index.count_in_area(area) <= rt.settings.map_max_tps:
            return None
        return national_href(area, lang_of(conn.query_params.get("lang")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass readers and non-dashboard paths through; turn everyone else away."""
        if scope["type"] not in ("http", "websocket") or not self._guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        wanted = conn.query_params.getlist("area")  # every one: Dash reads a repeated one too
        if scope["type"] == "http" and any(a and not is_area_code(a) for a in wanted):
            # Refused, not quietly shown as the credential's own area: a "%%" or "16%" in a
            # bookmarked URL is a mistake to be told about, and must never reach a query.
            problem = {"detail": {"field": "area", "reason": AREA_CODE_REASON}}
            await Response(orjson.dumps(problem), 422, media_type="application/json")(
                scope, receive, send
            )
            return
        rt: Runtime = scope["app"].state.runtime
        reason = None
        principal = None
        try:
            # Resolution is a dictionary hit; a miss (every few seconds per token) is one
            # primary-key read, cheaper than a hop to a worker thread.
            principal = authenticate(rt, conn, allow_query=False)
            if not principal.can_read:
                reason = "this credential cannot read state"
            elif principal.area_code is not None and not is_area_code(principal.area_code):
                # Stored before areas were checked at issue: as the API does, see nothing.
                reason = "this credential's area is malformed"
        except AuthError as err:
            reason = err.reason
        if reason is None and principal is not None:
            to = self._rollup_instead(rt, conn, principal.area_code)
            if to is not None:
                await RedirectResponse(to, status_code=303)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": reason})
            return
        response: Response
        if scope["method"] == "GET" and not scope["path"].startswith(DASH_PREFIXES):
            target = scope["path"]
            if scope.get("query_string"):
                target += "?" + scope["query_string"].decode("latin-1")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        else:
            body = {"detail": {"field": "authorization", "reason": reason}}
            # A callback is refused with 403, not 401: Dash 4's renderer reads the body of a
            # 401 (or 400) callback answer twice, and a screen whose access just ended (its
            # polled callbacks still firing) threw "body stream already read" at every tick.
            status = 403 if scope["path"] == CALLBACK_PATH else 401
            response = Response(orjson.dumps(body), status, media_type="application/json")
        await response(scope, receive, send)
