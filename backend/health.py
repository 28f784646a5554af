"""Health, metrics and the server clock: what the engineer on call looks at first."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from backend.deps import RuntimeDep
from backend.metrics import METRICS
from schemas.field import ServerClock

router = APIRouter(tags=["system"])
_HEALTH_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posko-health")


@router.get("/healthz", responses={503: {"description": "database or live fan-out down"}})
async def healthz(rt: RuntimeDep, response: Response) -> dict[str, Any]:
    """Liveness of the database, the writer and the live fan-out; 503 when any is down."""

    def ping_db() -> bool:
        try:
            with rt.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    # Its own thread: a busy shared pool (sweeps, dashboard reads) must not make the server
    # look dead to the load balancer or the engineer on call.
    db_ok = await asyncio.get_running_loop().run_in_executor(_HEALTH_POOL, ping_db)
    w = rt.writer
    last = w.last_commit_at
    sweeper = rt.sweeper
    swept = sweeper.last_sweep_at if sweeper else None
    body = {
        "status": "ok",
        "database": "ok" if db_ok else "down",
        "broadcast": "ok" if rt.hub.broadcaster.healthy else "down",
        "queue_depth": w.queue_depth,
        "last_commit_age_s": round(time.time() - last, 3) if last else None,
        "last_commit_ms": round(w.last_commit_s * 1000, 2),
        "live_subscribers": rt.hub.subscriber_count,
        # Above ~100 ms something blocks the loop that reads every socket (posko_loop_lag_seconds).
        "loop_lag_ms": rt.loop_lag.peak_ms,
        "tasks": len(asyncio.all_tasks()),  # a number that only grows means leaked tasks
        "tps_registered": len(rt.index.tps_by_code),
        # "The field is silent" must never be mistaken for "our server is stuck".
        "intake_stalled": sweeper.intake_stalled() if sweeper else False,
        "last_sweep_at": swept.isoformat() if swept else None,
        "sweeper_leader": sweeper.is_leader if sweeper else False,
        "clock": rt.clock.now().isoformat(),
        "exercise": rt.settings.exercise_label(),
        # Not a 503: a demo with the placeholder secret is up; it is just not fit for real use.
        "insecure": rt.settings.insecure,
    }
    if not db_ok or not rt.hub.broadcaster.healthy:
        body["status"] = "degraded"
        response.status_code = 503
    return body


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics() -> Response:
    """Prometheus metrics: events in, acks by result, commit latency, queue depth."""
    return Response(generate_latest(METRICS.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/clock", response_model=ServerClock)
def clock(rt: RuntimeDep) -> ServerClock:
    """The server's clock, which simulators and devices follow (exercise mode included)."""
    return ServerClock(
        now=rt.clock.now(), speed=rt.clock.speed, exercise=rt.settings.exercise_label()
    )


@router.get("/readyz")
def readyz(rt: RuntimeDep, response: Response) -> dict[str, Any]:
    """Whether this node can take field events: for load balancers' active checks.

    Only the database counts: without Redis a node still stores and acknowledges (its screens
    degrade), so a balancer must not drain every node when Redis goes down, as /healthz's 503
    would make it do.
    """
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        response.status_code = 503
        return {"status": "down", "database": "down"}
    return {"status": "ok", "database": "ok"}
