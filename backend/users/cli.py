"""`posko user add|list|disable|unlock` and `posko kiosk issue|revoke`: people and wall displays.

A command run on the server holds everything (`authority.SERVER`): whoever has the machine can
already read the database. What it does is audited as `cli:<user>`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlmodel import Session

from backend.areas import is_area_code
from backend.audit.service import cli_actor
from backend.auth.revocation import announce_from_cli
from backend.authority import SERVER, GrantError
from backend.clock import Clock
from backend.config import Settings
from backend.db import command_engine
from backend.users.service import (
    UserError,
    create,
    get_by_username,
    issue_credential,
    list_users,
    revoke_credential,
    unlock,
    update_user,
)
from schemas.areas import AREA_CODE_REASON
from schemas.enums import CredentialKind, Role
from schemas.ops import UserCreate, UserUpdate
from schemas.paths import local_path

user_app = typer.Typer(help="People who sign in to the dashboard.", no_args_is_help=True)
kiosk_app = typer.Typer(help="Watch-only links for wall displays.", no_args_is_help=True)


def area_option(value: str | None) -> str | None:
    """Typer callback for `--area`: an area code or nothing ("16%" would scope by wildcard)."""
    if value is not None and not is_area_code(value):
        raise typer.BadParameter(f"{value!r}: {AREA_CODE_REASON}")
    return value


AreaOption = Annotated[
    str | None, typer.Option(help="province or kabupaten code", callback=area_option)
]
DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Override POSKO_DATABASE_URL.")
]


@contextmanager
def _open(database_url: str | None) -> Iterator[tuple[Settings, Session]]:
    with command_engine(database_url) as (settings, engine), Session(engine) as session:
        yield settings, session


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[Role, typer.Option(help="viewer|operator|commander|admin")],
    name: Annotated[str, typer.Option(help="full name")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    area: AreaOption = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a user who signs in with a password."""
    try:
        data = UserCreate(
            username=username, full_name=name, role=role, password=password, area_code=area
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with _open(database_url) as (settings, session):
        try:
            user = create(
                session=session,
                data=data,
                now=Clock.from_settings(settings).now(),
                actor=cli_actor(),
                settings=settings,
                authority=SERVER,
            )
        except (UserError, GrantError) as err:
            raise typer.BadParameter(err.reason) from None
    typer.echo(f"user {user.id} {user.username} ({user.role.value})")


@user_app.command("list")
def user_list(database_url: DatabaseUrl = None) -> None:
    """List users."""
    with _open(database_url) as (_, session):
        for u in list_users(session=session, authority=SERVER):
            state = "active" if u.is_active else "disabled"
            if u.failed_logins:
                state += f", {u.failed_logins} wrong passwords"
            if u.locked_until is not None:
                state += f", next attempt at {u.locked_until:%Y-%m-%d %H:%M:%S} UTC"
            typer.echo(f"{u.id:>5}  {u.username:<20} {u.role.value:<9} {u.full_name}  [{state}]")


@user_app.command("disable")
def user_disable(username: str, database_url: DatabaseUrl = None) -> None:
    """Disable a user and end their sessions."""
    with _open(database_url) as (settings, session):
        user = get_by_username(session=session, username=username)
        if user is None or user.id is None:
            raise typer.BadParameter(f"no user {username}")
        _, ended = update_user(
            session=session,
            user_id=user.id,
            data=UserUpdate(is_active=False),
            now=Clock.from_settings(settings).now(),
            actor=cli_actor(),
            settings=settings,
            authority=SERVER,
        )
        announce_from_cli(settings.broadcast_url, session, ended)
    typer.echo(f"disabled {username}; {len(ended)} session(s) ended")


@user_app.command("unlock")
def user_unlock(username: str, database_url: DatabaseUrl = None) -> None:
    """Let a user sign in again at once after too many wrong passwords."""
    with _open(database_url) as (settings, session):
        user = get_by_username(session=session, username=username)
        if user is None or user.id is None:
            raise typer.BadParameter(f"no user {username}")
        unlock(
            session=session,
            user_id=user.id,
            now=Clock.from_settings(settings).now(),
            actor=cli_actor(),
            authority=SERVER,
        )
    typer.echo(f"unlocked {username}")


@kiosk_app.command("issue")
def kiosk_issue(
    name: Annotated[str, typer.Option(help="which wall")] = "wall display",
    area: AreaOption = None,
    next_page: Annotated[str, typer.Option("--next", help="page to open")] = "/wall",
    database_url: DatabaseUrl = None,
) -> None:
    """Issue a watch-only kiosk credential and print its sign-in URL (shown once)."""
    from urllib.parse import urlencode

    if local_path(next_page) is None:
        raise typer.BadParameter("give a path on this server, such as /wall", param_hint="--next")
    with _open(database_url) as (settings, session):
        try:
            cred, token, _ = issue_credential(
                session=session,
                kind=CredentialKind.KIOSK,
                name=name,
                now=Clock.from_settings(settings).now(),
                actor=cli_actor(),
                authority=SERVER,
                area_code=area,
            )
        except GrantError as err:
            raise typer.BadParameter(err.reason, param_hint="--area") from None
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    typer.echo(f"kiosk credential {cred.id} ({cred.name})")
    typer.echo(f"{base}/login?{urlencode({'token': token, 'next': next_page})}")
    typer.echo("Shown once. Revoke with `posko kiosk revoke ID`.")


@kiosk_app.command("revoke")
def kiosk_revoke(credential_id: int, database_url: DatabaseUrl = None) -> None:
    """Revoke a kiosk credential; walls using it drop out within seconds."""
    with _open(database_url) as (settings, session):
        try:
            cred = revoke_credential(
                session=session,
                credential_id=credential_id,
                now=Clock.from_settings(settings).now(),
                actor=cli_actor(),
                authority=SERVER,
                kind=CredentialKind.KIOSK,
            )
        except UserError as err:
            raise typer.BadParameter(err.reason) from None
        assert cred.id is not None
        announce_from_cli(settings.broadcast_url, session, [cred.id])
    typer.echo(f"revoked kiosk credential {cred.id} ({cred.name})")
