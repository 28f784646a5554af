"""Database functions of the channels: who a sender is, each message once, the reply outbox.

No HTTP here and no publishing: the channel modules call these in a worker thread. A message is
recorded with its replies (and its refusal, if any) in one transaction, keyed by the provider's
own id, so a redelivery finds it and is answered nothing more.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

from backend.audit.service import AuditRecord, append
from backend.auth.models import AuthFailure
from backend.authority import Authority
from backend.channels.models import ChannelMessage, ChannelOutbox, ChannelSender
from backend.enrolment.models import Enrolment
from backend.intake.models import DeadLetter
from backend.officers.models import Assignment, Officer, Unit
from backend.regions.models import Region
from backend.tps.models import Tps, TpsState
from schemas.channels import TpsRef
from schemas.enums import Phase, Situation

SenderKind = str  # "phone" | "telegram"
KIND_OF_CHANNEL = {
    "whatsapp": "phone",
    "smsgate": "phone",
    "smssync": "phone",
    "telegram": "telegram",
}
_DIGITS = re.compile(r"[0-9]+")
CHAT_CODE_DIGITS = 6


class LinkError(Exception):
    """A refused binding: the field at fault and why."""

    def __init__(self, field: str, reason: str, status: int = 422) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.status = status


def normalize_phone(raw: str, country: str) -> str | None:
    """A phone number as digits with its country code (`0812…` → `62812…`), or None."""
    text = raw.strip()
    if not text or not all(c.isdigit() or c in "+-() ." for c in text):
        return None
    digits = "".join(_DIGITS.findall(text))
    if not digits.isascii():
        return None
    if text.startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = country + digits[1:]
    return digits if 8 <= len(digits) <= 15 and digits[0] != "0" else None


def normalize_telegram(raw: str) -> str | None:
    """A Telegram chat id (a signed integer of up to 52 bits), or None."""
    text = raw.strip()
    body = text[1:] if text.startswith("-") else text
    if not (body.isascii() and body.isdigit()) or len(body) > 16:
        return None
    return str(int(text))


def chat_code_hash(secret: str, code: str) -> str:
    """The stored form of a DAFTAR code: HMAC-SHA256 with the server's key."""
    return hmac.new(secret.encode(), b"daftar:" + code.encode(), hashlib.sha256).hexdigest()


def new_chat_code() -> str:
    """Six random digits."""
    return f"{secrets.randbelow(10**CHAT_CODE_DIGITS):0{CHAT_CODE_DIGITS}d}"


@dataclass(frozen=True, slots=True)
class TpsFacts:
    """One of the sender's TPS with what Posko knows of it now."""

    ref: TpsRef
    phase: Phase | None
    situation: Situation | None
    seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class SenderFacts:
    """The officer behind a sender and the TPS assigned to them."""

    officer_id: int
    nrp: str
    name: str
    kabupaten_code: str
    tps: list[TpsFacts] = field(default_factory=list)

    @property
    def assignments(self) -> list[TpsRef]:
        """The grammar's view of the sender's TPS."""
        return [t.ref for t in self.tps]


def officer_facts(*, session: Session, officer_id: int) -> SenderFacts | None:
    """An officer with their assigned TPS and the state of each."""
    officer = session.get(Officer, officer_id)
    if officer is None or officer.id is None:
        return None
    rows = session.exec(
        select(Tps, Region.name, TpsState)
        .join(Assignment, col(Assignment.tps_id) == col(Tps.id))
        .join(Region, col(Region.code) == col(Tps.desa_code))
        .join(TpsState, col(TpsState.tps_id) == col(Tps.id), isouter=True)
        .where(col(Assignment.officer_id) == officer_id)
        .order_by(col(Tps.code))
    ).all()
    tps = [
        TpsFacts(
            TpsRef(code=t.code, number=t.number, desa=desa),
            s.phase if s else None,
            s.situation if s else None,
            s.last_seen_at if s else None,
        )
        for t, desa, s in rows
        if 1 <= t.number <= 999
    ]
    return SenderFacts(officer.id, officer.nrp, officer.name, officer.kabupaten_code, tps)


