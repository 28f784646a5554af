"""People: create and change users, sign in, sessions, credential administration.

Every function records what it did in the audit chain in its own transaction, so an action and
its audit entry are committed together or not at all. Administration takes the actor's
`Authority` (backend/authority.py): what lies outside it is absent, what it grants stays inside it.
"""

import contextlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.areas import common_area
from backend.audit.service import AuditRecord, append
from backend.auth.models import Credential
from backend.auth.service import hmac_secret, new_credential
from backend.authority import Authority
from backend.config import Settings
from backend.officers.models import Officer, Unit
from backend.officers.service import get_with_area
from backend.users.models import User
from schemas.enums import CredentialKind, Role
from schemas.ops import CredentialPublic, UserCreate, UserPublic, UserUpdate


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def hasher(settings: Settings) -> PasswordHasher:
    """The argon2id hasher the settings ask for."""
    return _hasher(settings.password_time_cost, settings.password_memory_kib)


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_kib: int) -> str:
    return _hasher(time_cost, memory_kib).hash("posko-no-such-user")


class LoginRefusedError(Exception):
    """Sign-in refused: wrong username or password, or too soon after too many wrong ones."""

    def __init__(self, reason: str, retry_after_s: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s  # set when refused unchecked: wait this long


class UserError(Exception):
    """A user change that cannot be made: field and reason."""

    def __init__(self, field: str, reason: str, status: int = 409) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.status = status


def to_public(u: User) -> UserPublic:
    """The wire form of a user."""
    assert u.id is not None
    return UserPublic(
        id=u.id,
        username=u.username,
        full_name=u.full_name,
        role=u.role,
        area_code=u.area_code,
        is_active=u.is_active,
        locked_until=u.locked_until,
        failed_logins=u.failed_logins,
        last_login_at=u.last_login_at,
        created_at=u.created_at,
    )


def get_by_username(*, session: Session, username: str) -> User | None:
    """One user by username."""
    return session.exec(select(User).where(col(User.username) == username)).first()


def list_users(*, session: Session, authority: Authority) -> list[UserPublic]:
    """The users the actor reaches, by username."""
    q = select(User).where(authority.where_reached(col(User.area_code), col(User.role)))
    return [to_public(u) for u in session.exec(q.order_by(col(User.username)))]


def get_reached(*, session: Session, user_id: int, authority: Authority) -> User:
    """One user the actor reaches; any other is answered as if it did not exist (404)."""
    user = session.get(User, user_id)
    if user is None or not authority.reaches(user.area_code, user.role):
        raise UserError("id", f"no user {user_id}", 404)
    return user


def _audit(
    session: Session,
    now: datetime,
    actor: str,
    action: str,
    u: User,
    *,
    also_in: tuple[str | None, ...] = (),
    **data: Any,
) -> None:
    # A user moved to another area is recorded where both the old and the new area see it.
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action=action,
                subject_kind="user",
                subject=u.username,
                data=data,
                area_code=common_area([u.area_code, *also_in]),
            )
        ],
    )


def create(
    *,
    session: Session,
    data: UserCreate,
    now: datetime,
    actor: str,
    settings: Settings,
    authority: Authority,
) -> User:
    """Add a user with at most the actor's role, in its area (its own if none is given)."""
    area = authority.check_grant(role=data.role, area=data.area_code)
    if get_by_username(session=session, username=data.username) is not None:
        raise UserError("username", f"user {data.username} exists")
    user = User(
        username=data.username,
        full_name=data.full_name,
        role=data.role,
        area_code=area,
        password_hash=hasher(settings).hash(data.password),
        created_at=now,
    )
    session.add(user)
    session.flush()
    _audit(session, now, actor, "user.created", user, role=data.role.value, area=area)
    session.commit()
    session.refresh(user)
    return user


def _end_sessions(session: Session, user_id: int, now: datetime) -> list[int]:
    # The ids, so that every node can be told to forget them (backend/auth/revocation.py).
    res = session.execute(
        update(Credential)
        .where(col(Credential.user_id) == user_id, col(Credential.revoked_at).is_(None))
        .values(revoked_at=now)
        .returning(col(Credential.id))
    )
    return [int(i) for i in res.scalars()]


