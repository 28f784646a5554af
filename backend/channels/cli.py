"""`posko channels test`: a sample through each configured channel's real route, and its fate.

Each sample is signed as the provider signs it and sent to the server's own webhook, so the
check covers the secrets, the route, the sender's binding, storage and the reply through the
provider (read back from the outbox: sent, waiting with the provider's error, or given up).
"""

import time
import uuid
from typing import Annotated

import httpx
import typer
from sqlmodel import Session, col, select

from backend.channels import samples
from backend.channels.models import ChannelMessage, ChannelOutbox
from backend.channels.service import normalize_phone, normalize_telegram
from backend.db import command_engine

channels_app = typer.Typer(help="Chat and SMS channels.", no_args_is_help=True)


def _fate(session: Session, channel: str, key: str) -> str | None:
    """What became of the reply to a message: None while nothing is decided yet."""
    rows = session.exec(
        select(ChannelOutbox)
        .join(ChannelMessage, col(ChannelMessage.id) == col(ChannelOutbox.message_id))
        .where(col(ChannelMessage.channel) == channel, col(ChannelMessage.key) == key)
    ).all()
    if not rows:
        found = session.exec(
            select(ChannelMessage.outcome).where(
                col(ChannelMessage.channel) == channel, col(ChannelMessage.key) == key
            )
        ).first()
        return "no reply" if found else None
    if all(r.sent_at is not None for r in rows):
        return f"reply sent ({len(rows)} part(s))"
    failed = [r for r in rows if r.failed_at is not None]
    if failed:
        return f"reply GIVEN UP after {failed[0].attempts} tries: {failed[0].last_error}"
    waiting = [r for r in rows if r.sent_at is None]
    if waiting[0].attempts:
        return f"reply NOT SENT yet ({waiting[0].attempts} tries): {waiting[0].last_error}"
    return None


@channels_app.command("test")
def test(
    url: Annotated[
        str | None, typer.Option(help="the server (default POSKO_PUBLIC_URL or host:port)")
    ] = None,
    phone: Annotated[
        str | None,
        typer.Option(help="send as this number (WhatsApp, SMS): it gets the reply"),
    ] = None,
    telegram: Annotated[str | None, typer.Option(help="send as this Telegram chat id")] = None,
    text: Annotated[str, typer.Option(help="the message")] = "BANTUAN",
    wait: Annotated[float, typer.Option(min=0, help="seconds to wait for each reply")] = 20.0,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Override POSKO_DATABASE_URL.")
    ] = None,
) -> None:
    """Send a sample through each configured channel and show what happened to it."""
    with command_engine(database_url) as (settings, engine):
        scheme = "https" if settings.ssl_certfile else "http"
        base = (url or settings.public_url or f"{scheme}://{settings.host}:{settings.port}").rstrip(
            "/"
        )
        country = settings.phone_country_code
        sender = normalize_phone(phone, country) if phone else None
        chat = normalize_telegram(telegram) if telegram else None
        if phone and sender is None:
            raise typer.BadParameter("not a phone number", param_hint="--phone")
        if telegram and chat is None:
            raise typer.BadParameter("not a Telegram chat id", param_hint="--telegram")
        run = uuid.uuid4().hex[:12]
        failures = 0
        for channel, missing in samples.configured(settings).items():
            if missing:
                typer.echo(f"{channel:9} not configured ({missing})")
                continue
            key = f"posko-test-{run}-{channel}"
            if channel == "whatsapp":
                sample = samples.whatsapp(settings, key, sender, text)
            elif channel == "telegram":
                # Negative: Telegram's own update ids are positive, so a test never takes one.
                update_id = -1 - int(time.time() * 1000) % 2**31
                key = str(update_id)
                sample = samples.telegram(settings, update_id, int(chat) if chat else None, text)
            elif channel == "smsgate":
                sample = samples.smsgate(settings, key, sender, text)
            else:
                sample = samples.smssync(settings, key, sender, text)
            try:
                r = httpx.post(
                    base + sample.path, content=sample.body, headers=sample.headers, timeout=30
                )
            except httpx.HTTPError as exc:
                typer.echo(f"{channel:9} {sample.path}: server not reachable ({exc})")
                failures += 1
                continue
            shown = r.text[:200].replace("\n", " ")
            ok = r.status_code == 200 or (
                channel == "smssync" and not sender and r.status_code == 422
            )
            typer.echo(f"{channel:9} POST {sample.path} -> {r.status_code} {shown}")
            if not ok:
                failures += 1
                continue
            has_sender = chat if channel == "telegram" else sender
            if not has_sender:
                typer.echo(
                    f"{'':9} signature/secret accepted (give --phone/--telegram for a reply)"
                )
                continue
            if channel == "smssync":
                typer.echo(f"{'':9} reply handed to SMSSync in its answer above")
                continue
            deadline = time.monotonic() + wait
            fate = None
            while fate is None and time.monotonic() < deadline:
                with Session(engine) as session:
                    fate = _fate(session, channel, key)
                if fate is None:
                    time.sleep(0.25)
            fate = fate or f"reply not sent within {wait:g} s (is the server running?)"
            failures += "NOT" in fate or "not sent" in fate
            typer.echo(f"{'':9} {fate}")
    if failures:
        raise typer.Exit(1)
