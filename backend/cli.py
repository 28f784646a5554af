"""The `posko` command: serve, demo, simulate, registry, token, db, user, kiosk, audit, officer,
report, export, replay."""

import copy
import logging
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from backend.audit.cli import app as audit_app
from backend.audit.service import AuditRecord, append, cli_actor
from backend.channels.cli import channels_app
from backend.db import command_engine
from backend.exports.cli import export
from backend.migrate import upgrade
from backend.officers.cli import officer_app
from backend.positions.cli import tracker
from backend.registry.cli import app as registry_app
from backend.replay.cli import replay
from backend.reports.cli import report_app
from backend.simulate.cli import app as simulate_app
from backend.users.cli import area_option, kiosk_app, user_app

app = typer.Typer(help="Posko: the live picture of election-day security.", no_args_is_help=True)
token_app = typer.Typer(help="Issue, list and revoke credentials.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(registry_app, name="registry")
app.add_typer(simulate_app, name="simulate")
app.add_typer(user_app, name="user")
app.add_typer(kiosk_app, name="kiosk")
app.add_typer(audit_app, name="audit")
app.add_typer(officer_app, name="officer")
app.add_typer(channels_app, name="channels")
app.add_typer(report_app, name="report")
officer_app.command("tracker")(tracker)  # backend/positions: Traccar Client / OwnTracks keys
app.command("export")(export)  # backend/exports: CSV, XLSX, GeoJSON to a file
app.command("replay")(replay)  # backend/replay: the picture as of a moment


def _aware(value: str, param: str) -> datetime:
    """Parse an ISO 8601 moment that must carry its offset (e.g. +07:00 for WIB)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not ISO 8601", param_hint=param) from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give the offset, e.g. +07:00 for WIB", param_hint=param)
    return moment


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    clock: Annotated[
        str | None,
        typer.Option(help="exercise: start the clock here (ISO 8601 with offset)"),
    ] = None,
    speed: Annotated[float, typer.Option(help="exercise: clock speed factor")] = 1.0,
    access_log: Annotated[bool, typer.Option(help="log every HTTP request")] = False,
    certfile: Annotated[
        Path | None,
        typer.Option(help="serve HTTPS: certificate chain, PEM (or POSKO_SSL_CERTFILE)"),
    ] = None,
    keyfile: Annotated[
        Path | None, typer.Option(help="serve HTTPS: its private key, PEM (or POSKO_SSL_KEYFILE)")
    ] = None,
    fd: Annotated[
        int | None,
        typer.Option(help="serve on this inherited listening TCP socket (posko demo's)"),
    ] = None,
) -> None:
    """Run the server (API, field intake, live stream, dashboard), over HTTPS with a certificate."""
    import uvicorn

    if fd is not None and workers > 1:
        raise typer.BadParameter("one worker only on an inherited socket", param_hint="--fd")

    if clock is not None:
        os.environ["POSKO_CLOCK_START"] = _aware(clock, "--clock").isoformat()
    if speed != 1.0:
        os.environ["POSKO_CLOCK_SPEED"] = str(speed)
    # Migrate once here, so that several workers do not race to create the schema.
    with command_engine() as (settings, _):
        pass
    if workers > 1 and settings.broadcast_url.startswith("memory://"):
        typer.echo(
            "warning: with several workers and POSKO_BROADCAST_URL=memory:// each worker's "
            "walls see only that worker's events, and a revocation reaches the other workers "
            "only within POSKO_CREDENTIAL_CACHE_S; use redis:// (docs/deployment.md)",
            err=True,
        )
    ssl_certfile, ssl_keyfile = _tls_files(
        certfile or settings.ssl_certfile, keyfile or settings.ssl_keyfile
    )
    os.environ["POSKO_AUTO_MIGRATE"] = "false"
    options: dict[str, Any] = {
        "log_config": _log_config(),
        "ws_max_size": settings.ws_max_message_bytes,
        "proxy_headers": True,
        "access_log": access_log,
        "ws_per_message_deflate": False,  # field frames are ~200 bytes: compressing costs CPU
        "ssl_certfile": ssl_certfile,
        "ssl_keyfile": ssl_keyfile,
    }
    if fd is not None:
        # Not uvicorn's own --fd: it calls every socket a Unix one, and asyncio then leaves out
        # TCP_NODELAY (each response after a connection's first waits ~40 ms for an ACK).
        sock = socket.socket(fileno=fd)
        host, port = sock.getsockname()[:2]
        config = uvicorn.Config("backend.main:app", host=host, port=port, **options)
        uvicorn.Server(config).run(sockets=[sock])
        return
    uvicorn.run(
        "backend.main:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        **options,
    )


def _tls_files(certfile: Path | None, keyfile: Path | None) -> tuple[str | None, str | None]:
    """uvicorn's TLS files: both or neither, each checked now rather than when binding."""
    if certfile is None and keyfile is None:
        return None, None
    if certfile is None or keyfile is None:
        raise typer.BadParameter(
            "give both --certfile and --keyfile (or POSKO_SSL_CERTFILE and POSKO_SSL_KEYFILE)"
        )
    for path, hint in ((certfile, "--certfile"), (keyfile, "--keyfile")):
        if not path.is_file():
            raise typer.BadParameter(f"{path} is not a file", param_hint=hint)
    return str(certfile), str(keyfile)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0: a free one)")] = 8000,
    start: Annotated[
        str, typer.Option(help="exercise clock start, ISO 8601 with offset")
    ] = "2024-11-27T06:30:00+07:00",
    speed: Annotated[float, typer.Option(help="exercise clock speed")] = 20.0,
    fresh: Annotated[bool, typer.Option(help="start from an empty demo database")] = True,
    rate: Annotated[float, typer.Option(help="extra load, pings per second")] = 0.0,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="where the demo database lives")
    ] = None,
) -> None:
    """Seed, serve and simulate an election day on SQLite; print the sign-in links."""
    from backend.demo import DEMO_DIR, run_demo

    raise typer.Exit(
        run_demo(
            host=host,
            port=port,
            start=_aware(start, "--start"),
            speed=speed,
            fresh=fresh,
            rate=rate,
            demo_dir=directory or DEMO_DIR,
        )
    )


