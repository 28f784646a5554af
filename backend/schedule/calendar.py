"""The election calendar (WIB) and pure rules: where a TPS should be, and whether it is behind.

No I/O and no clock of its own: every function takes the moment it judges, so the sweeper can
ask with the server's (exercise) clock and tests with any time they like.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.enums import PHASE_RANK, Phase

WIB = ZoneInfo("Asia/Jakarta")

LateReason = Literal["not_open", "still_voting", "counting_late", "ppk_late"]


def _wib(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 11, day, hour, minute, tzinfo=WIB)


class ElectionCalendar(BaseModel):
    """When each part of election day happens, and how late a milestone may be before it counts.

    Defaults: Pilkada 2024 in OKU Timur. Logistics reach the TPS on 25-26 Nov, TPS are set up
    from 06:00 on 27 Nov, voting runs 07:00-13:00, counting follows, and boxes are escorted to
    the PPK through 28 Nov. Set as JSON in POSKO_CALENDAR.
    """

    model_config = ConfigDict(frozen=True)

    logistics_from: AwareDatetime = _wib(25)
    setup_from: AwareDatetime = _wib(27, 6)
    voting_opens_at: AwareDatetime = _wib(27, 7)
    voting_closes_at: AwareDatetime = _wib(27, 13)
    escort_until: AwareDatetime = _wib(29)  # end of 28 Nov
    # Bounds, in minutes after the reference moment, past which a TPS is behind schedule.
    open_late_min: float = Field(default=30.0, ge=0)  # not voting by opens + this
    close_late_min: float = Field(default=60.0, ge=0)  # still voting at closes + this
    counting_due_min: float = Field(default=360.0, ge=0)  # counting not done by closes + this
    ppk_late_min: float = Field(default=0.0, ge=0)  # boxes not at the PPK by escort_until + this

    @model_validator(mode="after")
    def _in_order(self) -> "ElectionCalendar":
        order = [
            self.logistics_from,
            self.setup_from,
            self.voting_opens_at,
            self.voting_closes_at,
            self.escort_until,
        ]
        if order != sorted(order):
            raise ValueError("calendar moments must be in order: logistics, setup, open, close")
        if self.voting_closes_at + timedelta(minutes=self.counting_due_min) > self.escort_until:
            raise ValueError("counting must be due before the escort ends")
        return self

    @property
    def counting_due_at(self) -> datetime:
        """When counting should be finished."""
        return self.voting_closes_at + timedelta(minutes=self.counting_due_min)

    def milestones(self) -> tuple["Milestone", ...]:
        """The deadlines a TPS is judged against, in the order they fall due."""
        return (
            Milestone(
                "not_open",
                self.voting_opens_at + timedelta(minutes=self.open_late_min),
                Phase.PEMUNGUTAN,
            ),
            Milestone(
                "still_voting",
                self.voting_closes_at + timedelta(minutes=self.close_late_min),
                Phase.PENGHITUNGAN,
            ),
            Milestone("counting_late", self.counting_due_at, Phase.SELESAI_HITUNG),
            Milestone(
                "ppk_late",
                self.escort_until + timedelta(minutes=self.ppk_late_min),
                Phase.DITERIMA_PPK,
            ),
        )


@dataclass(frozen=True, slots=True)
class Milestone:
    """By `due_at` a TPS must have reached `phase`; if not, it is behind for `reason`."""

    reason: LateReason
    due_at: datetime
    phase: Phase


@dataclass(frozen=True, slots=True)
class Lateness:
    """Why a TPS is behind schedule: the first milestone it missed."""

    reason: LateReason
    due_at: datetime
    expected: Phase  # the phase it should have reached by due_at
    actual: Phase | None


def expected_phase(cal: ElectionCalendar, at: datetime) -> Phase | None:
    """The phase a TPS should be in at `at` (None before logistics start)."""
    if at < cal.logistics_from:
        return None
    if at < cal.setup_from:
        return Phase.LOGISTIK_TIBA
    if at < cal.voting_opens_at:
        return Phase.PERSIAPAN
    if at < cal.voting_closes_at:
        return Phase.PEMUNGUTAN
    if at < cal.counting_due_at:
        return Phase.PENGHITUNGAN
    if at < cal.escort_until:
        return Phase.KOTAK_DIKAWAL
    return Phase.DITERIMA_PPK


def behind_schedule(cal: ElectionCalendar, phase: Phase | None, at: datetime) -> Lateness | None:
    """Whether a TPS in `phase` is behind schedule at `at`, and why (the first missed milestone).

    A postponed TPS (`ditunda`) is not late: it said so itself, and its phase shows it.
    """
    if phase is Phase.DITUNDA:
        return None
    rank = PHASE_RANK[phase] if phase is not None else -1
    for m in _milestones(cal):
        if m.due_at > at:
            return None
        if rank < PHASE_RANK[m.phase]:
            return Lateness(reason=m.reason, due_at=m.due_at, expected=m.phase, actual=phase)
    return None


@lru_cache(maxsize=16)
def _milestones(cal: ElectionCalendar) -> tuple[Milestone, ...]:
    return cal.milestones()  # the calendar is frozen: asked once per TPS per sweep


def milestones_of(cal: ElectionCalendar) -> tuple[Milestone, ...]:
    """The calendar's milestones (cached: the calendar is frozen)."""
    return _milestones(cal)


def duty_window(cal: ElectionCalendar) -> tuple[datetime, datetime]:
    """When officers are on duty and expected to be heard from: setup until the escort ends."""
    return cal.setup_from, cal.escort_until
