"""SMS through an Android gateway phone at the command post: SMSGate and SMSSync.

SMSGate (capcom6/android-sms-gateway) POSTs one `sms:received` event per webhook call, signed:
`X-Signature` = hex HMAC-SHA256(signing key, raw body + `X-Timestamp`), the timestamp in Unix
seconds. Its retries come from a persistent queue in `next_attempt` order, so a retried event may
arrive after newer ones, and one SMS was seen delivered twice with different event ids but the
same `payload.messageId` (android-sms-gateway#291): the event `id` is the dedupe key, as its
documentation says (`messageId` is a content hash, "not guaranteed unique": two identical SMS
sent minutes apart are two reports). Replies go through the gateway's API (`POST /message`).

SMSSync (ushahidi, unmaintained but still installed) POSTs a form: `from`, `message`,
`message_id`, `sent_timestamp` (milliseconds, whatever its docs say), `secret`. It counts a
message delivered only on `{"payload":{"success":true,"error":null}}`, and takes the replies to
send from that same answer (`"task":"send","messages":[…]`) or from `GET ?task=send`.
"""

import asyncio
import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Query, Request, Response

from backend.channels import metrics
from backend.channels.edge import (
    body_of,
    deliver,
    json_of,
    problem,
    refuse,
    same_secret,
    webhook_responses,
)
from backend.channels.outbox import take_for_smssync
from backend.channels.road import Inbound, clean_key
from backend.channels.service import normalize_phone
from backend.deps import RuntimeDep, remote_of
from backend.runtime import Runtime
from schemas.errors import ProblemResponse

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])
SIGNATURE_HEADER = "x-signature"
TIMESTAMP_HEADER = "x-timestamp"


