"""People: passwords, lockout after repeated failures, sessions that end with the shift."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from backend.audit.service import list_entries, verify
from backend.auth.service import AuthError, CredentialResolver
from backend.config import Settings
from backend.users.service import LoginRefusedError, get_by_username, login, logout, update_user
from schemas.enums import CredentialKind, Role
from schemas.ops import UserUpdate
from tests.ops.conftest import PASSWORD, add_user
from tests.ops.harness import wib

T = wib(27, "06:00")


def _login(engine: Engine, settings: Settings, password: str, at=T, user="budi"):  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return login(session=s, username=user, password=password, now=at, settings=settings)


def test_password_is_stored_only_as_an_argon2id_hash(engine: Engine, settings: Settings) -> None:
    add_user(engine, settings, "budi", Role.OPERATOR)
    with Session(engine) as s:
        user = get_by_username(session=s, username="budi")
    assert user is not None and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_login_opens_a_session_that_expires_after_one_shift(
    engine: Engine, settings: Settings
) -> None:
    add_user(engine, settings, "budi", Role.OPERATOR)
    signed = _login(engine, settings, PASSWORD)
    assert signed.credential.kind is CredentialKind.SESSION
    assert signed.credential.expires_at == T + timedelta(hours=12)
    resolver = CredentialResolver(engine, 0)
    who = resolver.resolve(signed.token, now=T + timedelta(hours=11, minutes=59))
    assert (who.role, who.name) == (Role.OPERATOR, "budi")
    with pytest.raises(AuthError, match="expired"):
        resolver.resolve(signed.token, now=T + timedelta(hours=12))


def test_five_failures_lock_the_account_for_fifteen_minutes_even_with_the_right_password(
    engine: Engine, settings: Settings
) -> None:
    add_user(engine, settings, "budi", Role.OPERATOR)
    for i in range(4):
        with pytest.raises(LoginRefusedError) as err:
            _login(engine, settings, "salah", T + timedelta(minutes=i))
        assert err.value.locked_until is None
    with pytest.raises(LoginRefusedError):
        _login(engine, settings, "salah", T + timedelta(minutes=4))
    with pytest.raises(LoginRefusedError) as err:
        _login(engine, settings, PASSWORD, T + timedelta(minutes=5))
    assert err.value.locked_until == T + timedelta(minutes=19)
    assert _login(engine, settings, PASSWORD, T + timedelta(minutes=19)).user.failed_logins == 0
    with Session(engine) as s:
        actions = [e.action for e in list_entries(session=s, subject="budi")]
        assert verify(session=s).ok
    assert actions.count("auth.login_failed") == 5
    assert actions[:3] == ["auth.login", "auth.login_locked", "auth.lockout"]


def test_a_success_resets_the_failure_count(engine: Engine, settings: Settings) -> None:
    add_user(engine, settings, "budi", Role.OPERATOR)
    for _ in range(4):
        with pytest.raises(LoginRefusedError):
            _login(engine, settings, "salah")
    _login(engine, settings, PASSWORD)
    for _ in range(4):
        with pytest.raises(LoginRefusedError):
            _login(engine, settings, "salah")
    assert _login(engine, settings, PASSWORD).user.locked_until is None


def test_unknown_and_disabled_users_are_refused_alike(engine: Engine, settings: Settings) -> None:
    add_user(engine, settings, "budi", Role.OPERATOR)
    signed = _login(engine, settings, PASSWORD)
    with Session(engine) as s:
        user = get_by_username(session=s, username="budi")
        assert user is not None and user.id is not None
        _, ended = update_user(
            session=s,
            user_id=user.id,
            data=UserUpdate(is_active=False),
            now=T,
            actor="admin",
            settings=settings,
        )
    assert ended == 1
    with pytest.raises(AuthError, match="revoked"):
        CredentialResolver(engine, 0).resolve(signed.token, now=T)
    for user_name in ("budi", "siapa"):
        with pytest.raises(LoginRefusedError, match="wrong username or password"):
            _login(engine, settings, PASSWORD, user=user_name)


def test_logout_revokes_the_session(engine: Engine, settings: Settings) -> None:
    add_user(engine, settings, "budi", Role.COMMANDER)
    signed = _login(engine, settings, PASSWORD)
    assert signed.credential.id is not None
    with Session(engine) as s:
        assert logout(session=s, credential_id=signed.credential.id, actor="budi", now=T)
    with pytest.raises(AuthError, match="revoked"):
        CredentialResolver(engine, 0).resolve(signed.token, now=T)
