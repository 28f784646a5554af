"""Reports drafted on the schedule: aligned periods, once each, on an exercise clock, one node."""

import asyncio
import itertools
import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.clock import Clock
from backend.config import Settings
from backend.reports.models import SituationReport
from backend.reports.scheduler import ReportScheduler, due_period, previous_day
from backend.reports.service import create_draft, edit
from schemas.enums import Role
from schemas.reports import ReportKind, ReportStatus
from tests.conftest import start_server
from tests.factories import MiniRegistry, person_token
from tests.ops.conftest import auth
from tests.ops.harness import wib


def _reports(engine: Engine) -> list[tuple[str, str, str, int]]:
    with Session(engine) as s:
        rows = s.exec(select(SituationReport).order_by(col(SituationReport.id))).all()
        return [
            (r.kind.value, r.period_start.isoformat(), r.period_end.isoformat(), r.version)
            for r in rows
        ]


def test_periods_are_aligned_to_midnight_wib() -> None:
    assert due_period(wib(27, "08:20"), 60) == (wib(27, "07:00"), wib(27, "08:00"))
    assert due_period(wib(27, "08:00"), 60) == (wib(27, "07:00"), wib(27, "08:00"))
    assert due_period(wib(27, "08:20"), 30) == (wib(27, "07:30"), wib(27, "08:00"))
    assert due_period(wib(27, "00:10"), 60) == (wib(26, "23:00"), wib(27, "00:00"))
    assert previous_day(wib(27, "08:20")) == (wib(26, "00:00"), wib(27, "00:00"))


def test_each_period_is_drafted_once_and_a_days_draft_again_when_it_closes(
    engine: Engine, settings: Settings, mini: MiniRegistry
) -> None:
    sched = ReportScheduler(engine=engine, settings=settings, clock=Clock())
    assert len(sched.run_once(wib(27, "08:20"))) == 2  # 07-08, and the day of the 26th
    assert sched.run_once(wib(27, "08:40")) == []  # nothing new is due
    assert len(sched.run_once(wib(27, "09:01"))) == 1  # 08-09
    assert len(sched.run_once(wib(27, "12:10"))) == 3  # missed while nobody looked: 09-10 … 11-12
    hourly = [r for r in _reports(engine) if r[0] == "hourly"]
    assert [(r[1], r[2]) for r in hourly] == [
        (wib(27, f"{h:02d}:00").isoformat(), wib(27, f"{h + 1:02d}:00").isoformat())
        for h in range(7, 12)
    ]
    # A day's report drafted by hand during the day is drafted again when the day closes,
    # keeping the commander's words; a signed one would be left alone.
    with Session(engine) as s:
        day = create_draft(
            session=s,
            area="16.08",
            kind=ReportKind.DAILY,
            period_start=wib(27, "00:00"),
            period_end=wib(28, "00:00"),
            now=wib(27, "12:00"),
            settings=settings,
            actor="test",
        )
        assert day.id is not None
        edit(
            session=s,
            report_id=day.id,
            remarks="Hari aman.",
            plan_next=None,
            now=wib(27, "12:01"),
            actor="test",
        )
    made = sched.run_once(wib(28, "00:05"))
    assert day.id in made
    with Session(engine) as s:
        again = s.get(SituationReport, day.id)
        assert again is not None and again.status is ReportStatus.DRAFT
        assert again.remarks == "Hari aman." and again.version == 1
        assert '"drafted_at":"2024-11-27T17:05:00Z"' in again.content


async def test_the_leased_task_drafts_hourly_on_an_exercise_clock(
    engine: Engine, settings: Settings, mini: MiniRegistry
) -> None:
    # Two real seconds are one hour of the exercise; two nodes share the lease.
    fast = settings.model_copy(update={"report_tick_s": 0.1})
    clock = Clock(wib(27, "08:00") + timedelta(seconds=30), speed=1800)
    nodes = [ReportScheduler(engine=engine, settings=fast, clock=clock).task() for _ in range(2)]
    for n in nodes:
        await n.start()
    await asyncio.sleep(5.0)
    for n in nodes:
        await n.stop()
    # Each tick runs on whichever node holds the lease (it may pass over on a busy machine).
    assert sum(n.runs for n in nodes) >= 5
    hourly = [(r[1], r[2]) for r in _reports(engine) if r[0] == "hourly"]
    assert hourly[:3] == [
        (wib(27, h0).isoformat(), wib(27, h1).isoformat())
        for h0, h1 in (("07:00", "08:00"), ("08:00", "09:00"), ("09:00", "10:00"))
    ]
    assert len(hourly) == len(set(hourly))  # never twice
    assert all(r[3] == 1 for r in _reports(engine))


def test_the_server_drafts_on_its_exercise_clock(
    settings: Settings, mini: MiniRegistry, engine: Engine
) -> None:
    # A server started at 08:00:30 on voting day, one exercise hour per two real seconds.
    srv = start_server(
        settings.model_copy(
            update={
                "report_schedule": True,
                "report_tick_s": 0.2,
                "clock_start": wib(27, "08:00") + timedelta(seconds=30),
                "clock_speed": 1800.0,
            }
        )
    )
    try:
        token = person_token(engine, Role.VIEWER)
        deadline = time.monotonic() + 60
        hourly: list[dict[str, object]] = []
        while time.monotonic() < deadline and len(hourly) < 3:
            time.sleep(0.3)
            r = httpx.get(f"{srv.url}/api/v1/reports?kind=hourly", headers=auth(token))
            hourly = r.json()["data"]
        daily = httpx.get(f"{srv.url}/api/v1/reports?kind=daily", headers=auth(token)).json()
    finally:
        srv.stop()
    ends = sorted(datetime.fromisoformat(str(h["period_end"])) for h in hourly)
    assert len(ends) >= 3 and ends[0] >= wib(27, "08:00")  # the first tick follows the start
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(ends))
    assert [d["period_start"] for d in daily["data"]][-1].startswith("2024-11-25T17:00:00")
