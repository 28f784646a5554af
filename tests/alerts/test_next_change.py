"""When a rule's answer may next change: never later than the change itself (pure)."""

import random
from datetime import datetime, timedelta

import pytest

from backend.alerts.rules import (
    Desired,
    Facts,
    OfficerFacts,
    TpsFacts,
    _silent_officers,
    _tps_alerts,
    officer_next_change,
    tps_next_change,
    tps_watch,
)
from backend.config import Settings
from schemas.enums import Phase, RiskRating
from schemas.ops import AlertKind
from tests.ops.harness import wib

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
SINCE = wib(27, "05:30")
M = timedelta(minutes=1)
MS = timedelta(milliseconds=1)


def _facts(now: datetime) -> Facts:
    return Facts(now=now, tps=[], officers=[], incidents=[], listening_since=SINCE)


def _tps_answer(t: TpsFacts, at: datetime) -> tuple[object, ...]:
    found = list(_tps_alerts(t, _facts(at), SETTINGS, None))
    return (
        tps_watch(t, at, SINCE, SETTINGS),
        tuple((d, tuple(sorted(d.detail.items()))) for d in found),
    )


def _officer_answer(o: OfficerFacts, at: datetime) -> list[Desired]:
    return list(_silent_officers(Facts(at, [], [o], [], SINCE), SETTINGS, lambda _: None))


def _random_tps(rng: random.Random, now: datetime) -> TpsFacts:
    seen = now - rng.randint(0, 200) * M - timedelta(seconds=rng.random() * 60)
    heard = seen + rng.randint(0, 30) * M if rng.random() < 0.5 else seen
    return TpsFacts(
        code="16.08.01.1007-001",
        kecamatan_code="16.08.01",
        kabupaten_code="16.08",
        risk=rng.choice(list(RiskRating)),
        phase=rng.choice([None, *Phase]),
        last_seen_at=seen if rng.random() < 0.9 else None,
        last_heard_at=heard,
    )


@pytest.mark.parametrize("seed", range(300))
def test_a_tps_answers_the_same_until_its_next_change(seed: int) -> None:
    rng = random.Random(seed)
    now = wib(27, "06:00") + rng.randint(0, 60 * 24) * M
    t = _random_tps(rng, now)
    due = tps_next_change(t, now, SINCE, SETTINGS)
    before = _tps_answer(t, now)
    horizon = due if due is not None else now + timedelta(days=3)
    assert horizon > now - timedelta(milliseconds=1)
    for _ in range(20):
        at = now + (horizon - now) * rng.random()
        if at < horizon - timedelta(milliseconds=1):
            assert _tps_answer(t, at) == before, (at, due)


@pytest.mark.parametrize("seed", range(200))
def test_an_officer_answers_the_same_until_the_next_change(seed: int) -> None:
    rng = random.Random(seed)
    now = wib(27, "04:00") + rng.randint(0, 60 * 48) * M
    received = now - rng.randint(0, 90) * M if rng.random() < 0.8 else None
    o = OfficerFacts("85010001", "16.08", received, frozenset({"16.08.01"}))
    due = officer_next_change(o, now, SINCE, SETTINGS)
    before = _officer_answer(o, now)
    horizon = due if due is not None else now + timedelta(days=3)
    for _ in range(20):
        at = now + (horizon - now) * rng.random()
        if at < horizon:
            assert _officer_answer(o, at) == before, (at, due)


def test_the_grace_running_out_is_the_next_change_and_the_alert_is_there_at_it() -> None:
    seen = wib(27, "08:00")
    t = TpsFacts(
        "16.08.01.1007-001", "16.08.01", "16.08", RiskRating.RAWAN, Phase.PEMUNGUTAN, seen, seen
    )
    due = tps_next_change(t, seen, SINCE, SETTINGS)
    assert due == seen + 10 * M  # the kecamatan's silence window (10 min) comes first
    # Within the millisecond of rounding a passed moment is still "to come" (one more look).
    assert tps_next_change(t, due, SINCE, SETTINGS) == due
    due = tps_next_change(t, due + MS, SINCE, SETTINGS)
    assert due == seen + 20 * M  # then the grace of a rawan TPS while voting
    assert not any(
        d.kind is AlertKind.TPS_NOT_VISITED
        for d in _tps_alerts(t, _facts(due - timedelta(microseconds=1)), SETTINGS, None)
    )
    assert any(
        d.kind is AlertKind.TPS_NOT_VISITED for d in _tps_alerts(t, _facts(due), SETTINGS, None)
    )
    # The calendar's next milestone: still voting an hour after the close.
    assert tps_next_change(t, due + MS, SINCE, SETTINGS) == wib(27, "14:00")


def test_an_officer_with_nothing_to_guard_has_no_next_change() -> None:
    o = OfficerFacts("85010001", "16.08", None, frozenset())
    assert officer_next_change(o, wib(27, "08:00"), SINCE, SETTINGS) is None
