"""Enrolment links: make them, redeem one once for a device credential, revoke one; all audited.

A link carries a 256-bit random code in its URL fragment; only the code's SHA-256 is stored, so
the link exists only on the printed sheet (and in the answer that made it). A new link revokes
the officer's earlier unused ones; redeeming a link revokes the device credentials that the
officer's earlier enrolments produced ("enrolling again revokes the previous phone"). Device
tokens issued otherwise (`posko token issue`, the admin API) are programs' and stay.

Locks, where two of these meet (PostgreSQL; SQLite's single write lock serialises them anyway):
both making and redeeming first lock the officer rows (FOR NO KEY UPDATE, in id order, as the
intake writer does), then the links, then the audit head, always in that order, so they queue
instead of deadlocking, and whoever comes second sees what the first committed.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.areas import common_area
from backend.audit.service import AuditRecord, append
from backend.auth.models import Credential
from backend.auth.service import hash_token, new_credential
from backend.authority import Authority
from backend.channels.service import chat_code_hash, new_chat_code
from backend.enrolment.models import Enrolment
from backend.officers.models import Officer, Unit
from schemas.enums import CredentialKind
from schemas.field import EnrolmentPublic, EnrolmentState, OfficerCard, RedeemRefusal

CODE_PREFIX = "pke_"  # recognisable, so the log filter (backend/redact.py) can hide a stray one
MAX_OFFICERS = 2000  # per request: a sheet of more is hundreds of pages, and one audit entry
_REFUSALS = {
    RedeemRefusal.USED: "this link was already used: ask your admin for a new one",
    RedeemRefusal.EXPIRED: "this link has expired: ask your admin for a new one",
    RedeemRefusal.REVOKED: "this link was revoked (a newer one was made): use the newest one",
    RedeemRefusal.UNKNOWN: "this link is not known: scan it again or ask for a new one",
}


class EnrolmentError(Exception):
    """A refused request: the field at fault, the reason, the status and, for a link, why."""

    def __init__(
        self, field: str, reason: str, status: int = 422, code: RedeemRefusal | None = None
    ) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.status = status
        self.code = code


def refusal(code: RedeemRefusal) -> EnrolmentError:
    """The error for a link that does not work: 404 unknown, 410 used, expired or revoked."""
    return EnrolmentError(
        "code", _REFUSALS[code], 404 if code is RedeemRefusal.UNKNOWN else 410, code
    )


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A new link's code (shown once, never stored) with its officer and expiry."""

    enrolment_id: int
    officer: OfficerCard
    code: str
    expires_at: datetime
    chat_code: str | None = None  # the six digits for `DAFTAR` by chat or SMS, when made


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A redeemed link: the new device credential, its secret, and the credentials it revoked."""

    credential: Credential
    token: str
    officer: OfficerCard
    revoked_credentials: list[int]


def new_code() -> str:
    """A link's secret: 256 random bits."""
    return CODE_PREFIX + secrets.token_urlsafe(32)


def enrolment_url(base: str, code: str) -> str:
    """The link a QR holds: the code in the fragment, which browsers never send to a server."""
    return f"{base.rstrip('/')}/lapor/#daftar={code}"


def card(officer: Officer, unit: Unit) -> OfficerCard:
    """Who an officer is, as the phone and the sheet show it."""
    return OfficerCard(
        nrp=officer.nrp,
        name=officer.name,
        rank=officer.rank,
        unit_code=unit.code,
        unit_name=unit.name,
    )


def state_of(e: Enrolment, now: datetime) -> EnrolmentState:
    """Where a link stands; a use outranks a later revocation or expiry."""
    if e.used_at is not None:
        return EnrolmentState.USED
    if e.revoked_at is not None:
        return EnrolmentState.REVOKED
    if e.expires_at <= now:
        return EnrolmentState.EXPIRED
    return EnrolmentState.WAITING


def _lock_officers(session: Session, officer_ids: list[int]) -> None:
    # FOR NO KEY UPDATE: other makers and redeemers of these officers wait; rows that merely
    # reference an officer (pings, credentials) do not. SQLite ignores the clause.
    session.execute(
        sa_select(col(Officer.id))
        .where(col(Officer.id).in_(officer_ids))
        .order_by(col(Officer.id))
        .with_for_update(key_share=True)
    ).all()


