"""The simulator against a live server in exercise mode: real websockets, webhooks, restarts."""

import asyncio
import time
import uuid
from datetime import datetime, timedelta

import httpx
import orjson
from sqlalchemy import Engine, text

from backend.config import WIB, Settings
from backend.simulate.plan import PlanOptions
from backend.simulate.provision import Credentials
from backend.simulate.runner import Frame, HttpPhone, RunConfig, Runner, Stats, WsPhone
from schemas.enums import PHASE_RANK, Phase
from tests.conftest import free_port, start_server
from tests.simulate.conftest import EXERCISE_SPEED, kill, start_server_on

SEED = 3


def _config(url: str, creds: Credentials, lines: list[str], **kw: object) -> RunConfig:
    return RunConfig(
        url=url,
        viewer=creds.viewer,
        devices=creds.devices,
        seed=SEED,
        webhook_share=0.5,  # two of the four officers on webhooks, one of them HMAC-signed
        progress_s=2.0,
        clock_poll_s=1.0,
        track_ids=True,
        out=lines.append,
        **kw,  # type: ignore[arg-type]
    )


def _stored_ids(engine: Engine) -> list[uuid.UUID]:
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT event_id FROM ping UNION ALL SELECT event_id FROM incident_report "
                "UNION ALL SELECT event_id FROM custody_event"
            )
        ).all()
    return [uuid.UUID(hex=str(r[0])) for r in rows]


def _phases(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT t.code, s.phase FROM tps_state s JOIN tps t ON t.id = s.tps_id")
        ).all()
    return {str(code): phase for code, phase in rows}


def _assert_each_acked_event_stored_exactly_once(stats: Stats, engine: Engine) -> None:
    in_db = _stored_ids(engine)
    assert len(in_db) == len(set(in_db))
    assert stats.stored_ids <= set(in_db)
    # Every row is an event the simulator sent and saw acknowledged, and the other way round.
    assert set(in_db) == stats.acked_ids
    assert len(stats.stored_ids) == stats.stored


async def test_a_morning_of_election_day_advances_every_tps_and_every_event_is_acked(
    exercise_settings: Settings, creds: Credentials, engine: Engine
) -> None:
    server = await asyncio.to_thread(start_server, exercise_settings)
    lines: list[str] = []
    try:
        runner = Runner(_config(server.url, creds, lines, duration=13.0))
        stats = await runner.run()
    finally:
        await asyncio.to_thread(server.stop)

    assert stats.sent > 150
    assert stats.unacked == 0
    assert stats.rejected == 0, stats.rejections
    assert stats.resent == 0 and stats.failures == 0
    # Planned retries, and only they, were answered `duplicate`.
    assert stats.retried > 0
    assert stats.retry_duplicate == stats.retried == stats.duplicate
    # Buffered phones replayed their backlog. At x2400 a 40-minute backlog is one real second
    # old, within the server's queueing allowance, so it is not flagged `late` here.
    assert stats.replayed > 0
    _assert_each_acked_event_stored_exactly_once(stats, engine)

    phases = _phases(engine)
    voting = PHASE_RANK[Phase.PEMUNGUTAN]
    assert all(p == "ditunda" or PHASE_RANK[Phase(p)] >= voting for p in phases.values()), phases
    assert "penghitungan" in phases.values()

    with engine.connect() as c:
        sources = {r[0] for r in c.execute(text("SELECT DISTINCT source FROM ping"))}
        refused = c.execute(text("SELECT count(*) FROM auth_failure")).scalar_one()
        multi = c.execute(
            text(
                "SELECT count(*) FROM (SELECT incident_id FROM incident_report "
                "GROUP BY incident_id HAVING count(DISTINCT officer_id) > 1) AS multi"
            )
        ).scalar_one()
    assert sources == {"ws", "http"}
    assert refused == 0  # no bad signature, no replayed one
    assert multi >= 1
    signed = [p for p in runner.phones.values() if isinstance(p, HttpPhone) and p.is_signed]
    assert signed and all(p.acked > 0 for p in signed)
    assert any(line.startswith("27-11 ") for line in lines)  # progress lines