def _log_config() -> dict[str, Any]:
    """uvicorn's logging plus Posko's own loggers, without a line per websocket open/close.

    Every handler redacts credentials (backend/redact.py): kiosk links and websockets carry
    `?token=` in the URL that the access log and uvicorn's websocket lines print.
    """
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {
        "no_ws_chatter": {"()": "backend.cli.QuietWebsockets"},
        "redact": {"()": "backend.redact.RedactSecrets"},
    }
    config["handlers"]["default"]["filters"] = ["redact", "no_ws_chatter"]
    config["handlers"]["access"]["filters"] = ["redact"]
    config["loggers"]["posko"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    # Warnings of every other library through the same (redacting) handler, not Python's
    # unfiltered last resort.
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config


class QuietWebsockets(logging.Filter):
    """Drop uvicorn's per-connection websocket lines (298 phones reconnecting flood the log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep everything but "connection open/closed" and accepted websocket upgrades."""
        msg = record.getMessage()
        if msg in ("connection open", "connection closed"):
            return False
        return not ('"WebSocket ' in msg and msg.endswith("[accepted]"))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION."""
    with command_engine(migrate=False) as (_, engine):
        upgrade(engine, revision)
    typer.echo(f"database at {revision}")


@token_app.command("issue")
def token_issue(
    officer: Annotated[
        str | None, typer.Option(help="NRP: a device token for this officer")
    ] = None,
    role: Annotated[str | None, typer.Option(help="viewer|operator|commander|admin")] = None,
    name: Annotated[str | None, typer.Option(help="who or what holds the token")] = None,
    kiosk: Annotated[bool, typer.Option(help="a watch-only kiosk link for a wall display")] = False,
    area: Annotated[
        str | None,
        typer.Option(help="limit to a province or kabupaten code", callback=area_option),
    ] = None,
    qr: Annotated[bool, typer.Option(help="print a QR code of the token")] = True,
) -> None:
    """Issue a token; it is printed once and stored only as a hash."""
    from backend.auth.service import hmac_secret, issue
    from backend.clock import Clock
    from backend.officers.service import get_with_area
    from schemas.enums import CredentialKind, Role

    with command_engine() as (settings, engine), Session(engine) as session:
        now = Clock.from_settings(settings).now()
        if officer:
            found = get_with_area(session=session, nrp=officer)
            if found is None or found[0].id is None:
                raise typer.BadParameter(f"no officer with NRP {officer}", param_hint="--officer")
            o, unit_area = found
            cred, token = issue(
                session=session,
                kind=CredentialKind.DEVICE,
                name=name or f"{o.rank} {o.name}",
                officer_id=o.id,
                area_code=unit_area,
                now=now,
            )
        elif kiosk:
            cred, token = issue(
                session=session,
                kind=CredentialKind.KIOSK,
                name=name or "wall display",
                area_code=area,
                now=now,
            )
        elif role:
            try:
                r = Role(role)
            except ValueError:
                raise typer.BadParameter(
                    f"{role!r} is not one of {', '.join(x.value for x in Role)}",
                    param_hint="--role",
                ) from None
            if not name:
                raise typer.BadParameter("a person's token needs --name", param_hint="--name")
            cred, token = issue(
                session=session,
                kind=CredentialKind.PERSON,
                name=name,
                role=r,
                area_code=area,
                now=now,
            )
        else:
            raise typer.BadParameter("give --officer NRP, --role ROLE --name NAME, or --kiosk")
        # Whoever can run the CLI can mint credentials; the audit trail says who did, and when.
        append(
            session=session,
            records=[
                AuditRecord(
                    at=now,
                    actor=cli_actor(),
                    action="credential.issued",
                    subject_kind="officer" if officer else "credential",
                    subject=officer or str(cred.id),
                    data={
                        "credential_id": cred.id,
                        "kind": cred.kind.value,
                        "name": cred.name,
                        "role": cred.role.value if cred.role else None,
                        "area": cred.area_code,
                    },
                    area_code=cred.area_code,
                )
            ],
        )
        session.commit()
        session.refresh(cred)
    typer.echo(f"credential {cred.id} ({cred.kind.value}, {cred.name})")
    typer.echo(f"token: {token}")
    if cred.kind is CredentialKind.DEVICE:
        assert cred.id is not None
        typer.echo(f"hmac key id: {cred.id}")
        typer.echo(f"hmac secret: {hmac_secret(settings.secret_key, cred.id, cred.token_hash)}")
    if qr:
        import qrcode

        q = qrcode.QRCode(border=1)
        q.add_data(token)
        q.print_ascii(invert=True)
    typer.echo("Shown once: it is stored only as a hash. Revoke with `posko token revoke ID`.")


@token_app.command("list")
def token_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="include revoked")] = False,
) -> None:
    """List credentials (never their secrets)."""
    from backend.auth.service import list_credentials

    with command_engine(migrate=False) as (_, engine), Session(engine) as session:
        for c in list_credentials(session=session, include_revoked=include_revoked):
            state = f"revoked {c.revoked_at:%Y-%m-%d %H:%M}" if c.revoked_at else "active"
            role = c.role.value if c.role else "-"
            typer.echo(f"{c.id:>6}  {c.kind.value:<8} {role:<9} {c.prefix}…  {c.name}  [{state}]")


@token_app.command("revoke")
def token_revoke(credential_id: int) -> None:
    """Revoke a credential; running servers refuse it within about a second."""
    from backend.auth.revocation import announce_from_cli
    from backend.authority import SERVER
    from backend.clock import Clock
    from backend.users.service import UserError, revoke_credential

    with command_engine(migrate=False) as (settings, engine), Session(engine) as session:
        try:
            c = revoke_credential(
                session=session,
                credential_id=credential_id,
                now=Clock.from_settings(settings).now(),
                actor=cli_actor(),
                authority=SERVER,
            )
        except UserError as exc:
            raise typer.BadParameter(str(exc)) from None
        announce_from_cli(settings.broadcast_url, session, [credential_id])
    typer.echo(f"revoked credential {c.id} ({c.name})")


def main() -> None:
    """Entry point of the `posko` command."""
    app()


if __name__ == "__main__":
    main()
