"""People: passwords, a growing wait after repeated failures, sessions that end with the shift."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from backend.audit.service import list_entries, verify
from backend.auth.service import AuthError, CredentialResolver
from backend.authority import SERVER, Authority
from backend.config import Settings
from backend.users.service import (
    LoginRefusedError,
    UserError,
    claim_attempt,
    get_by_username,
    login,
    logout,
    unlock,
    update_user,
)
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


def test_after_five_wrong_passwords_the_right_one_waits_a_short_delay_then_signs_in(
    engine: Engine, settings: Settings
) -> None:
    settings = settings.model_copy(update={"login_delay_s": 30.0, "login_delay_max_s": 300.0})
    add_user(engine, settings, "budi", Role.COMMANDER)
    for i in range(5):
        with pytest.raises(LoginRefusedError) as err:
            _login(engine, settings, "salah", T + timedelta(seconds=i))
        assert err.value.retry_after_s is None  # a password check, not a refusal unchecked
    # The fifth failure (at T+4 s) asks for 30 s: the right password is refused until then,
    # without a password check, saying how long is left.
    with pytest.raises(LoginRefusedError) as err:
        _login(engine, settings, PASSWORD, T + timedelta(seconds=10))
    assert err.value.retry_after_s == 24
    signed = _login(engine, settings, PASSWORD, T + timedelta(seconds=34))
    assert (signed.user.failed_logins, signed.user.locked_until) == (0, None)
    with Session(engine) as s:
        actions = [e.action for e in list_entries(session=s, subject="budi")]
        assert verify(session=s).ok
    # Every checked guess is in the chain; the early attempt was refused unchecked (the API
    # keeps it as an auth failure), so it adds no chain row.
    assert actions == ["auth.login"] + ["auth.login_failed"] * 5 + ["user.created"]


def test_the_wait_doubles_with_each_further_failure_up_to_its_cap(
    engine: Engine, settings: Settings
) -> None:
    settings = settings.model_copy(update={"login_delay_s": 10.0, "login_delay_max_s": 35.0})
    add_user(engine, settings, "budi", Role.OPERATOR)
    at = T
    waits = []
    for _ in range(8):
        with pytest.raises(LoginRefusedError):
            _login(engine, settings, "salah", at)
        with Session(engine) as s:
            user = get_by_username(session=s, username="budi")
        assert user is not None
        waits.append(0 if user.locked_until is None else (user.locked_until - at).seconds)
        at = user.locked_until or at + timedelta(seconds=1)
    assert waits == [0, 0, 0, 0, 10, 20, 35, 35]


def test_a_password_check_in_progress_holds_off_a_parallel_attempt_after_the_wait(
    engine: Engine, settings: Settings
) -> None:
    settings = settings.model_copy(update={"login_delay_s": 10.0})
    add_user(engine, settings, "budi", Role.OPERATOR)
    for _ in range(5):
        with pytest.raises(LoginRefusedError):
            _login(engine, settings, "salah", T)
    later = T + timedelta(seconds=10)
    # Another node has begun a check at the same moment (it claimed the attempt) ...
    with Session(engine) as s:
        user = get_by_username(session=s, username="budi")
        assert user is not None
        assert claim_attempt(session=s, user=user, now=later, settings=settings) is None
    # ... so this one is refused unchecked, even with the right password.
    with pytest.raises(LoginRefusedError) as err:
        _login(engine, settings, PASSWORD, later)
    assert err.value.retry_after_s == 20


def test_an_admin_unlock_lets_the_user_in_at_once_and_is_audited(
    engine: Engine, settings: Settings
) -> None:
    budi = add_user(engine, settings, "budi", Role.COMMANDER, area="16.08")
    for _ in range(5):
        with pytest.raises(LoginRefusedError):
            _login(engine, settings, "salah", T)
    with pytest.raises(LoginRefusedError, match="try again"):
        _login(engine, settings, PASSWORD, T)
    with Session(engine) as s:
        user = unlock(
            session=s,
            user_id=budi,
            now=T,
            actor="person:admin oku#7",
            authority=Authority(Role.ADMIN, "16"),
        )
    assert (user.failed_logins, user.locked_until) == (0, None)
    assert _login(engine, settings, PASSWORD, T).user.username == "budi"
    with Session(engine) as s:
        entry = list_entries(session=s, subject="budi", action_prefix="user.unlocked")[0]
        assert verify(session=s).ok
    assert entry.actor == "person:admin oku#7"
    assert entry.data == {"failures": 5, "wait_until": (T + timedelta(seconds=10)).isoformat()}


def test_an_admin_cannot_unlock_a_user_outside_its_area(engine: Engine, settings: Settings) -> None:
    budi = add_user(engine, settings, "budi", Role.OPERATOR, area="16.08")
    for _ in range(5):
        with pytest.raises(LoginRefusedError):
            _login(engine, settings, "salah", T)
    for scope in ("16.09", "17"):
        with Session(engine) as s, pytest.raises(UserError) as err:
            unlock(
                session=s,
                user_id=budi,
                now=T,
                actor="admin",
                authority=Authority(Role.ADMIN, scope),
            )
        assert err.value.status == 404
    with pytest.raises(LoginRefusedError, match="try again"):
        _login(engine, settings, PASSWORD, T)


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
            authority=SERVER,
        )
    assert len(ended) == 1
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