def smsgate_signature(key: str, body: bytes, timestamp: str) -> str:
    """The X-Signature of an SMSGate webhook call."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def _iso(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _phone(rt: Runtime, raw: Any) -> str | None:
    return normalize_phone(raw, rt.settings.phone_country_code) if isinstance(raw, str) else None


@router.post(
    "/smsgate",
    summary="SMSGate (SMS Gateway for Android) webhook: sms:received",
    responses=webhook_responses("the SMS recorded (stored, answered, refused, duplicate …)"),
)
async def smsgate(request: Request, rt: RuntimeDep) -> Response:
    """Check the signature over body + timestamp, then handle the SMS once (by event id)."""
    key = rt.settings.smsgate_signing_key
    if key is None:
        return problem("channel", "SMSGate is not configured (POSKO_SMSGATE_*)", 404)
    body = await body_of(rt, request)
    if isinstance(body, Response):
        return body
    ts = request.headers.get(TIMESTAMP_HEADER)
    given = request.headers.get(SIGNATURE_HEADER)
    if ts is None or not (ts.isascii() and ts.isdigit()) or len(ts) > 12:
        return refuse(rt, request, TIMESTAMP_HEADER, "missing or not unix seconds")
    # Retries from the phone's queue are signed anew, so an old timestamp is a replay.
    if abs(time.time() - int(ts)) > rt.settings.hmac_window_s:
        return refuse(rt, request, TIMESTAMP_HEADER, "outside the allowed window")
    if not same_secret(given, smsgate_signature(key.get_secret_value(), body, ts)):
        return refuse(rt, request, SIGNATURE_HEADER, "missing or bad signature")
    data = json_of(body)
    if isinstance(data, Response):
        return data
    if data.get("event") != "sms:received":
        metrics.MESSAGES.labels("smsgate", "ignored").inc()
        return Response(b'{"results":["ignored"]}', 200, media_type="application/json")
    payload = data.get("payload")
    event_id = clean_key(data.get("id"))
    if event_id is None:
        return problem("id", "missing, or not 1-128 visible ASCII characters", 422)
    if not isinstance(payload, dict) or not isinstance(payload.get("message"), str):
        return problem("payload.message", "the SMS text is missing", 422)
    sender = _phone(rt, payload.get("phoneNumber")) or _phone(rt, payload.get("sender"))
    if sender is None:
        return problem("payload.phoneNumber", "not a phone number", 422)
    inbound = Inbound(
        channel="smsgate",
        key=event_id,
        address=sender,
        reply_to="+" + sender,
        at=_iso(payload.get("receivedAt")) or rt.clock.now(),
        text=payload["message"],
        remote=remote_of(request),
    )
    return await deliver(rt, [inbound])


async def _smssync_answer(rt: Runtime, with_replies: bool) -> Response:
    payload: dict[str, Any] = {"success": True, "error": None}
    if with_replies:
        taken = await asyncio.to_thread(take_for_smssync, engine=rt.engine, now=rt.clock.now())
        if taken:
            payload["task"] = "send"
            payload["secret"] = None
            payload["messages"] = [
                {"to": c.address, "message": c.text, "uuid": f"posko-{c.id}"} for c in taken
            ]
    return Response(orjson.dumps({"payload": payload}), 200, media_type="application/json")


@router.post(
    "/smssync",
    summary="SMSSync gateway: incoming SMS as a form post",
    responses=webhook_responses('SMSSync\'s {"payload":{"success":…}}, with replies to send'),
)
async def smssync(request: Request, rt: RuntimeDep) -> Response:
    """Check the shared secret, handle the SMS once (by message_id), answer with the replies."""
    secret = rt.settings.smssync_secret
    if secret is None:
        return problem("channel", "SMSSync is not configured (POSKO_SMSSYNC_SECRET)", 404)
    body = await body_of(rt, request)
    if isinstance(body, Response):
        return body
    if request.headers.get("content-type", "").startswith("application/json"):
        data = json_of(body)
        if isinstance(data, Response):
            return data
        form = {k: str(v) for k, v in data.items()}
    else:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if not same_secret(form.get("secret"), secret.get_secret_value()):
        return refuse(rt, request, "secret", "missing or wrong secret")
    sender = _phone(rt, form.get("from"))
    message_id = clean_key(form.get("message_id"))
    if sender is None or "message" not in form or message_id is None:
        field = "from" if sender is None else ("message" if "message" not in form else "message_id")
        return problem(field, "missing or not valid", 422)
    ts = form.get("sent_timestamp", "")
    at = None
    if ts.isascii() and ts.isdigit() and len(ts) <= 15:
        n = int(ts)
        seconds = n / 1000 if n > 10**11 else n  # ms as the app sends, or the docs' seconds
        at = datetime.fromtimestamp(seconds, UTC) if 0 < seconds < 2**33 else None
    inbound = Inbound(
        channel="smssync",
        key=message_id,
        address=sender,
        reply_to="+" + sender,
        at=at or rt.clock.now(),
        text=form["message"],
        remote=remote_of(request),
    )
    return await deliver(rt, [inbound], lambda _results: _smssync_answer(rt, True))


@router.get(
    "/smssync",
    summary="SMSSync polling for replies to send (?task=send)",
    responses={
        200: {"description": 'SMSSync\'s {"payload":{"success":…}}, with replies to send'},
        401: {"description": "missing or wrong secret", "model": ProblemResponse},
        404: {"description": "SMSSync is not configured", "model": ProblemResponse},
    },
)
async def smssync_tasks(
    rt: RuntimeDep,
    task: Annotated[str | None, Query(max_length=16)] = None,
    secret: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """Hand SMSSync the replies that wait (its secret in the query, as it sends it)."""
    expected = rt.settings.smssync_secret
    if expected is None:
        return problem("channel", "SMSSync is not configured (POSKO_SMSSYNC_SECRET)", 404)
    if not same_secret(secret, expected.get_secret_value()):
        return problem("secret", "missing or wrong secret", 401)
    return await _smssync_answer(rt, task == "send")
