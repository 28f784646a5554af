"""`posko audit verify|export`: check the hash chain; export a TPS's after-action history."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from sqlmodel import Session

from backend.audit.history import history_csv, tps_history
from backend.audit.service import verify
from backend.db import command_engine

app = typer.Typer(help="The audit trail: verify the chain, export histories.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Override POSKO_DATABASE_URL.")
]


@contextmanager
def _session(database_url: str | None) -> Iterator[Session]:
    with command_engine(database_url, migrate=False) as (_, engine), Session(engine) as session:
        yield session


@app.command("verify")
def audit_verify(database_url: DatabaseUrl = None) -> None:
    """Check every entry's hash and link; exit 1 naming the first bad entry."""
    with _session(database_url) as session:
        result = verify(session=session)
    if result.ok:
        typer.echo(f"audit chain ok: {result.checked} entries")
        return
    typer.echo(f"audit chain BROKEN at entry {result.bad_seq}: {result.reason}", err=True)
    typer.echo(f"({result.checked} entries before it are intact)", err=True)
    raise typer.Exit(1)


@app.command("export")
def audit_export(
    tps: Annotated[str, typer.Option(help="TPS code")],
    format: Annotated[Literal["json", "csv"], typer.Option(help="json or csv")] = "json",
    out: Annotated[Path | None, typer.Option(help="file to write (default: stdout)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export a TPS's full history: pings, transitions, incidents and steps, alerts, audit."""
    with _session(database_url) as session:
        history = tps_history(session=session, code=tps)
    if history is None:
        raise typer.BadParameter(f"no TPS {tps}", param_hint="--tps")
    text = history_csv(history) if format == "csv" else history.model_dump_json(indent=2)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        typer.echo(f"wrote {len(history.rows)} rows to {out}")
