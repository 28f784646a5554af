"""WhatsApp Business Cloud API webhook: the subscription handshake and signed message deliveries.

Meta verifies the URL with a GET (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`:
echo the challenge), then POSTs batched `entry[].changes[].value` bodies signed with
`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`. Delivery is at least
once: a message is handled once by its id (`wamid…`). Delivery and read `statuses` arrive on the
same URL and are ignored. Non-2xx answers are retried by Meta and may disable the subscription,
so only a bad signature (401) or storage down (503) is not a 200.
"""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

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
from backend.channels.road import Inbound, clean_key
from backend.channels.service import normalize_phone
from backend.deps import RuntimeDep, remote_of
from backend.runtime import Runtime
from schemas.errors import ProblemResponse

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])
WINDOW = timedelta(hours=24)  # free-text replies are allowed this long after the user wrote
SIGNATURE_HEADER = "x-hub-signature-256"


def signature(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value of a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _time(raw: Any) -> datetime | None:
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) > 11:  # datetime ends in 9999
        return None
    return datetime.fromtimestamp(int(text), UTC)


def messages_of(data: dict[str, Any], rt: Runtime, remote: str | None) -> list[Inbound]:
    """The officer messages of a delivery, oldest first; statuses and other fields left out."""
    out: list[Inbound] = []
    country = rt.settings.phone_country_code
    for entry in _list(data.get("entry")):
        if not isinstance(entry, dict):
            continue
        for change in _list(entry.get("changes")):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field") != "messages":
                continue
            ignored = len(_list(value.get("statuses")))
            metrics.MESSAGES.labels("whatsapp", "ignored").inc(ignored)
            for m in _list(value.get("messages")):
                inbound = _inbound(m, country, remote, rt)
                if inbound is not None:
                    out.append(inbound)
    return sorted(out, key=lambda i: i.at)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _inbound(m: Any, country: str, remote: str | None, rt: Runtime) -> Inbound | None:
    key = clean_key(m.get("id")) if isinstance(m, dict) else None
    if key is None:
        return None
    sender = normalize_phone(str(m.get("from", "")), country)
    at = _time(m.get("timestamp")) or rt.clock.now()
    if sender is None:
        return None
    text: str | None = None
    lat = lon = None
    kind = m.get("type")
    if kind == "text" and isinstance(m.get("text"), dict):
        text = str(m["text"].get("body") or "")
    elif kind == "location" and isinstance(m.get("location"), dict):
        loc = m["location"]
        try:
            lat, lon = float(loc["latitude"]), float(loc["longitude"])
        except (KeyError, TypeError, ValueError):
            lat = lon = None
        if lat is not None and not (-90 <= lat <= 90 and -180 <= (lon or 0) <= 180):
            lat = lon = None
    elif kind == "button" and isinstance(m.get("button"), dict):
        text = str(m["button"].get("text") or "")
    else:
        text = ""  # an image, a sticker, a voice note: answered with the grammar's example
    return Inbound(
        channel="whatsapp",
        key=key,
        address=sender,
        reply_to=sender,
        at=at,
        text=text,
        lat=lat,
        lon=lon,
        window_until=at + WINDOW,
        remote=remote,
    )


@router.get(
    "/whatsapp",
    summary="WhatsApp webhook verification (Meta's subscription handshake)",
    responses={
        200: {"description": "the challenge, echoed", "content": {"text/plain": {}}},
        403: {"description": "wrong verify token or mode", "model": ProblemResponse},
        404: {"description": "WhatsApp is not configured", "model": ProblemResponse},
    },
)
def verify(
    rt: RuntimeDep,
    mode: Annotated[str | None, Query(alias="hub.mode", max_length=32)] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token", max_length=256)] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=256)] = None,
) -> Response:
    """Echo `hub.challenge` when the mode is subscribe and the verify token is ours."""
    expected = rt.settings.whatsapp_verify_token
    if expected is None:
        return problem("channel", "WhatsApp is not configured (POSKO_WHATSAPP_*)", 404)
    if mode != "subscribe" or not same_secret(token, expected.get_secret_value()):
        return problem("hub.verify_token", "wrong verify token or mode", 403)
    return Response(challenge or "", 200, media_type="text/plain")


@router.post(
    "/whatsapp",
    summary="WhatsApp Cloud API deliveries (messages; statuses ignored)",
    responses=webhook_responses("every message recorded (stored, answered, refused, duplicate …)"),
)
async def receive(request: Request, rt: RuntimeDep) -> Response:
    """Check the signature over the raw body, then handle each message once."""
    secret = rt.settings.whatsapp_app_secret
    if secret is None:
        return problem("channel", "WhatsApp is not configured (POSKO_WHATSAPP_*)", 404)
    body = await body_of(rt, request)
    if isinstance(body, Response):
        return body
    given = request.headers.get(SIGNATURE_HEADER)
    if given is None:
        return refuse(rt, request, SIGNATURE_HEADER, "missing signature")
    if not same_secret(given, signature(secret.get_secret_value(), body)):
        return refuse(rt, request, SIGNATURE_HEADER, "bad signature")
    data = json_of(body)
    if isinstance(data, Response):
        return data
    return await deliver(rt, messages_of(data, rt, remote_of(request)))
