"""The election calendar: where a TPS should be, and when it counts as behind schedule."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from backend.config import Settings
from backend.schedule.calendar import ElectionCalendar, behind_schedule, expected_phase
from schemas.enums import Phase
from tests.ops.harness import wib

CAL = ElectionCalendar()
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("day", "hhmm", "phase"),
    [
        (24, "23:59", None),
        (25, "00:00", Phase.LOGISTIK_TIBA),
        (27, "05:59", Phase.LOGISTIK_TIBA),
        (27, "06:00", Phase.PERSIAPAN),
        (27, "07:00", Phase.PEMUNGUTAN),
        (27, "12:59", Phase.PEMUNGUTAN),
        (27, "13:00", Phase.PENGHITUNGAN),
        (27, "19:00", Phase.KOTAK_DIKAWAL),
        (28, "23:59", Phase.KOTAK_DIKAWAL),
        (29, "00:00", Phase.DITERIMA_PPK),
    ],
)
def test_expected_phase_follows_the_pilkada_day(day: int, hhmm: str, phase: Phase | None) -> None:
    assert expected_phase(CAL, wib(day, hhmm)) is phase


def test_tps_not_open_by_half_past_seven_is_behind_but_not_a_minute_before() -> None:
    assert behind_schedule(CAL, Phase.PERSIAPAN, wib(27, "07:30") - MINUTE) is None
    late = behind_schedule(CAL, Phase.PERSIAPAN, wib(27, "07:30"))
    assert late is not None
    assert (late.reason, late.expected, late.due_at) == (
        "not_open",
        Phase.PEMUNGUTAN,
        wib(27, "07:30"),
    )
    assert behind_schedule(CAL, None, wib(27, "08:00")).reason == "not_open"  # type: ignore[union-attr]
    assert behind_schedule(CAL, Phase.PEMUNGUTAN, wib(27, "08:00")) is None


def test_still_voting_an_hour_after_closing_then_counting_late_then_ppk_late() -> None:
    assert behind_schedule(CAL, Phase.PEMUNGUTAN, wib(27, "13:59")) is None
    assert behind_schedule(CAL, Phase.PEMUNGUTAN, wib(27, "14:00")).reason == "still_voting"  # type: ignore[union-attr]
    assert behind_schedule(CAL, Phase.PENGHITUNGAN, wib(27, "18:59")) is None
    assert behind_schedule(CAL, Phase.PENGHITUNGAN, wib(27, "19:00")).reason == "counting_late"  # type: ignore[union-attr]
    assert behind_schedule(CAL, Phase.SELESAI_HITUNG, wib(28, "12:00")) is None
    assert behind_schedule(CAL, Phase.KOTAK_DIKAWAL, wib(29, "00:00")).reason == "ppk_late"  # type: ignore[union-attr]
    assert behind_schedule(CAL, Phase.DITERIMA_PPK, wib(29, "12:00")) is None


def test_the_first_missed_milestone_is_the_reason() -> None:
    late = behind_schedule(CAL, Phase.PERSIAPAN, wib(27, "20:00"))
    assert late is not None and late.reason == "not_open"


def test_postponed_tps_is_never_behind_schedule() -> None:
    assert behind_schedule(CAL, Phase.DITUNDA, wib(27, "20:00")) is None


def test_bounds_are_configurable_and_moments_must_be_in_order() -> None:
    strict = ElectionCalendar(open_late_min=0)
    assert behind_schedule(strict, Phase.PERSIAPAN, wib(27, "07:00")) is not None
    with pytest.raises(ValidationError):
        ElectionCalendar(voting_opens_at=wib(27, "14:00"))


def test_calendar_is_read_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "POSKO_CALENDAR", '{"voting_opens_at": "2024-11-27T08:00:00+07:00", "open_late_min": 15}'
    )
    cal = Settings(_env_file=None).calendar  # type: ignore[call-arg]
    assert behind_schedule(cal, Phase.PERSIAPAN, wib(27, "08:14")) is None
    assert behind_schedule(cal, Phase.PERSIAPAN, wib(27, "08:15")) is not None
