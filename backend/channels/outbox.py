"""Replies to chat and SMS senders: the durable outbox, sent through each provider's API.

Rows are written in the transaction that recorded the message (`service.record`), so a reply is
never lost nor sent for a message that was not recorded. This task sends them afterwards: a slow
or dead provider never holds up intake. A row is claimed with a conditional UPDATE
(`claimed_until`), so nodes never send one row at once, and replies to one address go out in
order (an SMS reply in two parts arrives as 1/2, 2/2). A failed try waits with exponential
backoff (`alerts.webhook.backoff_s`) until `channel_max_attempts`.

WhatsApp allows free text only within 24 hours of the officer's last message; after that (a
reply retried for a day, or error 131047) the configured template goes instead, with the reply
as its one body parameter. SMSSync cannot be called: its replies wait here until its next sync
takes them (`take_for_smssync`).
"""

import asyncio
import base64
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, and_, exists, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func

from backend.alerts.webhook import backoff_s
from backend.channels import metrics
from backend.channels.models import ChannelOutbox
from backend.config import Settings, now_utc
from backend.outbox import OutboxLoop

log = logging.getLogger("posko.channels")
CLAIM_S = 60.0  # a claimed row neither sent nor released is tried again after this
PUSHED = ("whatsapp", "telegram", "smsgate")  # SMSSync pulls its replies
WA_WINDOW_CLOSED = 131047  # "Re-engagement message": more than 24 h since the user wrote


@dataclass(frozen=True, slots=True)
class Claimed:
    """A reply this node is sending now."""

    id: int
    channel: str
    address: str
    text: str
    attempts: int
    window_until: datetime | None


def _pending() -> Any:
    o = ChannelOutbox
    return and_(col(o.sent_at).is_(None), col(o.failed_at).is_(None))


def claim_due(
    *, engine: Engine, now: datetime, channels: tuple[str, ...] = PUSHED, limit: int = 50
) -> list[Claimed]:
    """Claim replies that are due and not behind an earlier one to the same address."""
    o, earlier = ChannelOutbox, aliased(ChannelOutbox)
    free = or_(col(o.claimed_until).is_(None), col(o.claimed_until) < now)
    with Session(engine) as session:
        rows = session.execute(
            sa_select(o)
            .where(
                _pending(),
                col(o.channel).in_(channels),
                col(o.next_attempt_at) <= now,
                free,
                ~exists().where(
                    col(earlier.channel) == col(o.channel),
                    col(earlier.address) == col(o.address),
                    col(earlier.id) < col(o.id),
                    col(earlier.sent_at).is_(None),
                    col(earlier.failed_at).is_(None),
                ),
            )
            .order_by(col(o.id))
            .limit(limit)
        ).scalars()
        claimed = []
        for row in list(rows):
            res = session.execute(
                update(ChannelOutbox)
                .where(col(o.id) == row.id, _pending(), free)
                .values(claimed_until=now + timedelta(seconds=CLAIM_S))
            )
            if res.rowcount == 1:  # type: ignore[attr-defined]
                assert row.id is not None
                claimed.append(
                    Claimed(
                        row.id, row.channel, row.address, row.text, row.attempts, row.window_until
                    )
                )
        session.commit()
    return claimed


def record_result(
    *,
    engine: Engine,
    claimed: Claimed,
    error: str | None,
    now: datetime,
    settings: Settings,
    rng: random.Random,
    window_closed: bool = False,
) -> None:
    """Mark a reply sent, or schedule its next try (or give up after the last)."""
    attempts = claimed.attempts + 1
    values: dict[str, object] = {"attempts": attempts, "claimed_until": None}
    if error is None:
        values["sent_at"] = now
        metrics.REPLIES.labels(claimed.channel, "sent").inc()
    else:
        metrics.REPLIES.labels(claimed.channel, "failed").inc()
        values["last_error"] = error[:500]
        if window_closed:
            values["window_until"] = now  # the next try sends the template
        if attempts >= settings.channel_max_attempts:
            values["failed_at"] = now
            metrics.REPLIES.labels(claimed.channel, "given_up").inc()
        else:
            delay = backoff_s(
                attempts,
                base=settings.channel_backoff_s,
                cap=settings.channel_backoff_max_s,
                rng=rng,
            )
            values["next_attempt_at"] = now + timedelta(seconds=delay)
    with Session(engine) as session:
        session.execute(
            update(ChannelOutbox).where(col(ChannelOutbox.id) == claimed.id).values(values)
        )
        session.commit()


def next_due(*, engine: Engine, channels: tuple[str, ...] = PUSHED) -> datetime | None:
    """When the next pending reply falls due."""
    with Session(engine) as session:
        return session.execute(
            sa_select(func.min(ChannelOutbox.next_attempt_at)).where(
                _pending(), col(ChannelOutbox.channel).in_(channels)
            )
        ).scalar()