async def test_simulator_rides_out_a_server_crash_and_nothing_is_stored_twice_or_lost(
    exercise_settings: Settings, creds: Credentials, engine: Engine
) -> None:
    port = free_port()
    first = await asyncio.to_thread(start_server_on, exercise_settings, port)
    url = first.url
    lines: list[str] = []
    options = PlanOptions(retry_share=0.0)
    runner = Runner(_config(url, creds, lines, duration=12.0, plan_options=options))
    run = asyncio.create_task(runner.run())
    await asyncio.sleep(4.0)
    async with httpx.AsyncClient() as client:
        clock = (await client.get(url + "/api/v1/clock")).json()
    read_at = time.monotonic()
    connects = runner.stats.connects
    await asyncio.to_thread(kill, first)
    await asyncio.sleep(1.5)  # phones find nobody home and back off
    # The exercise clock is not persisted (it would start over at clock_start): continue it.
    elapsed = timedelta(seconds=(time.monotonic() - read_at) * EXERCISE_SPEED)
    resumed = exercise_settings.model_copy(
        update={"clock_start": datetime.fromisoformat(clock["now"]) + elapsed}
    )
    second = await asyncio.to_thread(start_server_on, resumed, port)
    back = time.monotonic()
    try:
        # Every websocket phone is connected again once the server answers. How soon (the
        # README's 5 s) is measured by `python -m bench.run --only restart`; this is a deadline.
        ws_phones = [p for p in runner.phones.values() if isinstance(p, WsPhone)]
        for _ in range(1200):  # polled for up to 60 s: a phone's state has no event to wait on
            if all(p.is_online for p in ws_phones):
                break
            await asyncio.sleep(0.05)
        reconnected = all(p.is_online for p in ws_phones)
        reconnected_in = time.monotonic() - back
        stats = await run
    finally:
        await asyncio.to_thread(second.stop)

    print(f"\nwebsocket phones back {reconnected_in:.2f} s after the server answered")
    assert ws_phones and reconnected, "phones not back within 60 s"

    assert stats.unacked == 0
    assert stats.rejected == 0, stats.rejections
    assert stats.failures > 0
    assert stats.connects > connects  # the phones came back
    # Webhook phones posted what piled up while the server was away as batches.
    assert sum(p.batches for p in runner.phones.values() if isinstance(p, HttpPhone)) > 0
    assert stats.resent > 0 or stats.duplicate == 0
    _assert_each_acked_event_stored_exactly_once(stats, engine)
    assert any(line.startswith("27-11 ") for line in lines)


def test_frames_joined_for_one_webhook_request_keep_every_event_in_order() -> None:
    a = {"type": "ping", "event_id": "a"}
    b = {"type": "incident", "event_id": "b"}
    c = {"type": "ping", "event_id": "c"}
    joined = Frame.joined([Frame.of([a]), Frame.of([b, c])])
    assert orjson.loads(joined.text) == [a, b, c]
    assert joined.ids == ["a", "b", "c"]
    assert joined.kind == "mixed" and not joined.is_single
    assert Frame.joined([Frame.of([a]), Frame.of([c])]).kind == "ping"


async def test_an_evening_of_election_day_moves_the_boxes_to_the_ppk(
    exercise_settings: Settings, creds: Credentials, engine: Engine
) -> None:
    evening = exercise_settings.model_copy(
        update={"clock_start": datetime(2024, 11, 27, 15, 0, tzinfo=WIB)}
    )
    server = await asyncio.to_thread(start_server, evening)
    lines: list[str] = []
    try:
        stats = await Runner(_config(server.url, creds, lines, duration=10.0)).run()
    finally:
        await asyncio.to_thread(server.stop)
    assert stats.rejected == 0, stats.rejections
    assert stats.unacked == 0
    _assert_each_acked_event_stored_exactly_once(stats, engine)
    with engine.connect() as c:
        steps = dict(
            c.execute(text("SELECT step, count(*) FROM custody_event GROUP BY step")).all()
        )
    assert steps.get("segel", 0) > 0 and steps.get("berangkat", 0) > 0, steps
    phases = set(_phases(engine).values())
    assert phases & {"kotak_dikawal", "diterima_ppk"}, phases
