"""Device callers of plain HTTP endpoints: a Bearer device token, or an HMAC over the body.

The webhooks (backend/intake/views.py) and photo uploads (backend/photos/views.py) take either;
every refusal is kept as an `auth_failure` (backend.deps.record_refusal).
"""

import asyncio
import contextlib
import hmac
import time
from typing import Any

from fastapi import Request

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
from backend.deps import authenticate_async, record_refusal
from backend.runtime import Runtime
from schemas.enums import CredentialKind


async def device_for_body(request: Request, rt: Runtime, body: bytes) -> Principal:
    """Bearer device token, or an HMAC signature over timestamp and body."""
    key_id = request.headers.get(KEY_ID_HEADER)
    if key_id is None or request.headers.get("authorization"):
        principal = await authenticate_async(rt, request, allow_query=False)
    else:
        await _load_key_off_loop(rt, key_id)
        principal = _verify_hmac(request, rt, key_id, body)
    if principal.kind is not CredentialKind.DEVICE:
        err = AuthError("not a device credential", principal.name[:12])
        record_refusal(rt, request, err)
        raise err
    return principal


async def _load_key_off_loop(rt: Runtime, key_id: str) -> None:
    """Cache a key id's credential, read in a thread: _verify_hmac then reads no database."""
    if not (key_id.isascii() and key_id.isdigit() and len(key_id) <= 10):
        return  # _verify_hmac refuses it without the database
    cred_id = int(key_id)
    if not 1 <= cred_id <= MAX_KEY_ID or rt.resolver.cached_id(cred_id):
        return

    def load() -> None:
        with contextlib.suppress(AuthError):  # cached too; _verify_hmac refuses it
            rt.resolver.resolve_id(cred_id, now=rt.clock.now())

    await asyncio.to_thread(load)


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


# Declared so that readers know them and schemathesis fuzzes them (tests/faults): the values
# that once answered 500 ("²", 2^63, thousands of digits) are exactly what its boundaries try.
SIGNED_HEADERS: list[dict[str, Any]] = [
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


def signed_header_params() -> list[dict[str, Any]]:
    """The signature headers as OpenAPI parameters (a copy per operation)."""
    return [dict(p) for p in SIGNED_HEADERS]
