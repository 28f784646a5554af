"""The outgoing alert webhook: deliveries from the persistent outbox, retried with backoff.

Rows are written in the same transaction as the alert change (never lost, never sent for a
change that rolled back) and sent by this task afterwards, so a slow or dead receiver can
never hold up intake or the sweeper. A row is claimed with a conditional UPDATE
(`claimed_until`), so nodes never send the same row at once; deliveries of one alert go out in
order. Each try signs the stored body afresh: X-Posko-Timestamp is the real Unix time and
X-Posko-Signature is "sha256=" + HMAC-SHA256(secret, timestamp + "." + body). The audit chain's
checkpoints (event "checkpoint", no alert) ride the same outbox and wait behind nothing.
"""

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, and_, exists, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func

from backend.alerts.models import AlertOutbox
from backend.auth.service import sign
from backend.config import Settings, now_utc
from backend.outbox import OutboxLoop

log = logging.getLogger("posko.webhook")
CLAIM_S = 60.0  # a claimed row that is neither delivered nor released is retried after this


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row this node is sending now."""

    id: int
    event: str
    body: str
    attempts: int


def backoff_s(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Delay before the next try: exponential in the attempts made, with equal jitter."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def claim_due(*, engine: Engine, now: datetime, limit: int = 20) -> list[Claimed]:
    """Claim deliveries that are due and not blocked by an earlier one of the same alert."""
    earlier = aliased(AlertOutbox)
    o = AlertOutbox
    pending = and_(col(o.delivered_at).is_(None), col(o.failed_at).is_(None))
    with Session(engine) as session:
        rows = session.execute(
            sa_select(col(o.id), col(o.event), col(o.body), col(o.attempts))
            .where(
                pending,
                col(o.next_attempt_at) <= now,
                or_(col(o.claimed_until).is_(None), col(o.claimed_until) < now),
                ~exists().where(
                    col(earlier.alert_id) == col(o.alert_id),
                    col(earlier.id) < col(o.id),
                    col(earlier.delivered_at).is_(None),
                    col(earlier.failed_at).is_(None),
                ),
            )
            .order_by(col(o.id))
            .limit(limit)
        ).all()
        claimed = []
        for oid, event, body, attempts in rows:
            res = session.execute(
                update(AlertOutbox)
                .where(
                    col(o.id) == oid,
                    pending,
                    or_(col(o.claimed_until).is_(None), col(o.claimed_until) < now),
                )
                .values(claimed_until=now + timedelta(seconds=CLAIM_S))
            )
            if res.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(Claimed(oid, event, body, attempts))
        session.commit()
    return claimed


def record_result(
    *,
    engine: Engine,
    claimed: Claimed,
    ok: bool,
    error: str | None,
    now: datetime,
    settings: Settings,
    rng: random.Random,
) -> None:
    """Mark a delivery done, or schedule its next try (or give up after the last)."""
    attempts = claimed.attempts + 1
    values: dict[str, object] = {"attempts": attempts, "claimed_until": None}
    if ok:
        values["delivered_at"] = now
    else:
        values["last_error"] = (error or "")[:500]
        if attempts >= settings.webhook_max_attempts:
            values["failed_at"] = now
        else:
            delay = backoff_s(
                attempts,
                base=settings.webhook_backoff_s,
                cap=settings.webhook_backoff_max_s,
                rng=rng,
            )
            values["next_attempt_at"] = now + timedelta(seconds=delay)
    with Session(engine) as session:
        session.execute(update(AlertOutbox).where(col(AlertOutbox.id) == claimed.id).values(values))
        session.commit()


def next_due(*, engine: Engine) -> datetime | None:
    """When the next pending delivery falls due."""
    with Session(engine) as session:
        return session.execute(
            sa_select(func.min(AlertOutbox.next_attempt_at)).where(
                col(AlertOutbox.delivered_at).is_(None), col(AlertOutbox.failed_at).is_(None)
            )
        ).scalar()


class OutboxSender(OutboxLoop):
    """Sends the outbox to the configured URL; never blocks anyone else."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        assert settings.alert_webhook_url and settings.alert_webhook_secret
        super().__init__(
            timeout_s=settings.webhook_timeout_s,
            task_name="posko-webhook",
            label="webhook",
            log=log,
        )
        self.engine = engine
        self.settings = settings
        self.url = settings.alert_webhook_url
        self.secret = settings.alert_webhook_secret

    def next_due(self) -> datetime | None:
        """When the next pending delivery falls due."""
        return next_due(engine=self.engine)

    async def send_due(self) -> int:
        """Send every claimable delivery once; return how many were delivered."""
        claimed = await asyncio.to_thread(claim_due, engine=self.engine, now=now_utc())
        delivered = 0
        for c in claimed:
            ok, error = await self._post(c)
            delivered += ok
            await asyncio.to_thread(
                record_result,
                engine=self.engine,
                claimed=c,
                ok=ok,
                error=error,
                now=now_utc(),
                settings=self.settings,
                rng=self._rng,
            )
        return delivered

    async def _post(self, c: Claimed) -> tuple[bool, str | None]:
        ts = str(int(time.time()))
        body = c.body.encode()
        headers = {
            "content-type": "application/json",
            "x-posko-event": c.event,
            "x-posko-delivery": str(c.id),
            "x-posko-timestamp": ts,
            "x-posko-signature": sign(self.secret, ts, body),
        }
        try:
            r = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, f"{exc.__class__.__name__}: {exc}"
        if 200 <= r.status_code < 300:
            return True, None
        return False, f"HTTP {r.status_code}"
