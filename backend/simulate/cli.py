"""`posko simulate`: play the officers' election day against a server; issue their tokens.

    posko simulate provision --out var/demo/devices.json
    posko simulate --url http://127.0.0.1:8000 --devices var/demo/devices.json [--seed 7]
        [--rate 200] [--officers 50] [--duration 60] [--speed 600 --start 2024-11-27T05:00+07:00]

`posko simulate run ...` is the same as `posko simulate ...`.
"""

import asyncio
import random
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from backend.config import WIB

app = typer.Typer(
    help="Simulated field units: play the officers' election day against a server.",
    invoke_without_command=True,
)

DEFAULT_DEVICES = Path("var/demo/devices.json")

Url = Annotated[str, typer.Option(help="the server")]
Devices = Annotated[
    Path, typer.Option(help="tokens from `posko simulate provision`", dir_okay=False)
]
Seed = Annotated[int | None, typer.Option(help="plan seed (default: random, printed)")]
Rate = Annotated[float, typer.Option(help="extra load: pings per second from random officers")]
Officers = Annotated[int | None, typer.Option(help="only the first N officers (by NRP)")]
Duration = Annotated[float | None, typer.Option(help="stop after S real seconds")]
Speed = Annotated[
    float | None,
    typer.Option(help="server on real time: run the day this many times faster here"),
]
Start = Annotated[
    str | None,
    typer.Option(help="with --speed: where the simulated day starts (ISO 8601; default WIB)"),
]
WebhookShare = Annotated[float, typer.Option(help="share of officers on the webhooks")]
Progress = Annotated[float, typer.Option(help="seconds between progress lines")]


@app.callback()
def default(
    ctx: typer.Context,
    url: Url = "http://127.0.0.1:8000",
    devices: Devices = DEFAULT_DEVICES,
    seed: Seed = None,
    rate: Rate = 0.0,
    officers: Officers = None,
    duration: Duration = None,
    speed: Speed = None,
    start: Start = None,
    webhook_share: WebhookShare = 0.2,
    progress: Progress = 5.0,
) -> None:
    """Play the day (the `run` command) unless another command is given."""
    if ctx.invoked_subcommand is None:
        _run(url, devices, seed, rate, officers, duration, speed, start, webhook_share, progress)


@app.command()
def run(
    url: Url = "http://127.0.0.1:8000",
    devices: Devices = DEFAULT_DEVICES,
    seed: Seed = None,
    rate: Rate = 0.0,
    officers: Officers = None,
    duration: Duration = None,
    speed: Speed = None,
    start: Start = None,
    webhook_share: WebhookShare = 0.2,
    progress: Progress = 5.0,
) -> None:
    """Play the officers' election day against a running server, following its clock."""
    _run(url, devices, seed, rate, officers, duration, speed, start, webhook_share, progress)


def _run(
    url: str,
    devices: Path,
    seed: int | None,
    rate: float,
    officers: int | None,
    duration: float | None,
    speed: float | None,
    start: str | None,
    webhook_share: float,
    progress: float,
) -> None:
    from backend.simulate.provision import read_credentials
    from backend.simulate.runner import RunConfig, Runner, SimulateError

    if not devices.exists():
        raise typer.BadParameter(
            f"{devices} does not exist: run `posko simulate provision --out {devices}`",
            param_hint="--devices",
        )
    start_at: datetime | None = None
    if start is not None:
        try:
            start_at = datetime.fromisoformat(start)
        except ValueError:
            raise typer.BadParameter(f"{start!r} is not ISO 8601", param_hint="--start") from None
        if start_at.tzinfo is None:
            start_at = start_at.replace(tzinfo=WIB)
    if speed is not None and speed <= 0:
        raise typer.BadParameter("must be positive", param_hint="--speed")
    creds = read_credentials(devices)
    config = RunConfig(
        url=url,
        viewer=creds.viewer,
        devices=creds.devices,
        seed=seed if seed is not None else random.SystemRandom().randrange(1_000_000),
        rate=rate,
        officers=officers,
        duration=duration,
        speed=speed,
        start=start_at,
        webhook_share=webhook_share,
        progress_s=progress,
        out=typer.echo,
    )
    try:
        stats = asyncio.run(Runner(config).run())
    except SimulateError as exc:
        typer.echo(f"simulate: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if stats.unacked or stats.refused:
        typer.echo(
            f"{stats.unacked} events unacknowledged, {stats.refused} phones refused", err=True
        )
        raise typer.Exit(1)


@app.command()
def provision(
    out: Annotated[Path, typer.Option(help="where to write the tokens (mode 0600)")] = (
        DEFAULT_DEVICES
    ),
    database_url: Annotated[
        str | None, typer.Option(help="the server's database (default: POSKO_DATABASE_URL)")
    ] = None,
) -> None:
    """Issue a device token for every officer and a viewer token; write them to a file."""
    from backend.audit.service import cli_actor
    from backend.db import command_engine
    from backend.simulate.provision import provision as issue_all
    from backend.simulate.provision import write_credentials

    with command_engine(database_url) as (settings, engine):
        creds = issue_all(engine=engine, settings=settings, actor=cli_actor())
    if not creds.devices:
        typer.echo("no officers in the registry: seed or import it first", err=True)
        raise typer.Exit(1)
    write_credentials(out, creds)
    typer.echo(f"{len(creds.devices)} device tokens and a viewer token written to {out} (0600)")
