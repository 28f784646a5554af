"""`posko officer enrol`: the printed sheet of one-time links that put officers' phones in service.

A command run on the server holds everything (`authority.SERVER`); what it does is audited as
`cli:<user>`, like every other command.
"""

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from backend.audit.service import cli_actor
from backend.authority import SERVER
from backend.channels.service import LinkError, link, unlink
from backend.channels.views import address_of
from backend.clock import Clock
from backend.db import command_engine
from backend.enrolment import sheet
from backend.enrolment.service import EnrolmentError, create_links, enrolment_url

officer_app = typer.Typer(help="Officers and their phones.", no_args_is_help=True)


@officer_app.command("enrol")
def enrol(
    out: Annotated[Path, typer.Option(help="where to write the print-ready sheet (HTML)")],
    polsek: Annotated[str | None, typer.Option(help="unit code, e.g. polsek-belitang")] = None,
    nrp: Annotated[str | None, typer.Option(help="one officer")] = None,
    hours: Annotated[
        float | None,
        typer.Option(min=0.01, max=720, help="hours the links work (POSKO_ENROLMENT_HOURS: 48)"),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Override POSKO_DATABASE_URL.")
    ] = None,
) -> None:
    """Write an A4 sheet of one-time enrolment QR codes (one Polsek, one NRP, or everyone).

    Each officer's earlier unused links stop working. The links are on the sheet only.
    """
    with command_engine(database_url) as (settings, engine), Session(engine) as session:
        now = Clock.from_settings(settings).now()
        try:
            links = create_links(
                session=session,
                authority=SERVER,
                actor=cli_actor(),
                now=now,
                hours=hours or settings.enrolment_hours,
                polsek=polsek,
                nrp=nrp,
                chat_secret=settings.secret_key,
            )
        except EnrolmentError as err:
            raise typer.BadParameter(err.reason, param_hint=f"--{err.field}") from None
    if not links:
        typer.echo("no officers to enrol", err=True)
        raise typer.Exit(1)
    scheme = "https" if settings.ssl_certfile else "http"  # as `posko serve` will answer
    base = settings.public_url or f"{scheme}://{settings.host}:{settings.port}"
    cards = [
        sheet.SheetCard(
            link.officer, enrolment_url(base, link.code), link.expires_at, link.chat_code
        )
        for link in links
    ]
    title = "Lembar pendaftaran HP petugas" + (f" — {polsek}" if polsek else "")
    out.write_text(sheet.render(cards, made_at=now, title=title), encoding="utf-8")
    out.chmod(0o600)  # the links on it work like keys until used or expired
    typer.echo(
        f"{len(links)} link(s), valid until {sheet.wib(links[0].expires_at)}, written to {out}"
    )
    typer.echo("Each works once. Print it and keep it like a key; then delete the file.")


@officer_app.command("link")
def link_sender(
    nrp: Annotated[str, typer.Argument(help="the officer's NRP")],
    phone: Annotated[
        str | None, typer.Option(help="WhatsApp/SMS number, e.g. 081234567890 or +6281234567890")
    ] = None,
    telegram: Annotated[str | None, typer.Option(help="Telegram chat id, e.g. 38057730")] = None,
    remove: Annotated[bool, typer.Option("--unlink", help="forget this binding instead")] = False,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Override POSKO_DATABASE_URL.")
    ] = None,
) -> None:
    """Bind a phone number or Telegram chat to an officer (their chat and SMS reports); audited."""
    with command_engine(database_url) as (settings, engine), Session(engine) as session:
        now = Clock.from_settings(settings).now()
        try:
            kind, address = address_of(phone, telegram, settings.phone_country_code)
            if remove:
                if not unlink(
                    session=session,
                    authority=SERVER,
                    actor=cli_actor(),
                    now=now,
                    kind=kind,
                    address=address,
                ):
                    raise LinkError("address", f"no {kind} {address} is bound")
                typer.echo(f"{kind} {address} unlinked")
                return
            link(
                session=session,
                authority=SERVER,
                actor=cli_actor(),
                now=now,
                nrp=nrp,
                kind=kind,
                address=address,
            )
        except LinkError as err:
            raise typer.BadParameter(err.reason, param_hint=f"--{err.field}") from None
    typer.echo(f"{kind} {address} -> officer {nrp}")
