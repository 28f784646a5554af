"""Field intake: the device websocket and the webhooks, both acking only after commit.

The webhooks are declared here as FastAPI routes (their OpenAPI documentation), but POSTs to
them are answered by WebhookRoute, an ASGI layer ahead of FastAPI's router: the same function
(_webhook), without the router, the dependency solver and its worker-thread hops. Measured
in-process on one ping per request, those cost more than the webhook's own work.
"""

import logging
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request, Response, status
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.auth.service import KEY_ID_HEADER, AuthError
from backend.auth.signed import device_for_body, signed_header_params
from backend.deps import RuntimeDep, read_capped, record_refusal, remote_of
from backend.intake.validate import Rejected
from backend.intake.writer import StorageUnavailable
from backend.runtime import Runtime
from schemas.events import Ack

log = logging.getLogger("posko.intake")
router = APIRouter()

Kind = Literal["ping", "incident", "custody"]


def _status_for(acks: list[dict[str, Any]], single: bool) -> int:
    rejected = sum(1 for a in acks if a["result"] == "rejected")
    if rejected == 0:
        return status.HTTP_200_OK
    if single or rejected == len(acks):
        return status.HTTP_422_UNPROCESSABLE_CONTENT
    return status.HTTP_207_MULTI_STATUS


async def _webhook(request: Request, rt: Runtime, only: Kind | None) -> Response:
    limit = rt.settings.max_frame_bytes
    body, size = await read_capped(request, limit)
    if size > limit and request.headers.get(KEY_ID_HEADER) is not None:
        # A signature over a body we refuse to read cannot be checked: nothing is stored.
        record_refusal(rt, request, AuthError("signed body too large to verify"))
        return _json(
            {"detail": {"field": "body", "reason": f"larger than the limit of {limit} bytes"}},
            status.HTTP_413_CONTENT_TOO_LARGE,
        )
    try:
        principal = await device_for_body(request, rt, body)
    except AuthError as err:
        return _json(
            {"detail": {"field": err.field, "reason": err.reason}},
            status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": "Bearer"},
        )
    assert principal.officer_id is not None
    items, single, frame_err = rt.checker.check_frame(
        body,
        officer_id=principal.officer_id,
        source="http",
        remote=remote_of(request),
        now=rt.clock.now(),
        only=only,
    )
    if size > limit and isinstance(items[0], Rejected):
        declared = request.headers.get("content-length", "")
        # ASCII digits, and few: "²".isdigit() is true and int() refuses it, as it does 5000 digits.
        plausible = declared.isascii() and declared.isdigit() and len(declared) <= 18
        items[0].size = max(size, int(declared) if plausible else 0)
    try:
        acks = await rt.writer.submit(items)
    except StorageUnavailable as exc:
        return _json(
            {"detail": {"field": "storage", "reason": str(exc)}},
            status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    if frame_err is not None:
        code = (
            status.HTTP_413_CONTENT_TOO_LARGE
            if frame_err.field == "frame"
            else status.HTTP_400_BAD_REQUEST
        )
        return _json(acks[0], code)
    return _json(acks[0] if single else acks, _status_for(acks, single))


def _json(content: Any, code: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), code, headers, media_type="application/json")


def _body_schema(model: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model}"}
    return {
        "parameters": signed_header_params(),
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"oneOf": [ref, {"type": "array", "items": ref, "maxItems": 1000}]}
                }
            },
        },
    }


_ACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "every event stored or duplicate", "model": Ack},
    207: {"description": "a batch with some events rejected: one ack per event"},
    400: {"description": "not JSON, or not an object/array (kept as a dead letter)"},
    401: {"description": "missing, wrong, revoked credential or bad/replayed signature"},
    413: {"description": "body larger than the limit"},
    422: {"description": "the event (or every event) rejected: field and reason in the ack"},
    503: {"description": "storage unavailable: nothing acknowledged, retry"},
}


@router.post(
    "/api/v1/pings",
    tags=["intake"],
    summary="Send status pings (one or a batch)",
    openapi_extra=_body_schema("PingIn"),
    responses=_ACK_RESPONSES,
)
async def post_pings(request: Request, rt: RuntimeDep) -> Response:
    """Store pings from a device; answer with the ack(s) after commit."""
    return await _webhook(request, rt, "ping")


@router.post(
    "/api/v1/incidents",
    tags=["intake"],
    summary="Send incident reports (one or a batch)",
    openapi_extra=_body_schema("IncidentIn"),
    responses=_ACK_RESPONSES,
)
async def post_incidents(request: Request, rt: RuntimeDep) -> Response:
    """Store incident reports from a device; answer with the ack(s) after commit."""
    return await _webhook(request, rt, "incident")


@router.post(
    "/api/v1/custody",
    tags=["intake"],
    summary="Send custody steps of ballot boxes (one or a batch)",
    openapi_extra=_body_schema("CustodyIn"),
    responses=_ACK_RESPONSES,
)
async def post_custody(request: Request, rt: RuntimeDep) -> Response:
    """Store custody steps from a device; answer with the ack(s) after commit."""
    return await _webhook(request, rt, "custody")


@router.post(
    "/api/v1/events",
    tags=["intake"],
    summary="Send pings and incidents mixed (one or a batch)",
    openapi_extra=_body_schema("FieldEvent"),
    responses=_ACK_RESPONSES,
)
async def post_events(request: Request, rt: RuntimeDep) -> Response:
    """Store any field events; answer with the ack(s) after commit."""
    return await _webhook(request, rt, None)


# POST path -> the kind of event it takes (None: any). Must match the routes above.
WEBHOOK_KINDS: dict[str, Kind | None] = {
    "/api/v1/pings": "ping",
    "/api/v1/incidents": "incident",
    "/api/v1/custody": "custody",
    "/api/v1/events": None,
}


class WebhookRoute:
    """ASGI middleware that answers POSTs to the webhooks before FastAPI's router."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            only = WEBHOOK_KINDS[scope["path"]]
        except KeyError:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await _webhook(request, scope["app"].state.runtime, only)
        except ClientDisconnect:
            # As the app's handler for it: nothing was acted on or acked, the phone resends.
            log.info("POST %s cut off by the client (%s)", scope["path"], remote_of(request))
            response = Response(status_code=400)
        await response(scope, receive, send)
