"""create_app(settings) -> FastAPI: the lifespan opens the engine, the writer and the live hub."""

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.requests import ClientDisconnect

from backend import health, overview
from backend.aftercommit import AfterCommit, Live
from backend.alerts import views as alert_views
from backend.alerts.sweeper import Sweeper
from backend.alerts.webhook import OutboxSender
from backend.audit import views as audit_views
from backend.audit.anchor import Checkpointer
from backend.audit.service import claim_key
from backend.auth import views as auth_views
from backend.auth.revocation import install as install_revocations
from backend.auth.service import CredentialResolver, ReplayGuard
from backend.browser import OriginGuard
from backend.channels import sms as sms_channel
from backend.channels import telegram as telegram_channel
from backend.channels import views as channel_views
from backend.channels import whatsapp as whatsapp_channel
from backend.channels.outbox import ReplySender
from backend.channels.recorder import Recorder
from backend.clock import Clock
from backend.cluster import LeasedTask, LeaseGrant
from backend.config import PLACEHOLDER_SECRET, Settings
from backend.custody import views as custody_views
from backend.db import make_engine
from backend.deps import remote_of
from backend.enrolment import views as enrolment_views
from backend.exports import views as export_views
from backend.field import views as field_views
from backend.incidents import views as incident_views
from backend.incidents.service import IncidentRules, incident_situations
from backend.incidents.situations import Situations
from backend.intake import views as intake_views
from backend.intake.socket import FieldSocketRoute
from backend.intake.validate import Checker
from backend.intake.views import WebhookRoute
from backend.intake.writer import Writer
from backend.meta import EXERCISE_CLOCK, get_value, set_value
from backend.migrate import upgrade
from backend.officers import views as officer_views
from backend.photos import views as photo_views
from backend.positions import views as position_views
from backend.positions.keys import TrackerKeys
from backend.positions.writer import PositionWriter
from backend.realtime import views as live_views
from backend.realtime.broadcast import make_broadcaster
from backend.realtime.deltas import LivePublisher
from backend.realtime.hub import LiveHub
from backend.replay import views as replay_views
from backend.reports import views as report_views
from backend.reports.scheduler import ReportScheduler
from backend.runtime import Runtime
from backend.tps import views as tps_views
from backend.tps.index import RegistryIndex
from backend.tps.rollup import check as check_rollup
from backend.users import views as user_views
from backend.users.throttle import AddressThrottle
from dashboard.app import attach_dashboard
from schemas.events import FieldEvent

log = logging.getLogger("posko")
REGISTRY_POLL_S = 10.0


async def _watch_registry(rt: Runtime) -> None:
    """Reload the in-memory registry when `posko registry seed/import` changed it."""
    while True:
        await asyncio.sleep(REGISTRY_POLL_S)
        try:

            def refresh() -> bool:
                with Session(rt.engine) as s:
                    return rt.index.refresh_if_changed(s)

            if await asyncio.to_thread(refresh):
                log.info("registry reloaded: %d TPS", len(rt.index.tps_by_code))
        except Exception:
            log.exception("registry reload failed; keeping the previous one")


def _exercise_clock(engine: Engine, settings: Settings) -> Clock:
    """The server's clock; an exercise restarted with the same start and speed continues."""
    clock = Clock.from_settings(settings)
    if not clock.is_exercise:
        return clock
    start = settings.clock_start.isoformat() if settings.clock_start else None
    with Session(engine) as s:
        stored = get_value(session=s, key=EXERCISE_CLOCK)
        if stored:
            data = json.loads(stored)
            if data.get("start") == start and data.get("speed") == settings.clock_speed:
                origin = datetime.fromisoformat(data["real_origin"])
                log.info("exercise clock continues from %s", origin.isoformat())
                return Clock(settings.clock_start, settings.clock_speed, real_origin=origin)
        record = {
            "start": start,
            "speed": settings.clock_speed,
            "real_origin": clock.real_origin.isoformat(),
        }
        set_value(session=s, key=EXERCISE_CLOCK, value=json.dumps(record))
        s.commit()
    return clock


def _rollup_check(engine: Engine, interval_s: float) -> LeasedTask:
    """Once across the cluster: make tps_rollup agree with tps_state (see backend.tps.rollup)."""

    async def work(_grant: LeaseGrant) -> None:
        fixed = await asyncio.to_thread(check_rollup, engine)
        if fixed:
            log.warning("tps_rollup was off by %d TPS; corrected", fixed)

    return LeasedTask(engine=engine, name="rollup-check", interval_s=interval_s, work=work)