def sender_of(*, session: Session, kind: SenderKind, address: str) -> SenderFacts | None:
    """The officer bound to a phone number or Telegram chat, or None (unknown sender)."""
    officer_id = session.exec(
        select(ChannelSender.officer_id).where(
            col(ChannelSender.kind) == kind, col(ChannelSender.address) == address
        )
    ).first()
    return None if officer_id is None else officer_facts(session=session, officer_id=officer_id)


def is_handled(*, session: Session, channel: str, key: str) -> bool:
    """Whether this provider message was already handled (a redelivery)."""
    return (
        session.exec(
            select(ChannelMessage.id).where(
                col(ChannelMessage.channel) == channel, col(ChannelMessage.key) == key
            )
        ).first()
        is not None
    )


def was_told(*, session: Session, channel: str, address: str, since: datetime) -> bool:
    """Whether this unknown sender was told how to enrol since `since` (on this channel)."""
    return (
        session.exec(
            select(ChannelMessage.id)
            .where(
                col(ChannelMessage.channel) == channel,
                col(ChannelMessage.address) == address,
                col(ChannelMessage.kind) == "unknown_sender",
                col(ChannelMessage.received_at) >= since,
            )
            .limit(1)
        ).first()
        is not None
    )


def enrol_failures(*, session: Session, kind: SenderKind, address: str, since: datetime) -> int:
    """Wrong DAFTAR codes this sender sent since `since` (any channel of the same identity)."""
    channels = [c for c, k in KIND_OF_CHANNEL.items() if k == kind]
    return int(
        session.exec(
            select(func.count())
            .select_from(ChannelMessage)
            .where(
                col(ChannelMessage.channel).in_(channels),
                col(ChannelMessage.address) == address,
                col(ChannelMessage.kind) == "enrol_rejected",
                col(ChannelMessage.received_at) >= since,
            )
        ).one()
    )


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to send back (an SMS part, or a whole chat message)."""

    channel: str
    address: str
    text: str
    window_until: datetime | None = None


@dataclass(slots=True)
class Handled:
    """What became of one provider message, to record with its replies."""

    channel: str
    key: str
    address: str
    at: datetime
    officer_id: int | None
    outcome: str
    kind: str
    event_id: str | None = None
    replies: list[Reply] = field(default_factory=list)
    dead_letter: DeadLetter | None = None
    auth_failure: AuthFailure | None = None


def record(*, session: Session, handled: Handled, now: datetime) -> bool:
    """Record a message, its replies and refusal in one transaction; False if already recorded."""
    return record_many(session=session, batch=[handled], now=now)[0]


def record_many(*, session: Session, batch: list[Handled], now: datetime) -> list[bool]:
    """Record messages with their replies and refusals in one transaction (the caller's batch).

    Each message is inserted unless its (channel, key) is there already, committed or earlier in
    this batch: the unique key decides between deliveries of one message that raced, on any
    node. Only a message inserted brings its replies, dead letter and refused credential.
    """
    bind = session.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    fresh: list[bool] = []
    for h in batch:
        row = {
            "channel": h.channel,
            "key": h.key[:128],
            "received_at": h.at,
            "address": h.address[:64],
            "officer_id": h.officer_id,
            "outcome": h.outcome,
            "kind": h.kind[:32],
            "event_id": h.event_id,
        }
        stmt = (
            insert(ChannelMessage)
            .values(row)
            .on_conflict_do_nothing(index_elements=["channel", "key"])
            .returning(col(ChannelMessage.id))
        )
        msg_id = session.execute(stmt).scalar()
        fresh.append(msg_id is not None)
        if msg_id is None:
            continue
        for r in h.replies:
            session.add(
                ChannelOutbox(
                    channel=r.channel,
                    address=r.address,
                    text=r.text,
                    message_id=msg_id,
                    created_at=now,
                    window_until=r.window_until,
                    next_attempt_at=now,
                )
            )
        if h.dead_letter is not None:
            session.add(h.dead_letter)
        if h.auth_failure is not None:
            session.add(h.auth_failure)
    session.commit()
    return fresh


def link(
    *,
    session: Session,
    authority: Authority,
    actor: str,
    now: datetime,
    nrp: str,
    kind: SenderKind,
    address: str,
) -> ChannelSender:
    """Bind a phone number or Telegram chat to an officer (moving it from anyone else); audited."""
    found = session.exec(
        select(Officer, Unit)
        .join(Unit, col(Unit.id) == col(Officer.unit_id))
        .where(col(Officer.nrp) == nrp)
    ).first()
    if found is None or not authority.reaches(found[1].kabupaten_code):
        raise LinkError("nrp", f"no officer with NRP {nrp} in your area", 404)
    officer, unit = found
    assert officer.id is not None
    existing = session.exec(
        select(ChannelSender).where(
            col(ChannelSender.kind) == kind, col(ChannelSender.address) == address
        )
    ).first()
    previous = existing.officer_id if existing is not None else None
    if existing is None:
        existing = ChannelSender(
            kind=kind, address=address, officer_id=officer.id, bound_at=now, bound_by=actor[:160]
        )
        session.add(existing)
    else:
        existing.officer_id, existing.bound_at, existing.bound_by = officer.id, now, actor[:160]
    session.flush()
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action="channel.link",
                subject_kind="officer",
                subject=officer.nrp,
                data={"kind": kind, "address": address, "previous_officer_id": previous},
                area_code=unit.kabupaten_code,
            )
        ],
    )
    session.commit()
    session.refresh(existing)
    return existing


def unlink(
    *, session: Session, authority: Authority, actor: str, now: datetime, kind: str, address: str
) -> bool:
    """Forget a binding (the number changed hands); audited. False if there was none."""
    found = session.exec(
        select(ChannelSender, Officer, Unit)
        .join(Officer, col(Officer.id) == col(ChannelSender.officer_id))
        .join(Unit, col(Unit.id) == col(Officer.unit_id))
        .where(col(ChannelSender.kind) == kind, col(ChannelSender.address) == address)
    ).first()
    if found is None or not authority.reaches(found[2].kabupaten_code):
        return False
    sender, officer, unit = found
    session.delete(sender)
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action="channel.unlink",
                subject_kind="officer",
                subject=officer.nrp,
                data={"kind": kind, "address": address},
                area_code=unit.kabupaten_code,
            )
        ],
    )
    session.commit()
    return True


def links_of(*, session: Session, authority: Authority, nrp: str) -> list[ChannelSender]:
    """The senders bound to an officer of the actor's area."""
    return list(
        session.exec(
            select(ChannelSender)
            .join(Officer, col(Officer.id) == col(ChannelSender.officer_id))
            .join(Unit, col(Unit.id) == col(Officer.unit_id))
            .where(col(Officer.nrp) == nrp, authority.where_reached(col(Unit.kabupaten_code)))
            .order_by(col(ChannelSender.id))
        ).all()
    )


def enrol_by_code(
    *, session: Session, secret: str, code: str, kind: SenderKind, address: str, now: datetime
) -> SenderFacts | None:
    """Redeem a sheet's DAFTAR code once: bind the sender to its officer; audited. None: refused."""
    enrolment = session.exec(
        select(Enrolment).where(col(Enrolment.chat_code_hash) == chat_code_hash(secret, code))
    ).first()
    if enrolment is None or enrolment.id is None:
        return None
    # Compare-and-set: of two senders using one code at once, one moves chat_used_at from NULL.
    claimed = session.execute(
        update(Enrolment)
        .where(
            col(Enrolment.id) == enrolment.id,
            col(Enrolment.chat_used_at).is_(None),
            col(Enrolment.revoked_at).is_(None),
            col(Enrolment.expires_at) > now,
        )
        .values(chat_used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    officer = session.get(Officer, enrolment.officer_id)
    assert officer is not None and officer.id is not None
    existing = session.exec(
        select(ChannelSender).where(
            col(ChannelSender.kind) == kind, col(ChannelSender.address) == address
        )
    ).first()
    actor = f"daftar:{enrolment.id}"
    if existing is None:
        session.add(
            ChannelSender(
                kind=kind, address=address, officer_id=officer.id, bound_at=now, bound_by=actor
            )
        )
    else:
        existing.officer_id, existing.bound_at, existing.bound_by = officer.id, now, actor
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=f"{kind}:{address}",
                action="channel.enrol",
                subject_kind="officer",
                subject=officer.nrp,
                data={"enrolment_id": enrolment.id, "kind": kind, "address": address},
                area_code=officer.kabupaten_code,
            )
        ],
    )
    session.commit()
    return officer_facts(session=session, officer_id=officer.id)
