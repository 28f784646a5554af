"""One road for every chat and SMS message: who sent it, what it says, store it, answer once.

A channel module (whatsapp.py, telegram.py, sms.py) checks the provider's signature, turns its
payload into `Inbound`s and calls `handle`. From here every channel is the same:

1. a message whose provider id was handled before is a duplicate: nothing more, no reply;
2. the sender is the officer the phone number or chat is bound to, never a name in the text;
   an unknown sender is answered how to enrol (`DAFTAR 482913`) and kept as a dead letter;
3. the grammar (`grammar.parse`) reads the text against the officer's TPS;
4. a report, an incident or an SOS becomes a field event with an id made from the provider's
   id, checked by the same `Checker` and stored by the same `Writer` as the app's: stored once,
   acked after commit, never rolling a TPS back, refusals kept as dead letters;
5. the message and its one reply (outbox rows) are recorded in one transaction, unique on the
   provider's id, so two deliveries racing each other are answered once.

A storage failure raises `StorageUnavailable`: the channel answers 503 and the provider sends
the message again, which then finds nothing of it recorded.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session

from backend.auth.models import AuthFailure
from backend.channels import metrics
from backend.channels.grammar import parse
from backend.channels.replies import PHASE_NAMES, SITUATION_NAMES, reply
from backend.channels.service import (
    KIND_OF_CHANNEL,
    Handled,
    Reply,
    SenderFacts,
    enrol_by_code,
    enrol_failures,
    is_handled,
    record,
    sender_of,
    was_told,
)
from backend.config import WIB
from backend.intake.models import DeadLetter
from backend.intake.validate import Rejected, printable
from backend.positions.service import FixRefused, record_fix
from backend.runtime import Runtime
from schemas.channels import (
    Command,
    CustodyReport,
    Enrol,
    Help,
    IncidentReport,
    PhaseReport,
    Refusal,
    RefusalReason,
    Sos,
    StatusQuery,
    TallyRefused,
)
from schemas.enums import IncidentCategory

Channel = Literal["whatsapp", "telegram", "smsgate", "smssync"]
CHAT_CHANNELS = frozenset({"whatsapp", "telegram"})  # one message per reply; SMS: one per part
# Event ids of channel messages: the same provider message always makes the same event.
EVENT_NAMESPACE = uuid.UUID("8f1d6a4e-2c0b-5e7a-9b43-0d6c1f2a7e55")
LOCATION_TEXT = {
    "id": "Lokasi diterima. Kirim laporan dengan teks, contoh: TPS 3 COBLOS AMAN",
    "en": "Location received. Send reports as text, e.g. TPS 3 COBLOS AMAN",
}
ENROL_WINDOW = timedelta(hours=1)
NO_REPORT = {"id": "belum ada laporan", "en": "no report yet"}
TELL_AGAIN = timedelta(hours=1)  # an unknown sender is told how to enrol once in this long
CLAIM_TEXT = {
    "id": "TPS {tps} bukan tugas Anda: dicatat sebagai klaim, menunggu konfirmasi Posko",
    "en": "TPS {tps} is not yours: kept as a claim until the command post confirms it",
}


@dataclass(frozen=True, slots=True)
class Inbound:
    """One provider message, as every channel hands it over."""

    channel: Channel
    key: str  # the provider's own id of this delivery: WhatsApp message id, update_id, ...
    address: str  # the sender: phone digits with country code, or the Telegram chat id
    reply_to: str  # where the reply goes, as the provider wants it
    at: datetime  # the provider's time of the message
    text: str | None = None
    lat: float | None = None
    lon: float | None = None
    is_live: bool = False  # a live location moving on: kept, not answered
    window_until: datetime | None = None  # WhatsApp: free-text replies until then
    remote: str | None = None


def clean_key(raw: object) -> str | None:
    """A provider's message id fit to be a key: 1-128 visible ASCII characters, else None."""
    if not isinstance(raw, str) or not 0 < len(raw) <= 128:
        return None
    return raw if all(" " < c < "\x7f" for c in raw) else None