def _audit_checkpoints(
    engine: Engine, settings: Settings
) -> tuple[LeasedTask, Checkpointer] | None:
    """Once across the cluster: sign the audit chain's head out of the database's reach."""
    if settings.audit_anchor_path is None and not settings.alert_webhook_url:
        if settings.environment != "local":
            log.warning(
                "no POSKO_AUDIT_ANCHOR_PATH and no alert webhook: deleting the newest audit "
                "entries and rolling the chain's head back would go unnoticed"
            )
        return None
    checkpointer = Checkpointer(engine, settings)

    async def work(_grant: LeaseGrant) -> None:
        await asyncio.to_thread(checkpointer.run_once)

    task = LeasedTask(
        engine=engine, name="audit-checkpoint", interval_s=settings.audit_checkpoint_s, work=work
    )
    return task, checkpointer


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if "placeholder secret" in settings.insecure:
        # Every start, on purpose: production mode refuses this, local mode only says it loudly.
        log.warning(
            "INSECURE: POSKO_SECRET_KEY is the placeholder %r; device HMAC secrets derive from "
            "it, so whoever reads the database can forge signed webhooks. Set POSKO_SECRET_KEY "
            "before real use (POSKO_ENVIRONMENT=production refuses to start without it).",
            PLACEHOLDER_SECRET,
        )
    # asyncio.to_thread's pool defaults to cores + 4 threads (6 here), shared by sweeps, reads
    # and dashboard callbacks; a few slow database reads would queue everything behind them.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=settings.io_threads, thread_name_prefix="posko-io")
    )
    engine = make_engine(settings)
    if settings.auto_migrate:
        await asyncio.to_thread(upgrade, engine)

    def bind_audit_key() -> None:
        with Session(engine) as s:
            claim_key(session=s)  # refuses to start with a key other than the chain's

    await asyncio.to_thread(bind_audit_key)
    index = RegistryIndex()

    def load() -> dict[int, Any]:
        with Session(engine) as s:
            index.load(s)
            return incident_situations(session=s)

    initial = await asyncio.to_thread(load)
    clock = await asyncio.to_thread(_exercise_clock, engine, settings)
    hub = LiveHub(make_broadcaster(settings.broadcast_url), settings.live_queue_max)
    writer = Writer(
        engine,
        batch_max=settings.writer_batch_max,
        queue_max=settings.writer_queue_max,
        rules=IncidentRules(),
        inline=settings.writer_mode == "inline"
        or (settings.writer_mode == "auto" and settings.is_sqlite),
    )
    started_at = clock.now()
    situations = Situations(engine, initial)
    live = Live(
        engine=engine,
        clock=clock,
        index=index,
        situations=situations,
        publisher=LivePublisher(hub.broadcaster),
    )
    outbox = OutboxSender(engine, settings) if settings.alert_webhook_url else None
    sweeper = Sweeper(
        engine=engine,
        settings=settings,
        clock=clock,
        intake=writer,
        situations=situations,
        live=live,
        listening_since=started_at,
        wake_outbox=outbox.wake if outbox is not None else None,
    )
    after = AfterCommit(live=live, situations=situations, wake_sweeper=sweeper.wake)
    writer.set_on_commit(after.batch)
    rt = Runtime(
        settings=settings,
        engine=engine,
        clock=clock,
        index=index,
        checker=Checker(settings, index, clock_speed=clock.speed),
        writer=writer,
        hub=hub,
        resolver=CredentialResolver(engine, settings.credential_cache_s),
        replay=ReplayGuard(),
        login_throttle=AddressThrottle(
            settings.login_address_max_failures, settings.login_address_window_min * 60
        ),
        redeem_throttle=AddressThrottle(
            settings.enrolment_address_max_failures, settings.enrolment_address_window_min * 60
        ),
        started_at=started_at,
        situations=situations,
        after=after,
        sweeper=sweeper,
        outbox=outbox,
    )
    # Every node sends replies (rows are claimed one by one); it costs one idle look every 5 s.
    rt.channel_outbox = ReplySender(engine, settings)
    rt.channel_recorder = Recorder(engine, clock)
    rt.positions = PositionWriter(
        engine,
        linger_s=settings.positions_flush_ms / 1000,
        queue_max=settings.positions_queue_max,
        max_future_s=settings.max_future_s,
        max_age_s=settings.max_age_s,
    )
    # Tracker keys are not announced on the revocation channel: they keep a short cache.
    rt.tracker_keys = TrackerKeys(engine, min(settings.credential_cache_s, 5.0))
    app.state.runtime = rt
    await hub.start()
    await install_revocations(hub, rt.resolver)
    await writer.start()
    await rt.positions.start()
    await sweeper.start()
    if outbox is not None:
        await outbox.start()
    await rt.channel_recorder.start()
    await rt.channel_outbox.start()
    telegram_poll = None
    if settings.telegram_polling and settings.telegram_bot_token is not None:
        telegram_poll = telegram_channel.poller(rt)
        await telegram_poll.start()
    # Per node, on purpose: every node keeps its own in-memory registry index.
    watcher = asyncio.create_task(_watch_registry(rt), name="posko-registry-watch")
    rollup_check = _rollup_check(engine, settings.rollup_check_s)
    await rollup_check.start()
    checkpoints = _audit_checkpoints(engine, settings)
    if checkpoints is not None:
        await checkpoints[0].start()
    reports = (
        ReportScheduler(
            engine=engine, settings=settings, clock=clock, listening_since=started_at
        ).task()
        if settings.report_schedule
        else None
    )
    if reports is not None:
        await reports.start()
    # Everything built so far lives as long as the process: keep it out of the collector's
    # scans, and collect the young generation less often. Intake allocates a few objects per
    # event, and full scans of a heap of long-lived objects were showing up in its profile.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    # From here on: the start itself (loading the registry, the collection above) blocks the
    # loop before anyone is connected, and is not the lag an operator should be shown.
    rt.loop_lag.start()
    log.info("posko ready: %d TPS, %d officers", len(index.tps_by_code), len(index.officers))
    try:
        yield
    finally:
        if reports is not None:
            await reports.stop()
        await rollup_check.stop()
        if telegram_poll is not None:
            await telegram_poll.stop()
        await rt.channel_outbox.stop()
        await rt.channel_recorder.stop()
        last_checkpoint = checkpoints is not None and checkpoints[0].is_leader
        if checkpoints is not None:
            await checkpoints[0].stop()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await sweeper.stop()
        if outbox is not None:
            await outbox.stop()
        await rt.positions.stop()
        await writer.stop()
        if checkpoints is not None and last_checkpoint:
            # The head as we leave it: what happens to the database while no server runs is
            # then caught too.
            try:
                await asyncio.to_thread(checkpoints[1].run_once)
            except Exception:
                log.exception("last audit checkpoint failed")
        await hub.stop()
        await rt.loop_lag.stop()
        engine.dispose()


