"""`posko audit verify|export`: check the chain and its checkpoints; export a TPS's history.

Run it with the server's POSKO_AUDIT_KEY (or POSKO_SECRET_KEY): without the key nothing can be
checked, and a wrong key is named as such.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from sqlmodel import Session

from backend.audit.anchor import read_anchors
from backend.audit.history import history_csv, tps_history
from backend.audit.keys import key_from_options
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
def audit_verify(
    anchors: Annotated[
        list[Path] | None,
        typer.Option(
            "--anchors",
            help="Anchor file(s) of signed checkpoints (default: POSKO_AUDIT_ANCHOR_PATH); "
            "repeat for the files of several nodes or a webhook receiver's log.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check every entry's hash and link, and the checkpoints; exit 1 naming what is wrong."""
    with command_engine(database_url, migrate=False) as (settings, engine):
        key = key_from_options(engine.get_execution_options())
        paths = list(anchors or [])
        configured = settings.audit_anchor_path
        if not paths and configured is not None and configured.exists():
            paths = [configured]
        anchor_set = read_anchors(paths, key)
        with Session(engine) as session:
            result = verify(session=session, anchors=anchor_set, key=key)
    for problem in result.anchor_problems:
        typer.echo(f"anchor line not trusted: {problem}", err=True)
    if result.bad_seq is not None:
        typer.echo(f"audit chain BROKEN at entry {result.bad_seq}: {result.reason}", err=True)
        typer.echo(f"({result.checked} entries before it are intact)", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit chain ok: {result.checked} entries")
    if result.keyed_from > 1:
        typer.echo(f"entries before {result.keyed_from} predate keyed chaining (plain SHA-256)")
    if paths:
        typer.echo(
            f"{result.anchors} checkpoints in {len(paths)} anchor file(s) match the chain, "
            f"the newest at entry {result.anchored_seq}"
        )
        if result.superseded:
            typer.echo(
                f"{result.superseded} checkpoints belong to the chain that the erase of the "
                "election data ended (entry 1 says when and by whom)"
            )
    else:
        typer.echo(
            "no anchor file: deleting the newest entries and rolling the head back would go "
            "unnoticed (set POSKO_AUDIT_ANCHOR_PATH or pass --anchors)",
            err=True,
        )
    if not result.ok:
        raise typer.Exit(1)


@app.command("export")
def audit_export(
    tps: Annotated[str, typer.Option(help="TPS code")],
    file_format: Annotated[
        Literal["json", "csv"], typer.Option("--format", help="json or csv")
    ] = "json",
    out: Annotated[Path | None, typer.Option(help="file to write (default: stdout)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export a TPS's full history: pings, transitions, incidents and steps, alerts, audit."""
    with _session(database_url) as session:
        history = tps_history(session=session, code=tps)
    if history is None:
        raise typer.BadParameter(f"no TPS {tps}", param_hint="--tps")
    text = history_csv(history) if file_format == "csv" else history.model_dump_json(indent=2)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        typer.echo(f"wrote {len(history.rows)} rows to {out}")