def update_user(
    *,
    session: Session,
    user_id: int,
    data: UserUpdate,
    now: datetime,
    actor: str,
    settings: Settings,
    authority: Authority,
) -> tuple[User, list[int]]:
    """Change a user the actor reaches, never beyond the actor's own role and area.

    Changing role, area, password or disabling ends their sessions. An `area_code` of null
    means the actor's own area. Returns the user and the credential ids of the ended sessions.
    """
    user = get_reached(session=session, user_id=user_id, authority=authority)
    changed: dict[str, Any] = {}
    fields = data.model_dump(exclude_unset=True)
    for name in ("full_name", "role", "is_active"):
        if name in fields and fields[name] is None:
            del fields[name]  # null: unchanged (these are never empty)
    if "role" in fields:
        authority.check_role(fields["role"])
    if "area_code" in fields:
        fields["area_code"] = authority.grantable_area(fields["area_code"])
    for name in ("full_name", "role", "area_code", "is_active"):
        if name in fields and fields[name] != getattr(user, name):
            changed[name] = fields[name]
    if data.password is not None:
        changed["password_hash"] = hasher(settings).hash(data.password)
    if not changed:
        return user, []
    version, old_area = user.version, user.area_code
    res = session.execute(
        update(User)
        .where(col(User.id) == user_id, col(User.version) == version)
        .values(**changed, version=version + 1)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        # The version guards the reach check too: a user moved out of the actor's area since
        # it was read is not changed.
        session.rollback()
        raise UserError("version", "the user changed meanwhile; try again")
    ended: list[int] = []
    if changed.keys() & {"role", "area_code", "password_hash", "is_active"}:
        ended = _end_sessions(session, user_id, now)
    shown = {k: (v.value if isinstance(v, Role) else v) for k, v in changed.items()}
    if "password_hash" in shown:
        shown["password_hash"] = "changed"
    _audit(
        session,
        now,
        actor,
        "user.updated",
        user,
        also_in=(old_area, changed.get("area_code", old_area)),
        changes=shown,
        sessions_ended=len(ended),
    )
    session.commit()
    session.refresh(user)
    return user, ended


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A successful sign-in: the user, the session credential and its secret."""

    user: User
    credential: Credential
    token: str


def login(
    *,
    session: Session,
    username: str,
    password: str,
    now: datetime,
    settings: Settings,
    remote: str | None = None,
) -> SignedIn:
    """Check a password and open a session, or raise LoginRefusedError (recorded).

    After `login_max_failures` wrong passwords in a row each further attempt waits for a delay
    that doubles with every failure up to `login_delay_max_s`; an attempt that comes too soon is
    refused before any hashing, with the seconds left. The right password after the wait works:
    nobody is locked out for long on election day, and guessing stays slow.
    """
    ph = hasher(settings)
    user = get_by_username(session=session, username=username)
    if user is None or not user.is_active or user.id is None:
        # Same work as a real check, so timing does not tell which usernames exist.
        dummy = _dummy_hash(settings.password_time_cost, settings.password_memory_kib)
        with contextlib.suppress(VerificationError):
            ph.verify(dummy, password)
        append(
            session=session,
            records=[
                AuditRecord(
                    at=now,
                    actor=f"anonymous@{remote or '?'}",
                    action="auth.login_failed",
                    subject_kind="user",
                    subject=username[:40],
                    data={"reason": "unknown or disabled user"},
                )
            ],
        )
        session.commit()
        raise LoginRefusedError("wrong username or password")
    actor = f"user:{user.username}"
    wait_until = claim_attempt(session=session, user=user, now=now, settings=settings)
    if wait_until is not None:
        # No audit-chain row per refused guess (the caller keeps it as an auth failure): the
        # failures that began the wait are in the chain.
        wait_s = max(1, math.ceil((wait_until - now).total_seconds()))
        raise LoginRefusedError(
            f"too many wrong passwords for this user; try again in {wait_s} s", wait_s
        )
    try:
        ph.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError, VerificationError):
        _record_failure(session, user, now, settings, remote)
        raise LoginRefusedError("wrong username or password") from None
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if ph.check_needs_rehash(user.password_hash):
        values["password_hash"] = ph.hash(password)
    session.execute(
        update(User).where(col(User.id) == user.id).values(**values, version=col(User.version) + 1)
    )
    cred, token = new_credential(
        kind=CredentialKind.SESSION,
        name=user.username,
        role=user.role,
        user_id=user.id,
        area_code=user.area_code,
        now=now,
        expires_at=now + timedelta(hours=settings.session_hours),
    )
    session.add(cred)
    session.flush()
    _audit(session, now, actor, "auth.login", user, credential_id=cred.id, remote=remote)
    session.commit()
    session.refresh(user)
    session.refresh(cred)
    return SignedIn(user, cred, token)


def login_delay(failures: int, settings: Settings) -> timedelta:
    """The wait before the next attempt after `failures` wrong passwords in a row."""
    over = failures - settings.login_max_failures
    if over < 0:
        return timedelta(0)
    seconds = settings.login_delay_s * 2.0 ** min(over, 32)
    return timedelta(seconds=min(seconds, settings.login_delay_max_s))


def claim_attempt(
    *, session: Session, user: User, now: datetime, settings: Settings
) -> datetime | None:
    """Claim a password check for `user` (commits), or return until when its attempts wait."""
    assert user.id is not None
    if user.locked_until is not None and user.locked_until > now:
        return user.locked_until
    if user.failed_logins < settings.login_max_failures:
        return None
    # A user past the limit gets one password check per delay however many threads or nodes
    # guess at once: the check is claimed by moving `locked_until` on (by the wait a failure
    # would bring) with a compare-and-set, and whoever loses the race waits like the rest.
    hold = now + login_delay(user.failed_logins + 1, settings)
    claimed = session.execute(
        update(User)
        .where(
            col(User.id) == user.id,
            or_(col(User.locked_until).is_(None), col(User.locked_until) <= now),
        )
        .values(locked_until=hold)
    )
    session.commit()
    if claimed.rowcount == 1:  # type: ignore[attr-defined]
        return None
    session.refresh(user)
    return user.locked_until if user.locked_until and user.locked_until > now else hold


def _record_failure(
    session: Session, user: User, now: datetime, settings: Settings, remote: str | None
) -> None:
    assert user.id is not None
    # An atomic increment: parallel wrong guesses all count.
    failures = session.execute(
        update(User)
        .where(col(User.id) == user.id)
        .values(failed_logins=col(User.failed_logins) + 1)
        .returning(col(User.failed_logins))
    ).scalar_one()
    wait = login_delay(failures, settings)
    data: dict[str, Any] = {"failures": failures}
    if wait:
        until = now + wait
        session.execute(update(User).where(col(User.id) == user.id).values(locked_until=until))
        data["wait_until"] = until.isoformat()
    _audit(session, now, f"anonymous@{remote or '?'}", "auth.login_failed", user, **data)
    session.commit()


def unlock(
    *, session: Session, user_id: int, now: datetime, actor: str, authority: Authority
) -> User:
    """Let a user the actor reaches sign in again at once: forget their wrong passwords."""
    user = get_reached(session=session, user_id=user_id, authority=authority)
    failures, until = user.failed_logins, user.locked_until
    res = session.execute(
        update(User)
        .where(col(User.id) == user_id, col(User.version) == user.version)
        .values(failed_logins=0, locked_until=None, version=user.version + 1)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        # Also keeps the reach check true: a user moved to another area meanwhile is not touched.
        session.rollback()
        raise UserError("version", "the user changed meanwhile; try again")
    _audit(
        session,
        now,
        actor,
        "user.unlocked",
        user,
        failures=failures,
        wait_until=until.isoformat() if until is not None else None,
    )
    session.commit()
    session.refresh(user)
    return user


def logout(*, session: Session, credential_id: int, actor: str, now: datetime) -> bool:
    """End a session (revoke its credential); True if it was still open."""
    res = session.execute(
        update(Credential)
        .where(col(Credential.id) == credential_id, col(Credential.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    ended = res.rowcount == 1  # type: ignore[attr-defined]
    cred = session.get(Credential, credential_id)
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action="auth.logout",
                subject_kind="credential",
                subject=str(credential_id),
                area_code=cred.area_code if cred else None,
            )
        ],
    )
    session.commit()
    return bool(ended)


# --- credentials ---------------------------------------------------------------------------


def credential_public(
    c: Credential, *, officer: str | None = None, username: str | None = None, area: str | None
) -> CredentialPublic:
    """The wire form of a credential (never its hash)."""
    assert c.id is not None
    return CredentialPublic(
        id=c.id,
        kind=c.kind,
        prefix=c.prefix,
        name=c.name,
        role=c.role,
        officer=officer,
        username=username,
        area_code=area,
        created_at=c.created_at,
        expires_at=c.expires_at,
        revoked_at=c.revoked_at,
    )


def _credentials_reached(
    session: Session, authority: Authority, *where: ColumnElement[bool]
) -> list[tuple[Credential, CredentialPublic]]:
    """Credentials the actor reaches, newest first, with their wire form.

    A device token's area is its officer's unit's, whatever was stored when it was issued: an
    officer moved to another unit is administered there. Others keep the area they were given.
    """
    area = func.coalesce(col(Unit.kabupaten_code), col(Credential.area_code))
    q = (
        sa_select(Credential, col(Officer.nrp), col(User.username), area)
        .outerjoin(Officer, col(Officer.id) == col(Credential.officer_id))
        .outerjoin(Unit, col(Unit.id) == col(Officer.unit_id))
        .outerjoin(User, col(User.id) == col(Credential.user_id))
        .where(authority.where_reached(area, col(Credential.role)), *where)
        .order_by(col(Credential.id).desc())
    )
    return [
        (c, credential_public(c, officer=nrp, username=username, area=a))
        for c, nrp, username, a in session.execute(q).all()
    ]


def list_credentials(
    *,
    session: Session,
    authority: Authority,
    kind: CredentialKind | None = None,
    include_revoked: bool = False,
) -> list[CredentialPublic]:
    """Credentials the actor reaches, newest first."""
    where: list[ColumnElement[bool]] = []
    if kind is not None:
        where.append(col(Credential.kind) == kind)
    if not include_revoked:
        where.append(col(Credential.revoked_at).is_(None))
    return [public for _, public in _credentials_reached(session, authority, *where)]


def issue_credential(
    *,
    session: Session,
    kind: CredentialKind,
    name: str,
    now: datetime,
    actor: str,
    authority: Authority,
    officer_nrp: str | None = None,
    area_code: str | None = None,
) -> tuple[Credential, str, CredentialPublic]:
    """Issue a device token (for an officer the actor reaches) or a kiosk credential (audited).

    A kiosk's area is `area_code` inside the actor's own, or the actor's own if not given.
    """
    officer_id = None
    if kind is CredentialKind.DEVICE:
        found = get_with_area(session=session, nrp=officer_nrp or "")
        if found is None or not authority.reaches(found[1]):
            # An officer of another area is answered like one who does not exist.
            raise UserError("nrp", f"no officer with NRP {officer_nrp}", 422)
        officer_id, area_code = found[0].id, found[1]
    else:
        area_code = authority.grantable_area(area_code)
    cred, token = new_credential(
        kind=kind, name=name, now=now, officer_id=officer_id, area_code=area_code
    )
    session.add(cred)
    session.flush()
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action="credential.issued",
                subject_kind="officer" if officer_nrp else "credential",
                subject=officer_nrp or str(cred.id),
                data={
                    "credential_id": cred.id,
                    "kind": kind.value,
                    "name": name,
                    "area": area_code,
                },
                area_code=area_code,
            )
        ],
    )
    session.commit()
    session.refresh(cred)
    return cred, token, credential_public(cred, officer=officer_nrp, area=area_code)


def device_hmac(settings: Settings, cred: Credential) -> tuple[int, str]:
    """The HMAC key id and secret of a device credential."""
    assert cred.id is not None
    return cred.id, hmac_secret(settings.secret_key, cred.id, cred.token_hash)


def revoke_credential(
    *,
    session: Session,
    credential_id: int,
    now: datetime,
    actor: str,
    authority: Authority,
    kind: CredentialKind | None = None,
) -> CredentialPublic:
    """Revoke a credential the actor reaches (once), recorded in the audit."""
    found = _credentials_reached(session, authority, col(Credential.id) == credential_id)
    if not found or (kind is not None and found[0][0].kind is not kind):
        raise UserError("id", f"no such credential {credential_id}", 404)
    cred = found[0][0]
    res = session.execute(
        update(Credential)
        .where(col(Credential.id) == credential_id, col(Credential.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    if res.rowcount == 1:  # type: ignore[attr-defined]
        append(
            session=session,
            records=[
                AuditRecord(
                    at=now,
                    actor=actor,
                    action="credential.revoked",
                    subject_kind="credential",
                    subject=str(credential_id),
                    data={"kind": cred.kind.value, "name": cred.name},
                    area_code=cred.area_code,
                )
            ],
        )
    session.commit()
    session.refresh(cred)
    return found[0][1].model_copy(update={"revoked_at": cred.revoked_at})