def _officers(
    session: Session, authority: Authority, polsek: str | None, nrp: str | None
) -> list[tuple[Officer, Unit]]:
    """The officers a request names, inside the actor's area; by unit name, then name."""
    # An officer's area is its unit's, as for its device tokens (backend/users/service.py).
    where: list[ColumnElement[bool]] = [authority.where_reached(col(Unit.kabupaten_code))]
    if polsek is not None:
        unit = session.exec(select(Unit).where(col(Unit.code) == polsek)).first()
        if unit is None or not authority.reaches(unit.kabupaten_code):
            # A unit of another area is answered like one that does not exist.
            raise EnrolmentError("polsek", f"no unit {polsek} in your area")
        where.append(col(Unit.id) == unit.id)
    if nrp is not None:
        where.append(col(Officer.nrp) == nrp)
    q = (
        select(Officer, Unit)
        .join(Unit, col(Unit.id) == col(Officer.unit_id))
        .where(*where)
        .order_by(col(Unit.name), col(Officer.name), col(Officer.nrp))
        .limit(MAX_OFFICERS + 1)
    )
    rows = [(o, u) for o, u in session.exec(q)]
    if nrp is not None and not rows:
        where_ = f" in {polsek}" if polsek is not None else ""
        raise EnrolmentError("nrp", f"no officer with NRP {nrp}{where_} in your area")
    if len(rows) > MAX_OFFICERS:
        raise EnrolmentError(
            "polsek", f"more than {MAX_OFFICERS} officers: choose one Polsek or one NRP"
        )
    return rows


def create_links(
    *,
    session: Session,
    authority: Authority,
    actor: str,
    now: datetime,
    hours: float,
    polsek: str | None = None,
    nrp: str | None = None,
    chat_secret: str | None = None,
) -> list[IssuedLink]:
    """Make one link per officer named (one Polsek, one NRP, or the actor's whole area).

    Each officer's earlier links that still wait are revoked; one audit entry lists the
    officers (never the codes). With `chat_secret` each link also gets a six-digit code for
    `DAFTAR` by chat or SMS (backend/channels), kept as its HMAC with that secret.
    """
    rows = _officers(session, authority, polsek, nrp)
    if not rows:
        return []
    ids = [o.id for o, _ in rows if o.id is not None]
    _lock_officers(session, ids)
    revoked = list(
        session.execute(
            update(Enrolment)
            .where(
                col(Enrolment.officer_id).in_(ids),
                col(Enrolment.used_at).is_(None),
                col(Enrolment.revoked_at).is_(None),
                col(Enrolment.expires_at) > now,
            )
            .values(revoked_at=now)
            .returning(col(Enrolment.id))
        ).scalars()
    )
    expires_at = now + timedelta(hours=hours)
    made: list[tuple[Enrolment, Officer, Unit, str, str | None]] = []
    chat_codes = _chat_codes(session, chat_secret, len(rows)) if chat_secret else []
    for i, (o, u) in enumerate(rows):
        assert o.id is not None
        code = new_code()
        chat = chat_codes[i] if chat_codes else None
        e = Enrolment(
            officer_id=o.id,
            code_hash=hash_token(code),
            created_at=now,
            expires_at=expires_at,
            created_by=actor[:160],
            chat_code_hash=chat_code_hash(chat_secret, chat) if chat and chat_secret else None,
        )
        session.add(e)
        made.append((e, o, u, code, chat))
    session.flush()
    data: dict[str, Any] = {
        "officers": [o.nrp for o, _ in rows],
        "enrolment_ids": [e.id for e, *_ in made],
        "chat_codes": bool(chat_codes),
        "expires_at": expires_at.isoformat(),
        "revoked_links": sorted(revoked),
    }
    if polsek is not None:
        data["polsek"] = polsek
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action="enrolment.create",
                subject_kind="unit" if polsek is not None else "officer",
                subject=polsek if polsek is not None else (nrp or None),
                data=data,
                area_code=common_area(u.kabupaten_code for _, u in rows),
            )
        ],
    )
    session.commit()
    links = []
    for e, o, u, code, chat in made:
        assert e.id is not None
        links.append(IssuedLink(e.id, card(o, u), code, expires_at, chat))
    return links


def _chat_codes(session: Session, secret: str, n: int) -> list[str]:
    """`n` six-digit codes whose HMACs no enrolment holds yet (the column is unique)."""
    codes: list[str] = []
    while len(codes) < n:
        wanted = {new_chat_code() for _ in range(n - len(codes))} - set(codes)
        by_hash = {chat_code_hash(secret, c): c for c in wanted}
        taken = session.exec(
            select(Enrolment.chat_code_hash).where(col(Enrolment.chat_code_hash).in_(by_hash))
        ).all()
        codes.extend(c for h, c in by_hash.items() if h not in set(taken))
    return codes


