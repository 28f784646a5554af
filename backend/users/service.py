"""People: create and change users, sign in with lockout, sessions, credential administration.

Every function records what it did in the audit chain in its own transaction, so an action and
its audit entry are committed together or not at all.
"""

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import update
from sqlmodel import Session, col, select

from backend.areas import common_area
from backend.audit.service import AuditRecord, append
from backend.auth.models import Credential
from backend.auth.service import hmac_secret, new_credential
from backend.config import Settings
from backend.officers.models import Officer
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
    """Sign-in refused: wrong username or password, or locked."""

    def __init__(self, reason: str, locked_until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until


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


def list_users(*, session: Session) -> list[UserPublic]:
    """Every user, by username."""
    return [to_public(u) for u in session.exec(select(User).order_by(col(User.username)))]


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
    *, session: Session, data: UserCreate, now: datetime, actor: str, settings: Settings
) -> User:
    """Add a user."""
    if get_by_username(session=session, username=data.username) is not None:
        raise UserError("username", f"user {data.username} exists")
    user = User(
        username=data.username,
        full_name=data.full_name,
        role=data.role,
        area_code=data.area_code,
        password_hash=hasher(settings).hash(data.password),
        created_at=now,
    )
    session.add(user)
    session.flush()
    _audit(session, now, actor, "user.created", user, role=data.role.value, area=data.area_code)
    session.commit()
    session.refresh(user)
    return user


def _end_sessions(session: Session, user_id: int, now: datetime) -> int:
    res = session.execute(
        update(Credential)
        .where(col(Credential.user_id) == user_id, col(Credential.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return int(res.rowcount)  # type: ignore[attr-defined]


def update_user(
    *,
    session: Session,
    user_id: int,
    data: UserUpdate,
    now: datetime,
    actor: str,
    settings: Settings,
) -> tuple[User, int]:
    """Change a user; changing role, area, password or disabling ends their sessions.

    Returns the user and how many sessions were ended.
    """
    user = session.get(User, user_id)
    if user is None:
        raise UserError("id", f"no user {user_id}", 404)
    changed: dict[str, Any] = {}
    fields = data.model_dump(exclude_unset=True)
    for name in ("full_name", "role", "area_code", "is_active"):
        if name in fields and fields[name] != getattr(user, name):
            changed[name] = fields[name]
    if data.password is not None:
        changed["password_hash"] = hasher(settings).hash(data.password)
    if not changed:
        return user, 0
    version, old_area = user.version, user.area_code
    res = session.execute(
        update(User)
        .where(col(User.id) == user_id, col(User.version) == version)
        .values(**changed, version=version + 1)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise UserError("version", "the user changed meanwhile; try again")
    ended = 0
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
        sessions_ended=ended,
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

    Failures are counted with an atomic increment, so parallel guesses all count; the lockout
    is a compare-and-set on the counter's row.
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
    if user.locked_until is not None and user.locked_until > now:
        _audit(session, now, f"anonymous@{remote or '?'}", "auth.login_locked", user)
        session.commit()
        raise LoginRefusedError("account locked", user.locked_until)
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


def _record_failure(
    session: Session, user: User, now: datetime, settings: Settings, remote: str | None
) -> None:
    assert user.id is not None
    failures = session.execute(
        update(User)
        .where(col(User.id) == user.id)
        .values(failed_logins=col(User.failed_logins) + 1)
        .returning(col(User.failed_logins))
    ).scalar_one()
    who = f"anonymous@{remote or '?'}"
    _audit(session, now, who, "auth.login_failed", user, failures=failures)
    if failures >= settings.login_max_failures:
        until = now + timedelta(minutes=settings.login_lockout_min)
        res = session.execute(
            update(User)
            .where(col(User.id) == user.id, col(User.failed_logins) >= settings.login_max_failures)
            .values(locked_until=until, failed_logins=0, version=col(User.version) + 1)
        )
        if res.rowcount == 1:  # type: ignore[attr-defined]
            _audit(session, now, "system", "auth.lockout", user, until=until.isoformat())
    session.commit()


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
    c: Credential, officers: dict[int, str], users: dict[int, str]
) -> CredentialPublic:
    """The wire form of a credential (never its hash)."""
    assert c.id is not None
    return CredentialPublic(
        id=c.id,
        kind=c.kind,
        prefix=c.prefix,
        name=c.name,
        role=c.role,
        officer=officers.get(c.officer_id) if c.officer_id else None,
        username=users.get(c.user_id) if c.user_id else None,
        area_code=c.area_code,
        created_at=c.created_at,
        expires_at=c.expires_at,
        revoked_at=c.revoked_at,
    )


def list_credentials(
    *, session: Session, kind: CredentialKind | None = None, include_revoked: bool = False
) -> list[CredentialPublic]:
    """Credentials, newest first."""
    q = select(Credential)
    if kind is not None:
        q = q.where(col(Credential.kind) == kind)
    if not include_revoked:
        q = q.where(col(Credential.revoked_at).is_(None))
    rows = session.exec(q.order_by(col(Credential.id).desc())).all()
    officers = {o.id: o.nrp for o in session.exec(select(Officer)) if o.id is not None}
    users = {u.id: u.username for u in session.exec(select(User)) if u.id is not None}
    return [credential_public(c, officers, users) for c in rows]


def issue_credential(
    *,
    session: Session,
    kind: CredentialKind,
    name: str,
    now: datetime,
    actor: str,
    officer_nrp: str | None = None,
    area_code: str | None = None,
) -> tuple[Credential, str]:
    """Issue a device token (for an officer) or a kiosk credential, recorded in the audit."""
    officer_id = None
    if kind is CredentialKind.DEVICE:
        officer = session.exec(select(Officer).where(col(Officer.nrp) == officer_nrp)).first()
        if officer is None:
            raise UserError("nrp", f"no officer with NRP {officer_nrp}", 422)
        officer_id, area_code = officer.id, officer.kabupaten_code
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
                data={"credential_id": cred.id, "kind": kind.value, "name": name},
                area_code=cred.area_code,
            )
        ],
    )
    session.commit()
    session.refresh(cred)
    return cred, token


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
    kind: CredentialKind | None = None,
) -> Credential:
    """Revoke a credential (once), recorded in the audit."""
    cred = session.get(Credential, credential_id)
    if cred is None or (kind is not None and cred.kind is not kind):
        raise UserError("id", f"no such credential {credential_id}", 404)
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
    return cred
