"""Draft situation reports on the server's clock: every `report_every_min`, and each day's close.

Periods are aligned to midnight WIB (with the default hour: 07:00-08:00, 08:00-09:00 …), so
every node and every restart agrees on them, and a period already drafted is never drafted
again by the schedule (the check is by area, kind and period). Periods missed while no node
looked (a restart, a late tick) are drafted when it looks again, up to `CATCH_UP` of them.
One node does it at a time: the cluster lease "reports" (backend/cluster.py), as the sweeper;
a second drafter would only find the report there already (the unique version index refuses
a twin).
"""

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from backend.audit.service import SYSTEM
from backend.clock import Clock
from backend.cluster import LeasedTask, LeaseGrant
from backend.config import WIB, Settings
from backend.reports.service import (
    content_of,
    create_draft,
    kabupaten_codes,
    last_period_end,
    latest,
)
from schemas.reports import ReportKind, ReportStatus

log = logging.getLogger("posko.reports")
LEASE_NAME = "reports"
CATCH_UP = 24  # missed periods drafted at most, newest first


def day_start(at: datetime) -> datetime:
    """Midnight WIB of the day holding `at`."""
    local = at.astimezone(WIB)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def due_period(at: datetime, every_min: float) -> tuple[datetime, datetime]:
    """The last whole period of `every_min` minutes (from midnight WIB) that ended by `at`."""
    midnight = day_start(at)
    step = timedelta(minutes=every_min)
    end = midnight + step * int((at - midnight) / step)
    return end - step, end


def previous_day(at: datetime) -> tuple[datetime, datetime]:
    """The whole WIB day before the one holding `at`."""
    end = day_start(at)
    return end - timedelta(days=1), end


def default_period(kind: ReportKind, now: datetime, every_min: float) -> tuple[datetime, datetime]:
    """A daily report covers the WIB day holding `now`; any other, since the last schedule."""
    if kind is ReportKind.DAILY:
        start = day_start(now)
        return start, start + timedelta(days=1)
    if kind is ReportKind.HOURLY:
        return due_period(now, every_min)
    start = due_period(now, every_min)[1]
    return (start, now) if now > start else (start - timedelta(minutes=every_min), now)


class ReportScheduler:
    """Drafts what is due at the clock's moment; `task()` runs it under the cluster lease."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        listening_since: datetime | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.listening_since = listening_since
        self.drafted = 0

    def run_once(self, now: datetime | None = None) -> list[int]:
        """Draft every report due at `now` (default: the clock's) that is not there yet."""
        now = now or self.clock.now()
        made: list[int] = []
        with Session(self.engine) as session:
            for area in kabupaten_codes(session=session):
                due = [
                    *self._missed(session, area, now),
                    (ReportKind.DAILY, *previous_day(now)),
                ]
                for kind, start, end in due:
                    if not self._due(session, area, kind, start, end):
                        continue
                    try:
                        r = create_draft(
                            session=session,
                            area=area,
                            kind=kind,
                            period_start=start,
                            period_end=end,
                            now=now,
                            settings=self.settings,
                            actor=SYSTEM,
                            listening_since=self.listening_since,
                        )
                    except IntegrityError:
                        session.rollback()  # another drafter got there first: it is there
                        continue
                    assert r.id is not None
                    made.append(r.id)
        self.drafted += len(made)
        if made:
            log.info("drafted %d situation report(s) at %s", len(made), now.isoformat())
        return made

    def _missed(
        self, session: Session, area: str, now: datetime
    ) -> list[tuple[ReportKind, datetime, datetime]]:
        """The periods due now, back to the area's last one, at most `CATCH_UP` of them."""
        # A node was down or a tick late; with no report yet, only the last period is due.
        every = self.settings.report_every_min
        start, end = due_period(now, every)
        periods = [(ReportKind.HOURLY, start, end)]
        last = last_period_end(session=session, area=area, kind=ReportKind.HOURLY)
        step = timedelta(minutes=every)
        while last is not None and last < start and len(periods) < CATCH_UP:
            start, end = start - step, start
            periods.append((ReportKind.HOURLY, start, end))
        return periods[::-1]

    @staticmethod
    def _due(session: Session, area: str, kind: ReportKind, start: datetime, end: datetime) -> bool:
        """Not drafted yet, or a draft made before its period ended."""
        # A day's report drafted on demand during the day is drafted again when the day closes.
        r = latest(session=session, area=area, kind=kind, period_start=start, period_end=end)
        if r is None:
            return True
        return r.status is ReportStatus.DRAFT and content_of(r).drafted_at < end

    def task(self) -> LeasedTask:
        """The periodic job, once across the cluster."""

        async def work(_grant: LeaseGrant) -> None:
            await asyncio.to_thread(self.run_once)

        return LeasedTask(
            engine=self.engine,
            name=LEASE_NAME,
            interval_s=self.settings.report_tick_s,
            work=work,
        )