def take_for_smssync(*, engine: Engine, now: datetime, limit: int = 20) -> list[Claimed]:
    """Hand SMSSync its waiting replies (its sync answer carries them); they count as sent.

    One transaction: the rows are marked sent by a conditional UPDATE, so of two syncs at once
    (two nodes) each reply goes to one of them.
    """
    o = ChannelOutbox
    with Session(engine) as session:
        ids = list(
            session.execute(
                sa_select(col(o.id))
                .where(_pending(), col(o.channel) == "smssync", col(o.next_attempt_at) <= now)
                .order_by(col(o.id))
                .limit(limit)
            ).scalars()
        )
        if not ids:
            return []
        rows = session.execute(
            update(ChannelOutbox)
            .where(col(o.id).in_(ids), _pending())
            .values(sent_at=now, attempts=col(o.attempts) + 1)
            .returning(col(o.id), col(o.address), col(o.text), col(o.attempts))
        ).all()
        session.commit()
    metrics.REPLIES.labels("smssync", "sent").inc(len(rows))
    return [
        Claimed(oid, "smssync", address, text, attempts, None)
        for oid, address, text, attempts in sorted(rows)
    ]


class ReplySender(OutboxLoop):
    """Sends the outbox through the providers; never blocks anyone else."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__(
            timeout_s=settings.channel_timeout_s,
            task_name="posko-channel-replies",
            label="channel",
            log=log,
        )
        self.engine = engine
        self.settings = settings

    def next_due(self) -> datetime | None:
        """When the next pending reply falls due."""
        return next_due(engine=self.engine)

    async def send_due(self) -> int:
        """Send every claimable reply once; return how many went out."""
        claimed = await asyncio.to_thread(claim_due, engine=self.engine, now=now_utc())
        sent = 0
        for c in claimed:
            error, closed = await self._send(c)
            sent += error is None
            await asyncio.to_thread(
                record_result,
                engine=self.engine,
                claimed=c,
                error=error,
                now=now_utc(),
                settings=self.settings,
                rng=self._rng,
                window_closed=closed,
            )
        return sent

    async def _send(self, c: Claimed) -> tuple[str | None, bool]:
        """Send one reply: None when the provider took it, else why not (and window closed?)."""
        try:
            if c.channel == "whatsapp":
                return await self._whatsapp(c)
            if c.channel == "telegram":
                return await self._telegram(c), False
            if c.channel == "smsgate":
                return await self._smsgate(c), False
        except httpx.HTTPError as exc:
            return f"{exc.__class__.__name__}: {exc}", False
        return f"no provider for channel {c.channel}", False

    async def _whatsapp(self, c: Claimed) -> tuple[str | None, bool]:
        s = self.settings
        if s.whatsapp_access_token is None or not s.whatsapp_phone_number_id:
            return "POSKO_WHATSAPP_ACCESS_TOKEN/PHONE_NUMBER_ID not set", False
        body: dict[str, Any] = {"messaging_product": "whatsapp", "to": c.address}
        if c.window_until is None or now_utc() < c.window_until:
            body |= {"type": "text", "text": {"body": c.text, "preview_url": False}}
        elif s.whatsapp_template:
            body |= {
                "type": "template",
                "template": {
                    "name": s.whatsapp_template,
                    "language": {"code": s.whatsapp_template_lang},
                    "components": [
                        {"type": "body", "parameters": [{"type": "text", "text": c.text}]}
                    ],
                },
            }
        else:
            return "24-hour window closed and no POSKO_WHATSAPP_TEMPLATE", False
        url = f"{s.whatsapp_graph_url.rstrip('/')}/{s.whatsapp_phone_number_id}/messages"
        token = s.whatsapp_access_token.get_secret_value()
        r = await self._client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        if 200 <= r.status_code < 300:
            return None, False
        code = None
        with contextlib.suppress(Exception):
            code = r.json()["error"]["code"]
        return f"HTTP {r.status_code} error {code}", code == WA_WINDOW_CLOSED

    async def _telegram(self, c: Claimed) -> str | None:
        s = self.settings
        if s.telegram_bot_token is None:
            return "POSKO_TELEGRAM_BOT_TOKEN not set"
        url = f"{s.telegram_api_url.rstrip('/')}/bot{s.telegram_bot_token.get_secret_value()}"
        r = await self._client.post(
            f"{url}/sendMessage", json={"chat_id": int(c.address), "text": c.text}
        )
        return None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}"

    async def _smsgate(self, c: Claimed) -> str | None:
        s = self.settings
        if not s.smsgate_url:
            return "POSKO_SMSGATE_URL not set"
        headers = {}
        if s.smsgate_username and s.smsgate_password is not None:
            pair = f"{s.smsgate_username}:{s.smsgate_password.get_secret_value()}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        r = await self._client.post(
            f"{s.smsgate_url.rstrip('/')}/message",
            json={"textMessage": {"text": c.text}, "phoneNumbers": [c.address]},
            headers=headers,
        )
        return None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}"
