"""`posko replay --at …`: the live picture as of a moment, for after-action work."""

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlmodel import Session

from backend.config import WIB
from backend.db import command_engine
from backend.realtime.hub import channel_for_area
from backend.replay import service
from backend.users.cli import AreaOption, DatabaseUrl
from schemas.live import Snapshot


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not ISO 8601", param_hint="--at") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give the offset, e.g. +07:00 for WIB", param_hint="--at")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise typer.BadParameter("out of range", param_hint="--at") from None


def replay(
    at: Annotated[str, typer.Option(help="the moment, ISO 8601 with offset (+07:00 for WIB)")],
    area: AreaOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="the snapshot's JSON (GET /api/v1/snapshot's shape)")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Show TPS, incidents and alerts as the live screen showed them at a moment."""
    moment = _moment(at)
    with command_engine(database_url, migrate=False) as (_, engine), Session(engine) as session:
        state = service.state_at(session=session, area_code=area, at=moment)
        if as_json:
            snap = Snapshot(
                seq=0,
                channel=channel_for_area(area),
                taken_at=state.at,
                tps=state.tps,
                incidents=state.incidents,
                alerts=state.alerts,
            )
            typer.echo(snap.model_dump_json())
            return
        counts = service.rollup_at(session=session, area_code=area, at=moment)
    local = state.at.astimezone(WIB)
    typer.echo(f"Posko replay {local:%d-%m-%Y %H:%M:%S} WIB  area {area or 'nasional'}")
    phases = Counter((v.phase.value if v.phase else "belum") for v in state.tps)
    situations = Counter((v.situation.value if v.situation else "belum") for v in state.tps)
    typer.echo(f"TPS {len(state.tps)}: " + ", ".join(f"{k} {n}" for k, n in sorted(phases.items())))
    typer.echo("situasi: " + ", ".join(f"{k} {n}" for k, n in sorted(situations.items())))
    for c in counts.data:
        line = ", ".join(f"{k} {n}" for k, n in sorted(c.phases.items()))
        typer.echo(f"  {c.kecamatan_code} {c.kecamatan}: {line}")
    typer.echo(f"insiden terbuka {len(state.incidents)}")
    for i in state.incidents:
        when = i.opened_at.astimezone(WIB)
        typer.echo(
            f"  #{i.id} {i.status.value} {i.category.value} s{i.severity} {i.tps or '-'} "
            f"{when:%H:%M} ({i.reports} laporan)"
        )
    typer.echo(f"peringatan terbuka {len(state.alerts)}")
    for a in state.alerts:
        when = a.raised_at.astimezone(WIB)
        marks = "".join(
            m
            for m, on in (("A", a.acknowledged_at), ("S", a.silenced_at), ("H", a.parent_id))
            if on
        )
        typer.echo(f"  #{a.id} {a.kind.value} {a.subject} {when:%H:%M} {marks}".rstrip())
