"""`posko export DATASET --format … --area … --out FILE`: an export read from the database."""

import contextlib
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from backend.areas import AreaError, narrow
from backend.audit.service import cli_actor
from backend.clock import Clock
from backend.db import command_engine
from backend.exports.datasets import DATASETS, Format, Scope
from backend.exports.service import Export, ExportError, check_window, open_export, resolve


def _moment(value: str | None, hint: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not ISO 8601", param_hint=hint) from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give the offset, e.g. +07:00 for WIB", param_hint=hint)
    return moment


def export(
    dataset: Annotated[str, typer.Argument(help=f"one of: {', '.join(DATASETS)}")],
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv, xlsx or geojson (default: from --out, else csv)"),
    ] = None,
    area: Annotated[
        str | None, typer.Option("--area", help="a province (16) or kabupaten (16.08)")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="from this moment, inclusive (ISO 8601 + offset)")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="to this moment, exclusive (ISO 8601 + offset)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="the file to write (default: standard output)")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Override POSKO_DATABASE_URL.")
    ] = None,
) -> None:
    """Export a dataset, read from the database directly; audited as `export.read` (via cli)."""
    if file_format is None:
        suffix = out.suffix.lstrip(".").lower() if out is not None else ""
        file_format = suffix if suffix in {f.value for f in Format} else Format.CSV.value
    try:
        spec, fmt = resolve(dataset, file_format)
        scope = Scope(
            area=narrow(None, area), since=_moment(since, "--from"), until=_moment(until, "--to")
        )
        check_window(scope.since, scope.until)
    except ExportError as err:
        hint = {"dataset": "DATASET", "format": "--format"}.get(err.field, f"--{err.field}")
        raise typer.BadParameter(err.reason, param_hint=hint) from None
    except AreaError as err:
        raise typer.BadParameter(err.reason, param_hint="--area") from None
    if fmt is Format.XLSX and out is None:
        raise typer.BadParameter("xlsx is a file: give --out", param_hint="--out")
    with command_engine(database_url) as (settings, engine):
        now = Clock.from_settings(settings).now()
        export = open_export(
            engine=engine, spec=spec, fmt=fmt, scope=scope, actor=cli_actor(), via="cli", now=now
        )
        if out is None:
            for chunk in export.chunks():
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        else:
            _write(out, export)
    where = str(out) if out is not None else "standard output"
    typer.echo(
        f"{export.rows} rows of {spec.name} ({scope.area or 'nasional'}) to {where}", err=True
    )


def _write(out: Path, export: Export) -> None:
    """Write beside `out`, then rename: a reader never sees half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        if export.fmt is Format.XLSX:
            os.close(fd)
            export.write_xlsx(tmp)
        else:
            with os.fdopen(fd, "wb") as f:
                for chunk in export.chunks():
                    f.write(chunk)
        tmp.replace(out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