def event_id_for(channel: str, key: str) -> uuid.UUID:
    """The field event id of a provider message."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{channel}:{key}")


def _replies(inbound: Inbound, parts: list[str]) -> list[Reply]:
    texts = ["\n".join(parts)] if inbound.channel in CHAT_CHANNELS else parts
    return [Reply(inbound.channel, inbound.reply_to, t, inbound.window_until) for t in texts]


async def _keep_fix(rt: Runtime, inbound: Inbound, officer_id: int, now: datetime) -> None:
    """Store a chat location as the officer's fix (not a TPS ping); raises FixRefused."""
    assert inbound.lat is not None and inbound.lon is not None
    if rt.positions is None:  # a server without the positions writer keeps no fixes
        return
    await record_fix(
        rt.positions,
        officer_id=officer_id,
        device_time=inbound.at,
        lat=inbound.lat,
        lon=inbound.lon,
        received_at=now,
        source=inbound.channel,
    )


def _dead_letter(
    inbound: Inbound, at: datetime, officer_id: int | None, field: str, reason: str
) -> DeadLetter:
    payload = inbound.text or ""
    if inbound.lat is not None:
        payload = f"{payload} @{inbound.lat},{inbound.lon}".strip()
    return DeadLetter(
        received_at=at,
        source=inbound.channel,
        officer_id=officer_id,
        remote=f"{inbound.channel}:{inbound.address}"[:64],
        event_id=None,
        field=field,
        reason=reason[:500],
        size=len(payload.encode()),
        payload=printable(payload[: 64 * 1024]),
    )


def _status_text(sender: SenderFacts, query: StatusQuery, lang: str) -> str | None:
    """What Posko holds for the sender's TPS (or the one asked), one part per TPS."""
    en = lang == "en"
    parts = []
    for t in sender.tps:
        if query.tps is not None and t.ref.code != query.tps:
            continue
        head = f"TPS {t.ref.number:03d} {t.ref.desa}"
        if t.phase is None and t.situation is None:
            parts.append(f"{head}: {NO_REPORT[lang]}")
            continue
        phase = PHASE_NAMES[t.phase][en] if t.phase else "-"
        situation = SITUATION_NAMES[t.situation][en] if t.situation else "-"
        seen = f" {t.seen_at.astimezone(WIB):%H:%M} WIB" if t.seen_at else ""
        parts.append(f"{head}: {phase}, {situation}{seen}")
    return "; ".join(parts) or None


def _event(inbound: Inbound, sender: SenderFacts, cmd: Command) -> dict[str, Any] | Refusal:
    """The field event a command stores (a dict, checked like the app's), or why not."""
    base: dict[str, Any] = {
        "event_id": str(event_id_for(inbound.channel, inbound.key)),
        "device_time": inbound.at.isoformat(),
    }
    if isinstance(cmd, PhaseReport):
        now = next((t for t in sender.tps if t.ref.code == cmd.tps), None)
        phase = cmd.phase or (now.phase if now else None)
        situation = cmd.situation or (now.situation if now else None)
        if phase is None or situation is None:
            number = now.ref.number if now else 0
            return Refusal(
                reason_id=RefusalReason.FIRST_REPORT,
                detail=f"{number:03d}" if number else cmd.tps,
                example=f"TPS {number or cmd.tps} COBLOS AMAN",
            )
        ev = {**base, "type": "ping", "tps": cmd.tps, "phase": phase, "situation": situation}
        if cmd.note:
            ev["note"] = cmd.note
        return ev
    if isinstance(cmd, CustodyReport):
        ev = {**base, "type": "custody", "tps": cmd.tps, "step": cmd.step}
        if cmd.seal_numbers:
            ev["seal_numbers"] = list(cmd.seal_numbers)
        for name in ("vehicle", "ba_number", "receiver_name"):
            if getattr(cmd, name) is not None:
                ev[name] = getattr(cmd, name)
        return ev
    if isinstance(cmd, IncidentReport):
        return {
            **base,
            "type": "incident",
            "tps": cmd.tps,
            "category": cmd.category,
            "severity": cmd.severity,
            "description": cmd.text,
        }
    assert isinstance(cmd, Sos)
    return {
        **base,
        "type": "incident",
        "sos": True,
        "category": IncidentCategory.LAINNYA,
        "severity": 4,
        "tps": cmd.tps,
        "description": cmd.text or "SOS",
    }


