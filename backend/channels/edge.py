"""What every channel's webhook does at its edge: read the body, refuse, answer the provider."""

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from fastapi import Request, Response, status

from backend.auth.service import AuthError
from backend.channels.road import Inbound, handle
from backend.deps import read_capped, record_refusal
from backend.intake.writer import StorageUnavailable, is_storage_fault
from backend.runtime import Runtime
from schemas.errors import ProblemResponse


def webhook_responses(ok: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI answers of a channel webhook: every status it may give, with its meaning."""
    return {
        200: {"description": ok},
        400: {"description": "not a JSON object", "model": ProblemResponse},
        401: {"description": "signature or secret missing, stale or wrong (kept)"},
        404: {"description": "this channel is not configured", "model": ProblemResponse},
        413: {"description": "body larger than the limit", "model": ProblemResponse},
        422: {"description": "a required field is missing", "model": ProblemResponse},
        503: {"description": "storage unavailable: the provider delivers again"},
    }


def problem(field: str, reason: str, code: int, headers: dict[str, str] | None = None) -> Response:
    """A 4xx/5xx answer naming the field at fault and why."""
    body = orjson.dumps({"detail": {"field": field, "reason": reason}})
    return Response(body, code, headers, media_type="application/json")


def same_secret(given: str | None, expected: str) -> bool:
    """Compare a presented secret with the configured one in constant time."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def refuse(rt: Runtime, request: Request, field: str, reason: str) -> Response:
    """A refused signature or secret: kept as an auth_failure row, answered 401."""
    record_refusal(rt, request, AuthError(reason, field=field))
    return problem(field, reason, status.HTTP_401_UNAUTHORIZED)


async def body_of(rt: Runtime, request: Request) -> bytes | Response:
    """The raw body (signatures are over its exact bytes), or a 413 past the frame limit."""
    limit = rt.settings.max_frame_bytes
    body, size = await read_capped(request, limit)
    if size > limit:
        return problem("body", f"larger than the limit of {limit} bytes", 413)
    return body


def json_of(body: bytes) -> dict[str, Any] | Response:
    """The body as a JSON object, or a 400 naming it."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return problem("body", f"not JSON: {exc}", status.HTTP_400_BAD_REQUEST)
    if not isinstance(data, dict):
        return problem("body", "expected a JSON object", status.HTTP_400_BAD_REQUEST)
    return data


async def deliver(
    rt: Runtime,
    inbounds: Sequence[Inbound],
    ok: Callable[[list[str]], Awaitable[Response] | Response] | None = None,
) -> Response:
    """Handle each message in order; 200 once all are recorded, 503 if storage failed."""
    results: list[str] = []
    try:
        for inbound in inbounds:
            results.append(await handle(rt, inbound))
    except Exception as exc:
        if not isinstance(exc, StorageUnavailable) and not is_storage_fault(exc):
            raise
        # Nothing of the failed message was recorded: the provider delivers it again, and the
        # messages before it are then found handled (duplicates, not answered twice).
        reason = str(exc) if isinstance(exc, StorageUnavailable) else "storage unavailable"
        return problem("storage", reason, 503, {"Retry-After": "5"})
    if ok is not None:
        answer = ok(results)
        return answer if isinstance(answer, Response) else await answer
    return Response(orjson.dumps({"results": results}), 200, media_type="application/json")
