"""`posko officer tracker NRP`: the key an officer's tracker app (Traccar, OwnTracks) sends."""

from typing import Annotated

import typer
from sqlmodel import Session

from backend.audit.service import cli_actor
from backend.clock import Clock
from backend.db import command_engine
from backend.positions.service import TrackerError, bind_key


def tracker(
    nrp: Annotated[str, typer.Argument(help="the officer's NRP")],
    traccar: Annotated[
        str | None,
        typer.Option(
            "--traccar",
            help="bind this device identifier (at least 12 characters) instead of making one",
        ),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Override POSKO_DATABASE_URL.")
    ] = None,
) -> None:
    """Bind a tracker key to an officer (made here unless --traccar), revoking his earlier one.

    The key is the Traccar Client "device identifier" and the OwnTracks HTTP password; it is
    shown once, only its SHA-256 is kept. Audited as `tracker.bind`.
    """
    with command_engine(database_url) as (settings, engine), Session(engine) as session:
        now = Clock.from_settings(settings).now()
        try:
            officer, key = bind_key(
                session=session, nrp=nrp, key=traccar, actor=cli_actor(), now=now
            )
        except TrackerError as err:
            raise typer.BadParameter(err.reason, param_hint=f"--{err.field}") from None
        who = f"{officer.nrp} {officer.name}"  # read while the session is open
    typer.echo(f"tracker key of {who}: {key}")
    typer.echo(
        "Traccar Client: device identifier = this key, server URL = "
        "<posko>/api/v1/channels/traccar. OwnTracks (HTTP): URL "
        "<posko>/api/v1/channels/owntracks, username = NRP, password = this key."
    )
    typer.echo("Earlier keys of this officer no longer work (within a few seconds).")