async def _store(
    rt: Runtime, inbound: Inbound, sender: SenderFacts, cmd: Command, handled: Handled
) -> tuple[Command | Refusal, str | None]:
    """Store a report, incident or SOS through the intake writer; the result to answer."""
    ev = _event(inbound, sender, cmd)
    if isinstance(ev, Refusal):
        return ev, None
    item = rt.checker.check(
        ev,
        officer_id=sender.officer_id,
        source=inbound.channel,
        remote=inbound.remote,
        now=rt.clock.now(),
    )
    ack = (await rt.writer.submit([item]))[0]  # raises StorageUnavailable: nothing acked
    handled.event_id = ev["event_id"]
    if isinstance(item, Rejected):  # kept as a dead letter by the writer, with its reason
        handled.outcome = "refused"
        handled.kind = f"rejected_{item.field}"[:32]
        example = f"TPS {sender.tps[0].ref.number} COBLOS AMAN" if sender.tps else "BANTUAN"
        refusal = Refusal(
            reason_id=RefusalReason.TPS_INVALID if item.field == "tps" else RefusalReason.EMPTY,
            detail=item.reason[:40],
            example=example,
        )
        return refusal, None
    # "duplicate": stored by an earlier delivery whose record was lost (a crash between the two
    # commits); it is stored all the same, and this is the delivery that gets the answer.
    handled.outcome = "stored"
    if "unassigned" in ack.get("flags", ()) and isinstance(cmd, PhaseReport | CustodyReport):
        return cmd, CLAIM_TEXT[rt.settings.channel_lang].format(tps=cmd.tps)
    return cmd, None


async def handle(rt: Runtime, inbound: Inbound) -> str:
    """Handle one provider message once; return its result (stored, duplicate, refused ...)."""
    channel = inbound.channel
    metrics.MESSAGES.labels(channel, "received").inc()
    kind = KIND_OF_CHANNEL[channel]
    lang = rt.settings.channel_lang

    def look() -> tuple[bool, SenderFacts | None, bool]:
        with Session(rt.engine) as s:
            if is_handled(session=s, channel=channel, key=inbound.key):
                return True, None, False
            sender = sender_of(session=s, kind=kind, address=inbound.address)
            told = sender is None and was_told(
                session=s, channel=channel, address=inbound.address, since=now - TELL_AGAIN
            )
            return False, sender, told

    now = rt.clock.now()
    seen, sender, told = await asyncio.to_thread(look)
    if seen:
        metrics.MESSAGES.labels(channel, "duplicate").inc()
        return "duplicate"
    handled = Handled(
        channel=channel,
        key=inbound.key,
        address=inbound.address,
        at=rt.clock.now(),
        officer_id=sender.officer_id if sender else None,
        outcome="answered",
        kind="",
    )
    has_text = bool(inbound.text and inbound.text.strip())
    if inbound.lat is not None and inbound.lon is not None and not has_text and sender:
        handled.outcome, handled.kind = "location", "location"
        try:
            await _keep_fix(rt, inbound, sender.officer_id, now)
        except FixRefused as exc:
            handled.outcome, handled.kind = "refused", "location"
            handled.dead_letter = _dead_letter(
                inbound, handled.at, sender.officer_id, exc.field, exc.reason
            )
        if not inbound.is_live:
            handled.replies = _replies(inbound, [LOCATION_TEXT[lang]])
        return await _record(rt, handled)
    result: Command | Refusal = parse(
        inbound.text or "", assignments=sender.assignments if sender else ()
    )
    summary: str | None = None
    if isinstance(result, Enrol):
        result, summary = await _enrol(rt, inbound, result, handled)
    elif sender is None:
        result = Refusal(reason_id=RefusalReason.UNKNOWN_SENDER, detail="", example="DAFTAR 482913")
        handled.outcome, handled.kind = "refused", "unknown_sender"
        handled.dead_letter = _dead_letter(
            inbound,
            handled.at,
            None,
            "sender",
            "unknown sender: not bound to an officer (DAFTAR or admin)",
        )
        if told:  # told within the hour already: an SMS flood must not cost a reply each
            handled.kind = "unknown_sender_again"
            return await _record(rt, handled)
    elif isinstance(result, PhaseReport | IncidentReport | CustodyReport | Sos):
        handled.kind = result.kind
        result, summary = await _store(rt, inbound, sender, result, handled)
    elif isinstance(result, StatusQuery):
        handled.kind = "status"
        summary = _status_text(sender, result, lang)
    elif isinstance(result, Help | TallyRefused):
        handled.kind = result.kind  # a tally: nothing of its numbers is kept
    if isinstance(result, Refusal) and handled.outcome == "answered":
        handled.outcome, handled.kind = "refused", result.reason_id.value
        handled.dead_letter = _dead_letter(
            inbound,
            handled.at,
            handled.officer_id,
            "text",
            f"{result.reason_id.value}: {result.detail}" if result.detail else result.reason_id,
        )
    handled.replies = _replies(inbound, reply(result, lang=lang, stored_summary=summary))
    return await _record(rt, handled)


