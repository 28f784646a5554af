"""`posko report draft|sign|pdf`: situation reports from the server's own shell.

Run them with the server's POSKO_SECRET_KEY (or POSKO_AUDIT_KEY): drafting and signing append
to the audit chain, which needs its key. Times are the real clock's unless `--at` says.
"""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from backend.areas import is_area_code
from backend.audit.service import cli_actor
from backend.config import now_utc
from backend.db import command_engine
from backend.reports import render
from backend.reports.scheduler import default_period
from backend.reports.service import (
    ReportConflictError,
    create_draft,
    get,
    record_download,
    sign,
)
from schemas.reports import ReportKind

report_app = typer.Typer(help="Situation reports: draft, sign, print.", no_args_is_help=True)
DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Override POSKO_DATABASE_URL.")
]


def _moment(value: str | None, param: str) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not ISO 8601", param_hint=param) from None
    if at.tzinfo is None:
        raise typer.BadParameter("give the offset, e.g. +07:00 for WIB", param_hint=param)
    return at


@report_app.command("draft")
def report_draft(
    area: Annotated[str, typer.Option(help="kabupaten code, e.g. 16.08")],
    kind: Annotated[ReportKind, typer.Option(help="hourly, on_demand or daily")] = (
        ReportKind.ON_DEMAND
    ),
    start: Annotated[str | None, typer.Option("--from", help="period start (ISO 8601)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="period end (ISO 8601)")] = None,
    at: Annotated[str | None, typer.Option(help="draft as of this moment (exercise)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Draft (or re-draft) a kabupaten's report; print its id and version."""
    if not is_area_code(area) or len(area) != 5:
        raise typer.BadParameter("a kabupaten code such as 16.08", param_hint="--area")
    now = _moment(at, "--at") or now_utc()
    with command_engine(database_url) as (settings, engine), Session(engine) as session:
        p0, p1 = default_period(kind, now, settings.report_every_min)
        p0 = _moment(start, "--from") or p0
        p1 = _moment(end, "--to") or p1
        if p1 <= p0:
            raise typer.BadParameter("the period must end after it starts", param_hint="--to")
        r = create_draft(
            session=session,
            area=area,
            kind=kind,
            period_start=p0,
            period_end=p1,
            now=now,
            settings=settings,
            actor=cli_actor(),
        )
    typer.echo(f"report {r.id} v{r.version} ({r.kind.value}, {r.status.value})")


@report_app.command("sign")
def report_sign(
    report_id: Annotated[int, typer.Argument(help="report id")],
    name: Annotated[str, typer.Option(help="the commander's name")],
    rank: Annotated[str, typer.Option(help="rank, e.g. AKBP")],
    nrp: Annotated[str, typer.Option(help="NRP")],
    database_url: DatabaseUrl = None,
) -> None:
    """Sign a draft: frozen, hashed into the audit chain, queued for the Polda."""
    if not nrp.isascii() or not nrp.isdigit() or not 8 <= len(nrp) <= 18:
        raise typer.BadParameter("8 to 18 digits", param_hint="--nrp")
    with command_engine(database_url) as (settings, engine), Session(engine) as session:
        if get(session=session, report_id=report_id) is None:
            raise typer.BadParameter(f"no report {report_id}", param_hint="REPORT_ID")
        try:
            r = sign(
                session=session,
                report_id=report_id,
                name=name,
                rank=rank,
                nrp=nrp,
                now=now_utc(),
                actor=cli_actor(),
                settings=settings,
            )
        except ReportConflictError as err:
            typer.echo(f"refused: {err.reason}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"report {r.id} v{r.version} signed, sha256 {r.content_sha256}")


@report_app.command("pdf")
def report_pdf(
    report_id: Annotated[int, typer.Argument(help="report id")],
    out: Annotated[Path, typer.Option(help="PDF file to write")],
    database_url: DatabaseUrl = None,
) -> None:
    """Print a report to PDF with headless Chromium."""
    with command_engine(database_url) as (settings, engine), Session(engine) as session:
        r = get(session=session, report_id=report_id)
        if r is None:
            raise typer.BadParameter(f"no report {report_id}", param_hint="REPORT_ID")
        page = render.html(r, settings)
    try:
        data = render.pdf(page, settings)
    except render.PdfError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
    out.write_bytes(data)
    with command_engine(database_url) as (_, engine), Session(engine) as session:
        record_download(session=session, report=r, actor=cli_actor(), fmt="pdf", now=now_utc())
    typer.echo(f"wrote {len(data)} bytes to {out}")
