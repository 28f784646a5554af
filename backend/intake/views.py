"""Field intake: the device websocket and the webhooks, both acking only after commit."""

import hmac
import logging
import time
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request, Response, status

from backend.auth.service import (
    KEY_ID_HEADER,
    MAX_KEY_ID,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AuthError,
    Principal,
    hmac_secret,
    parse_signed_headers,
)
from backend.deps import RuntimeDep, authenticate, record_refusal, remote_of
from backend.intake.validate import Rejected
from backend.intake.writer import StorageUnavailable
from backend.runtime import Runtime
from schemas.enums import CredentialKind
from schemas.events import Ack

log = logging.getLogger("posko.intake")
router = APIRouter()

Kind = Literal["ping", "incident"]


async def _device_for_webhook(request: Request, rt: Runtime, body: bytes) -> Principal:
    """Bearer device token, or an HMAC signature over timestamp and body."""
    key_id = request.headers.get(KEY_ID_HEADER)
    if key_id is None or request.headers.get("authorization"):
        principal = authenticate(rt, request, allow_query=False)
    else:
        principal = _verify_hmac(request, rt, key_id, body)
    if principal.kind is not CredentialKind.DEVICE:
        err = AuthError("not a device credential", principal.name[:12])
        record_refusal(rt, request, err)
        raise err
    return principal


def _verify_hmac(request: Request, rt: Runtime, key_id: str, body: bytes) -> Principal:
    def refuse(err: AuthError) -> AuthError:
        err.prefix = f"key {key_id}"[:12]
        record_refusal(rt, request, err)
        return err

    try:
        signed = parse_signed_headers(
            key_id,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
        )
    except AuthError as err:
        raise refuse(err) from None
    # The replay window is real time: signers stamp with their real clocks, exercise or not.
    if abs(time.time() - signed.timestamp) > rt.settings.hmac_window_s:
        raise refuse(
            AuthError("signature timestamp outside the replay window", field=TIMESTAMP_HEADER)
        )
    try:
        principal, token_hash = rt.resolver.resolve_id(signed.key_id, now=rt.clock.now())
    except AuthError as err:
        raise refuse(AuthError(err.reason, field=KEY_ID_HEADER)) from None
    secret = hmac_secret(rt.settings.secret_key, principal.credential_id, token_hash)
    mac = hmac.new(secret.encode(), signed.stamp.encode() + b"." + body, "sha256")
    expected = mac.hexdigest()
    if not hmac.compare_digest("sha256=" + expected, signed.signature):
        raise refuse(AuthError("bad signature", field=SIGNATURE_HEADER))
    if not rt.replay.first_time(signed.signature, rt.settings.hmac_window_s * 2):
        raise refuse(AuthError("replayed signature", field=SIGNATURE_HEADER))
    return principal


def _status_for(acks: list[dict[str, Any]], single: bool) -> int:
    rejected = sum(1 for a in acks if a["result"] == "rejected")
    if rejected == 0:
        return status.HTTP_200_OK
    if single or rejected == len(acks):
        return status.HTTP_422_UNPROCESSABLE_CONTENT
    return status.HTTP_207_MULTI_STATUS


async def _read_capped(request: Request, limit: int) -> tuple[bytes, int]:
    """Read at most `limit` + 1 bytes of the body; return them and the size seen."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        chunks.append(chunk)
        if size > limit:
            break  # an oversize body is not buffered: its start and size are kept, not all of it
    return b"".join(chunks)[: limit + 1], size


async def _webhook(request: Request, rt: Runtime, only: Kind | None) -> Response:
    limit = rt.settings.max_frame_bytes
    body, size = await _read_capped(request, limit)
    if size > limit and request.headers.get(KEY_ID_HEADER) is not None:
        # A signature over a body we refuse to read cannot be checked: nothing is stored.
        record_refusal(rt, request, AuthError("signed body too large to verify"))
        return _json(
            {"detail": {"field": "body", "reason": f"larger than the limit of {limit} bytes"}},
            status.HTTP_413_CONTENT_TOO_LARGE,
        )
    try:
        principal = await _device_for_webhook(request, rt, body)
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


# Declared so that readers know them and schemathesis fuzzes them (tests/faults): the values
# that once answered 500 ("²", 2^63, thousands of digits) are exactly what its boundaries try.
_SIGNED_HEADERS: list[dict[str, Any]] = [
    {
        "name": KEY_ID_HEADER,
        "in": "header",
        "required": False,
        "description": "HMAC instead of a bearer token: the device credential's id",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_KEY_ID},
    },
    {
        "name": TIMESTAMP_HEADER,
        "in": "header",
        "required": False,
        "description": "Unix seconds (real time) when signed; refused outside the replay window",
        "schema": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999},
    },
    {
        "name": SIGNATURE_HEADER,
        "in": "header",
        "required": False,
        "description": 'sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">',
        "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"},
    },
]


def _body_schema(model: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model}"}
    return {
        "parameters": [dict(p) for p in _SIGNED_HEADERS],  # a copy per operation
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
    "/api/v1/events",
    tags=["intake"],
    summary="Send pings and incidents mixed (one or a batch)",
    openapi_extra=_body_schema("FieldEvent"),
    responses=_ACK_RESPONSES,
)
async def post_events(request: Request, rt: RuntimeDep) -> Response:
    """Store any field events; answer with the ack(s) after commit."""
    return await _webhook(request, rt, None)
