"""Telegram bot: the webhook (X-Telegram-Bot-Api-Secret-Token) and long polling (getUpdates).

Telegram POSTs one `Update` per request; there is no body signature, only the secret token given
to setWebhook. Each update is handled once by its `update_id`. A text message is read by the
grammar (a leading `/command` is just a word to it); a shared location is the officer's fix and
is answered; a live location moves on as `edited_message`s with the same message id: kept, not
answered. Edited texts are ignored (the first text was answered already).

A command post without public HTTPS polls instead (`POSKO_TELEGRAM_POLLING=true`): one node
at a time holds the lease `telegram-poll` and asks getUpdates with the offset after the last
update it handled; Telegram forgets updates only once a later offset is asked for, so a node
that dies mid-batch leaves them for the next holder (and the update_id dedupe absorbs repeats).
"""

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response

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
from backend.channels.road import Inbound, handle
from backend.cluster import LeasedTask, LeaseGrant
from backend.deps import RuntimeDep, remote_of
from backend.runtime import Runtime

log = logging.getLogger("posko.channels")
router = APIRouter(prefix="/api/v1/channels", tags=["channels"])
SECRET_HEADER = "x-telegram-bot-api-secret-token"
ALLOWED_UPDATES = ["message", "edited_message"]


def inbound_of(update: dict[str, Any], remote: str | None) -> Inbound | None:
    """The officer message of one update, or None (ignored: edits of text, other kinds)."""
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or abs(update_id) >= 2**63:
        return None
    edited = "message" not in update
    m = update.get("message") or update.get("edited_message")
    if not isinstance(m, dict) or not isinstance(m.get("chat"), dict):
        return None
    if m["chat"].get("type") != "private":
        return None  # a group: its id is the group's, not an officer's; reports come one to one
    chat_id = m["chat"].get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) or abs(chat_id) >= 2**53:
        return None
    date = m.get("edit_date") if edited else m.get("date")
    # Up to 2^33 s (year 2242): beyond, datetime itself fails.
    at = None
    if isinstance(date, int) and not isinstance(date, bool) and 0 < date < 2**33:
        at = datetime.fromtimestamp(date, UTC)
    loc = m.get("location")
    lat = lon = None
    if isinstance(loc, dict):
        try:
            lat, lon = float(loc["latitude"]), float(loc["longitude"])
        except (KeyError, TypeError, ValueError):
            lat = lon = None
    if edited and lat is None:
        return None  # an edited text: the original was answered
    text = m.get("text") if isinstance(m.get("text"), str) else None
    if text is None and lat is None:
        text = ""  # a photo, a sticker: answered with the grammar's example
    return Inbound(
        channel="telegram",
        key=str(update_id),
        address=str(chat_id),
        reply_to=str(chat_id),
        at=at or datetime.now(UTC),
        text=text,
        lat=lat,
        lon=lon,
        is_live=edited or bool(isinstance(loc, dict) and loc.get("live_period")),
        remote=remote,
    )


@router.post(
    "/telegram",
    summary="Telegram bot webhook (one Update per request)",
    responses=webhook_responses("the update recorded (stored, answered, refused, duplicate …)"),
)
async def receive(request: Request, rt: RuntimeDep) -> Response:
    """Check the secret token, then handle the update once."""
    secret = rt.settings.telegram_secret_token
    if secret is None:
        return problem("channel", "Telegram webhook is not configured (POSKO_TELEGRAM_*)", 404)
    body = await body_of(rt, request)
    if isinstance(body, Response):
        return body
    given = request.headers.get(SECRET_HEADER)
    if not same_secret(given, secret.get_secret_value()):
        reason = "missing secret token" if given is None else "wrong secret token"
        return refuse(rt, request, SECRET_HEADER, reason)
    data = json_of(body)
    if isinstance(data, Response):
        return data
    inbound = inbound_of(data, remote_of(request))
    if inbound is None:
        metrics.MESSAGES.labels("telegram", "ignored").inc()
        return Response(b'{"results":["ignored"]}', 200, media_type="application/json")
    return await deliver(rt, [inbound])


def poller(rt: Runtime) -> LeasedTask:
    """Long polling under the cluster lease, for a post without public HTTPS."""
    settings = rt.settings
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value()
    base = f"{settings.telegram_api_url.rstrip('/')}/bot{token}"
    timeout = settings.telegram_poll_timeout_s
    offset: list[int] = []  # the next update to ask for, on this node

    async def work(_grant: LeaseGrant) -> None:
        params: dict[str, Any] = {"timeout": timeout, "allowed_updates": ALLOWED_UPDATES}
        if offset:
            params["offset"] = offset[0]
        try:
            # A client per poll: nothing left open when the lease moves or the server stops.
            async with httpx.AsyncClient(timeout=timeout + settings.channel_timeout_s) as client:
                r = await client.post(f"{base}/getUpdates", json=params)
            data = r.json() if r.status_code == 200 else {}
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("telegram getUpdates failed: %s", exc.__class__.__name__)
            await asyncio.sleep(settings.channel_backoff_s)
            return
        result = data.get("result") if isinstance(data, dict) else None
        updates = [
            u
            for u in (result if isinstance(result, list) else [])
            if isinstance(u, dict) and isinstance(u.get("update_id"), int)
        ]
        for update in sorted(updates, key=lambda u: int(u["update_id"])):
            inbound = inbound_of(update, None)
            if inbound is None:
                metrics.MESSAGES.labels("telegram", "ignored").inc()
            else:
                await handle(rt, inbound)  # StorageUnavailable: the offset stays, asked again
            offset[:] = [int(update["update_id"]) + 1]

    return LeasedTask(
        engine=rt.engine,
        name="telegram-poll",
        interval_s=0.5,
        work=work,
        ttl_s=max(30.0, timeout * 3.0),
    )