def _openapi(app: FastAPI) -> dict[str, Any]:
    """OpenAPI with the field-event models that the raw-body webhooks accept."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    defs = TypeAdapter(FieldEvent).json_schema(ref_template="#/components/schemas/{model}")
    components.update(defs.pop("$defs", {}))
    defs.pop("discriminator", None)
    components["FieldEvent"] = defs
    app.openapi_schema = schema
    return schema


async def _client_gone(request: Request, exc: Exception) -> Response:
    """A client that went away mid-request (a phone losing signal mid-upload) is not our error."""
    # Nothing of the request was acted on, nothing was acked: the phone sends it again. Logged
    # at INFO, since a traceback here sent the engineer on call chasing a lost signal.
    log.info(
        "%s %s cut off by the client (%s)", request.method, request.url.path, remote_of(request)
    )
    return Response(status_code=400)  # nobody is left to read it


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API (and, when present, the dashboard) on one FastAPI app."""
    settings = settings or Settings()
    app = FastAPI(
        title="Posko",
        version="0.1.0",
        description="Election-day security picture for a police command post.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.add_middleware(FieldSocketRoute)
    app.add_middleware(WebhookRoute)  # the webhooks' POSTs, ahead of the router (views.py)
    for module in (
        intake_views,
        tps_views,
        overview,
        officer_views,
        incident_views,
        photo_views,
        live_views,
        auth_views,
        alert_views,
        user_views,
        audit_views,
        export_views,
        enrolment_views,
        field_views,
        whatsapp_channel,
        telegram_channel,
        sms_channel,
        channel_views,
        position_views,
        report_views,
        custody_views,
        replay_views,
        health,
    ):
        app.include_router(module.router)
    app.include_router(position_views.reads)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    attach_dashboard(app, settings)
    # Around everything that reads the cookie (the API, the dashboard's guard, the sockets).
    app.add_middleware(OriginGuard, settings=settings)
    # Outermost: the dashboard's first load is ~6 MB of JavaScript (1.5 MB compressed); bodies
    # over 128 KiB are compressed in a worker thread, so intake does not wait for it.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    return app
