"""`posko registry ...`: seed the OKU Timur registry, import a real TPS list or boundaries."""

import time
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from backend.audit.service import cli_actor
from backend.clock import Clock
from backend.db import command_engine
from backend.registry.boundaries import BoundariesRejected, read_boundaries_file, store_boundaries
from backend.registry.build import Scale, build_registry
from backend.registry.importer import ImportRejected, import_files
from backend.registry.national import build_national
from backend.registry.reference import ReferenceDataError
from backend.registry.service import RegistryInUseError, registry_summary, write_registry

app = typer.Typer(
    name="registry",
    help="Build or import the registry: regions, units, TPS and officers.",
    no_args_is_help=True,
)

boundaries_app = typer.Typer(
    name="boundaries",
    help="Region outlines (kabupaten, kecamatan, desa) for the map.",
    no_args_is_help=True,
)
app.add_typer(boundaries_app)

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Override POSKO_DATABASE_URL.")
]


def _print_summary(engine: Engine) -> None:
    with Session(engine) as session:
        summary = registry_summary(session=session)
    levels = ", ".join(f"{n} {level.value}" for level, n in summary.regions.items())
    risks = ", ".join(f"{n} {risk.value}" for risk, n in summary.tps_by_risk.items())
    units = ", ".join(f"{n} {kind.value}" for kind, n in summary.units.items())
    typer.echo(f"regions: {levels}")
    typer.echo(f"units: {units}")
    typer.echo(f"TPS: {summary.tps} ({risks})")
    typer.echo(f"officers: {summary.officers}, assignments: {summary.assignments}")
    if len(summary.officers_by_unit) > 40:
        return  # national scale: thousands of units
    width = max((len(name) for name, _ in summary.officers_by_unit), default=0)
    for name, n in summary.officers_by_unit:
        typer.echo(f"  {name:<{width}}  {n:>4}")


def _refuse(exc: RegistryInUseError) -> None:
    typer.echo("refused: the database holds election data that refers to this registry:", err=True)
    for table, n in exc.election_data.items():
        typer.echo(f"  {table}: {n} rows", err=True)
    typer.echo(
        f"Replacing the registry would erase all of it, every officer's device token, and the "
        f"audit chain ({exc.audit_entries} entries; a new chain would start with a record of "
        "the erasure). If that is really wanted (after an exercise, never on election day), "
        "back up the database first, then run again with --erase-election-data.",
        err=True,
    )


@app.command()
def seed(
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same registry.")] = 2024,
    boundaries: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Desa GeoJSON; every TPS is placed inside its desa polygon.",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    erase_election_data: Annotated[
        bool,
        typer.Option(
            "--erase-election-data",
            help=(
                "Replace even when election data exists (pings, incidents, TPS transitions): "
                "it is erased, and the audit chain starts over. Back up the database first."
            ),
        ),
    ] = False,
    scale: Annotated[
        Scale, typer.Option(help="oku_timur (1,012 TPS) or national (435,296 TPS).")
    ] = Scale.OKU_TIMUR,
    provinces: Annotated[
        str | None,
        typer.Option(help="National scale only: just these provinces, e.g. 16,75."),
    ] = None,
) -> None:
    """Replace the registry with a generated one: OKU Timur, or all of Indonesia (Pilkada 2024)."""
    with command_engine(database_url) as (settings, engine):
        if provinces is not None and scale is not Scale.NATIONAL:
            raise typer.BadParameter("only with --scale national", param_hint="--provinces")
        t0 = time.perf_counter()
        try:
            if provinces is not None:
                registry = build_national(
                    seed=seed,
                    region_data_dir=settings.region_data_dir,
                    boundaries_path=boundaries,
                    provinces=[p.strip() for p in provinces.split(",") if p.strip()],
                )
            else:
                registry = build_registry(
                    seed=seed,
                    region_data_dir=settings.region_data_dir,
                    boundaries_path=boundaries,
                    scale=scale,
                )
        except (ReferenceDataError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        t1 = time.perf_counter()
        try:
            with Session(engine) as session:
                result = write_registry(
                    session=session,
                    registry=registry,
                    erase_election_data=erase_election_data,
                    actor=cli_actor(),
                    now=Clock.from_settings(settings).now(),
                )
        except RegistryInUseError as exc:
            _refuse(exc)
            raise typer.Exit(1) from exc
        t2 = time.perf_counter()
        typer.echo(f"registry seeded (seed {seed}, stamp {result.stamp})")
        typer.echo(f"built in {t1 - t0:.1f} s, written in {t2 - t1:.1f} s")
        if result.erased:
            rows = ", ".join(f"{n} {table}" for table, n in result.erased.items())
            typer.echo(f"erased election data: {rows} rows (--erase-election-data)")
            typer.echo(
                f"the audit chain started over ({result.previous_chain} entries before); "
                "its first entry records the erasure"
            )
        if result.removed_credentials:
            typer.echo(f"deleted {result.removed_credentials} device credentials: officers changed")
        _print_summary(engine)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="TPS CSV (see docs).")],
    officers: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Officers CSV: nrp,name,rank,unit,tps."),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(help="Remove stored TPS absent from the file (never TPS with events)."),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Import a real TPS list (and officers); nothing is written unless every row is valid."""
    with command_engine(database_url) as (settings, engine):
        try:
            with Session(engine) as session:
                result = import_files(
                    session=session,
                    tps_path=file,
                    officers_path=officers,
                    replace=replace,
                    region_data_dir=settings.region_data_dir,
                )
        except ImportRejected as exc:
            for error in exc.errors:
                typer.echo(str(error), err=True)
            typer.echo(f"{len(exc.errors)} error(s); nothing imported", err=True)
            raise typer.Exit(1) from exc
        typer.echo(
            f"TPS: {result.tps_created} new, {result.tps_updated} updated, "
            f"{result.tps_removed} removed"
        )
        if result.tps_kept_absent:
            typer.echo(
                f"{result.tps_kept_absent} stored TPS are not in the file and were kept "
                "(use --replace to remove them)"
            )
        if officers is not None:
            typer.echo(
                f"officers: {result.officers_created} new, {result.officers_updated} updated, "
                f"{result.assignments} assignments"
            )
        _print_summary(engine)


@boundaries_app.command("import")
def boundaries_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="GeoJSON FeatureCollection.")
    ],
    replace: Annotated[
        bool, typer.Option(help="Remove every stored outline that is not in the file.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Store kabupaten, kecamatan and desa outlines for every node's map; all or nothing."""
    try:
        features, digest = read_boundaries_file(file)
    except BoundariesRejected as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} error(s); nothing imported", err=True)
        raise typer.Exit(1) from exc
    with command_engine(database_url) as (settings, engine), Session(engine) as session:
        result = store_boundaries(
            session=session,
            features=features,
            replace=replace,
            at=Clock.from_settings(settings).now(),
            actor=cli_actor(),
            source=file.name,
            digest=digest,
        )
    levels = ", ".join(f"{n} {level.value}" for level, n in result.levels.items())
    typer.echo(f"boundaries: {levels} ({result.created} new, {result.updated} updated)")
    if result.removed:
        typer.echo(f"removed {result.removed} stored outlines not in the file (--replace)")
    missing = result.not_in_registry
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        shown = ", ".join(missing[:5]) + more
        typer.echo(
            f"note: {len(missing)} code(s) are not in the stored registry (yet): {shown}; "
            "they are stored and drawn all the same"
        )
    typer.echo("the map serves these outlines from the database from now on (every node)")
