"""The state merge: any order, any repetition, the same state; never rolled back."""

import itertools
import random
from datetime import UTC, datetime, timedelta

from backend.tps.state import PingFacts, StateRow, merge_all
from schemas.enums import Phase, Situation

T0 = datetime(2024, 11, 27, 0, 0, tzinfo=UTC)


def _p(minutes: int, phase: Phase, situation: Situation = Situation.AMAN, officer: int = 1):
    at = T0 + timedelta(minutes=minutes)
    return PingFacts(at=at, received_at=at, phase=phase, situation=situation, officer_id=officer)


def _fold(pings: list[PingFacts]) -> StateRow:
    s = StateRow(tps_id=1)
    for p in pings:  # one ping per batch, as if each arrived alone
        s = merge_all(s, [p])
    return s


def _without_bookkeeping(s: StateRow) -> tuple:
    return (
        s.phase,
        s.phase_rank,
        s.phase_at,
        s.postponed_at,
        s.situation,
        s.situation_at,
        s.last_seen_at,
        s.last_officer_id,
    )


def test_every_arrival_order_gives_the_same_state() -> None:
    pings = [
        _p(0, Phase.PERSIAPAN),
        _p(60, Phase.PEMUNGUTAN, Situation.WASPADA, officer=2),
        _p(90, Phase.DITUNDA, Situation.GANGGUAN),
        _p(120, Phase.PEMUNGUTAN, Situation.AMAN, officer=3),
        _p(120, Phase.PEMUNGUTAN, Situation.WASPADA, officer=2),
    ]
    results = {_without_bookkeeping(_fold(list(order))) for order in itertools.permutations(pings)}
    assert len(results) == 1
    (final,) = results
    assert final[0] is Phase.PEMUNGUTAN  # resumed after the postponement
    assert final[4] is Situation.WASPADA  # equal device times: the graver report wins


def test_late_ping_never_rolls_phase_back() -> None:
    s = _fold([_p(400, Phase.PENGHITUNGAN), _p(100, Phase.PEMUNGUTAN)])
    assert s.phase is Phase.PENGHITUNGAN


def test_newer_ping_with_an_earlier_phase_does_not_roll_back_either() -> None:
    s = _fold([_p(100, Phase.PENGHITUNGAN), _p(200, Phase.PEMUNGUTAN)])
    assert s.phase is Phase.PENGHITUNGAN
    assert s.last_seen_at == T0 + timedelta(minutes=200)


def test_postponement_shows_until_a_newer_report_of_the_phase_reached() -> None:
    s = _fold([_p(60, Phase.PEMUNGUTAN), _p(90, Phase.DITUNDA)])
    assert s.phase is Phase.DITUNDA
    s = merge_all(s, [_p(80, Phase.PEMUNGUTAN)])  # older than the postponement
    assert s.phase is Phase.DITUNDA
    s = merge_all(s, [_p(95, Phase.PENGHITUNGAN)])
    assert s.phase is Phase.PENGHITUNGAN


def test_duplicates_change_nothing_and_version_moves_only_on_change() -> None:
    p = _p(10, Phase.PEMUNGUTAN)
    s1 = merge_all(StateRow(tps_id=1), [p])
    assert s1.version == 1
    assert merge_all(s1, [p]) == s1


def test_random_batches_in_random_order_agree_with_one_fold() -> None:
    rng = random.Random(7)
    phases = list(Phase)
    pings = [
        _p(rng.randint(0, 600), rng.choice(phases), rng.choice(list(Situation)), rng.randint(1, 5))
        for _ in range(200)
    ]
    reference = _without_bookkeeping(_fold(sorted(pings, key=lambda p: p.at)))
    for _ in range(20):
        shuffled = pings[:]
        rng.shuffle(shuffled)
        s = StateRow(tps_id=1)
        i = 0
        while i < len(shuffled):
            n = rng.randint(1, 30)
            s = merge_all(s, shuffled[i : i + n])
            i += n
        assert _without_bookkeeping(s) == reference


def test_batched_merge_equals_ping_by_ping_merge() -> None:
    from backend.tps.state import merge

    rng = random.Random(11)
    for _ in range(200):
        pings = [
            _p(
                rng.randint(0, 60),
                rng.choice(list(Phase)),
                rng.choice(list(Situation)),
                rng.randint(1, 3),
            )
            for _ in range(rng.randint(1, 12))
        ]
        one_by_one = StateRow(tps_id=1)
        for p in pings:
            one_by_one = merge(one_by_one, p)
        batched = merge_all(StateRow(tps_id=1), pings)
        assert _without_bookkeeping(batched) == _without_bookkeeping(one_by_one)