async def _enrol(
    rt: Runtime, inbound: Inbound, cmd: Enrol, handled: Handled
) -> tuple[Command | Refusal, str | None]:
    """`DAFTAR 482913`: bind this sender to the officer of the sheet's code, once."""
    kind = KIND_OF_CHANNEL[inbound.channel]
    secret = rt.settings.secret_key
    now = rt.clock.now()

    def redeem() -> SenderFacts | Literal[False] | None:
        with Session(rt.engine) as s:
            tries = enrol_failures(
                session=s, kind=kind, address=inbound.address, since=now - ENROL_WINDOW
            )
            if tries >= rt.settings.channel_enrol_max_failures:
                return False  # guessing: six digits are a million tries, an hour allows five
            return enrol_by_code(
                session=s, secret=secret, code=cmd.code, kind=kind, address=inbound.address, now=now
            )

    officer = await asyncio.to_thread(redeem)
    if officer:
        handled.officer_id, handled.kind = officer.officer_id, "enrol"
        return cmd, f"{officer.name} NRP {officer.nrp}"
    handled.outcome, handled.kind = "refused", "enrol_rejected"
    handled.auth_failure = AuthFailure(
        at=now,
        remote=f"{inbound.channel}:{inbound.address}"[:64],
        path=f"/api/v1/channels/{inbound.channel}",
        reason="enrolment code refused" if officer is None else "too many wrong enrolment codes",
        prefix=None,
    )
    refusal = Refusal(
        reason_id=RefusalReason.ENROL_REJECTED, detail=cmd.code, example="DAFTAR 482913"
    )
    return refusal, None


async def _record(rt: Runtime, handled: Handled) -> str:
    if rt.channel_recorder is not None:
        fresh = await rt.channel_recorder.record(handled)
    else:  # a runtime without one (scripts): one transaction of its own

        def write() -> bool:
            with Session(rt.engine) as s:
                return record(session=s, handled=handled, now=rt.clock.now())

        fresh = await asyncio.to_thread(write)
    result = handled.outcome if fresh else "duplicate"
    metrics.MESSAGES.labels(handled.channel, result).inc()
    if fresh and handled.replies and rt.channel_outbox is not None:
        rt.channel_outbox.wake()
    return result