def redeem(*, session: Session, code: str, now: datetime, remote: str | None) -> Redeemed:
    """Exchange a link's code for its officer's device credential, once; raise EnrolmentError."""
    found = session.exec(
        select(Enrolment, Officer, Unit)
        .join(Officer, col(Officer.id) == col(Enrolment.officer_id))
        .join(Unit, col(Unit.id) == col(Officer.unit_id))
        .where(col(Enrolment.code_hash) == hash_token(code))
    ).first()
    if found is None:
        raise refusal(RedeemRefusal.UNKNOWN)
    e, officer, unit = found
    assert e.id is not None and officer.id is not None
    if (state := state_of(e, now)) is not EnrolmentState.WAITING:
        raise refusal(RedeemRefusal(state.value))
    _lock_officers(session, [officer.id])
    # Compare-and-set: of two phones opening the same link at once, exactly one moves used_at
    # from NULL; the other finds it set (PostgreSQL re-checks the row after the first commits).
    claimed = session.execute(
        update(Enrolment)
        .where(
            col(Enrolment.id) == e.id,
            col(Enrolment.used_at).is_(None),
            col(Enrolment.revoked_at).is_(None),
            col(Enrolment.expires_at) > now,
        )
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        session.refresh(e)
        state = state_of(e, now)
        raise refusal(
            RedeemRefusal(state.value)
            if state is not EnrolmentState.WAITING
            else RedeemRefusal.USED
        )
    # The officer's earlier phones: whatever their enrolments produced, still working or not.
    earlier = sa_select(col(Enrolment.credential_id)).where(
        col(Enrolment.officer_id) == officer.id,
        col(Enrolment.id) != e.id,
        col(Enrolment.credential_id).is_not(None),
    )
    revoked = sorted(
        session.execute(
            update(Credential)
            .where(col(Credential.id).in_(earlier), col(Credential.revoked_at).is_(None))
            .values(revoked_at=now)
            .returning(col(Credential.id))
        ).scalars()
    )
    cred, token = new_credential(
        kind=CredentialKind.DEVICE,
        name=f"lapor {officer.nrp}",
        now=now,
        officer_id=officer.id,
        area_code=unit.kabupaten_code,
    )
    session.add(cred)
    session.flush()
    session.execute(
        update(Enrolment).where(col(Enrolment.id) == e.id).values(credential_id=cred.id)
    )
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=f"device:{cred.name}#{cred.id}",
                action="enrolment.redeem",
                subject_kind="officer",
                subject=officer.nrp,
                data={
                    "enrolment_id": e.id,
                    "credential_id": cred.id,
                    "revoked_credentials": revoked,
                    "remote": remote,
                },
                area_code=unit.kabupaten_code,
            )
        ],
    )
    session.commit()
    session.refresh(cred)
    return Redeemed(cred, token, card(officer, unit), revoked)


def _public(e: Enrolment, o: Officer, u: Unit, now: datetime) -> EnrolmentPublic:
    assert e.id is not None
    return EnrolmentPublic(
        id=e.id,
        officer=card(o, u),
        state=state_of(e, now),
        created_at=e.created_at,
        expires_at=e.expires_at,
        used_at=e.used_at,
        revoked_at=e.revoked_at,
        credential_id=e.credential_id,
        created_by=e.created_by,
    )


def _reached(authority: Authority, *where: ColumnElement[bool]) -> Any:
    return (
        select(Enrolment, Officer, Unit)
        .join(Officer, col(Officer.id) == col(Enrolment.officer_id))
        .join(Unit, col(Unit.id) == col(Officer.unit_id))
        .where(authority.where_reached(col(Unit.kabupaten_code)), *where)
    )


def list_links(
    *,
    session: Session,
    authority: Authority,
    now: datetime,
    polsek: str | None = None,
    nrp: str | None = None,
    limit: int = 1000,
) -> list[EnrolmentPublic]:
    """Links of the officers the actor reaches, newest first, with their state (never a code)."""
    where: list[ColumnElement[bool]] = []
    if polsek is not None:
        where.append(col(Unit.code) == polsek)
    if nrp is not None:
        where.append(col(Officer.nrp) == nrp)
    q = _reached(authority, *where).order_by(col(Enrolment.id).desc()).limit(limit)
    return [_public(e, o, u, now) for e, o, u in session.exec(q)]


def revoke_link(
    *, session: Session, enrolment_id: int, now: datetime, actor: str, authority: Authority
) -> EnrolmentPublic:
    """Revoke a link that was not used yet (once, audited); a used one is the device's to revoke."""
    found = session.exec(_reached(authority, col(Enrolment.id) == enrolment_id)).first()
    if found is None:
        # Other areas' links are answered like ids that do not exist.
        raise EnrolmentError("id", f"no enrolment {enrolment_id}", 404)
    e, o, u = found
    res = session.execute(
        update(Enrolment)
        .where(
            col(Enrolment.id) == enrolment_id,
            col(Enrolment.used_at).is_(None),
            col(Enrolment.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )
    if res.rowcount == 1:  # type: ignore[attr-defined]
        append(
            session=session,
            records=[
                AuditRecord(
                    at=now,
                    actor=actor,
                    action="enrolment.revoke",
                    subject_kind="officer",
                    subject=o.nrp,
                    data={"enrolment_id": enrolment_id},
                    area_code=u.kabupaten_code,
                )
            ],
        )
    session.commit()
    session.refresh(e)
    if e.used_at is not None and e.revoked_at is None:
        raise EnrolmentError(
            "id",
            f"enrolment {enrolment_id} was used: revoke its device credential "
            f"{e.credential_id} instead",
            409,
        )
    return _public(e, o, u, now)
