"""The state merge: any order, any repetition, the same state; never rolled back."""

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from backend.tps.state import (
    PingFacts,
    StateConflictError,
    StateRow,
    confirm_claim,
    correct,
    merge,
    merge_all,
)
from schemas.enums import Phase, Situation

T0 = datetime(2024, 11, 27, 0, 0, tzinfo=UTC)


def _p(
    minutes: float,
    phase: Phase,
    situation: Situation = Situation.AMAN,
    officer: int = 1,
    *,
    claim: bool = False,
) -> PingFacts:
    at = T0 + timedelta(minutes=minutes)
    return PingFacts(
        at=at, received_at=at, phase=phase, situation=situation, officer_id=officer, claim=claim
    )


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
        s.claimed_phase,
        s.claimed_rank,
        s.claimed_at,
        s.claimed_officer_id,
        s.corrected_at,
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


# --- claims: pings from officers not assigned to the TPS -----------------------------------


def test_an_unassigned_officers_phase_is_a_claim_that_leaves_the_phase_alone() -> None:
    s = _fold(
        [
            _p(60, Phase.PEMUNGUTAN, officer=1),
            _p(90, Phase.DITERIMA_PPK, Situation.GANGGUAN, officer=9, claim=True),
        ]
    )
    assert s.phase is Phase.PEMUNGUTAN
    assert s.claimed_phase is Phase.DITERIMA_PPK
    assert (s.claimed_officer_id, s.claimed_at) == (9, T0 + timedelta(minutes=90))
    # The roving officer's report of trouble and visit count like anyone's.
    assert s.situation is Situation.GANGGUAN
    assert (s.last_seen_at, s.last_officer_id) == (T0 + timedelta(minutes=90), 9)


def test_a_claim_stops_waiting_once_the_assigned_officers_reach_it() -> None:
    s = _fold([_p(60, Phase.PENGHITUNGAN, officer=9, claim=True)])
    assert s.phase is None and s.claimed_phase is Phase.PENGHITUNGAN
    s = merge_all(s, [_p(70, Phase.SELESAI_HITUNG, officer=1)])
    assert s.phase is Phase.SELESAI_HITUNG and s.claimed_phase is None


def test_an_unassigned_postponement_does_not_postpone_the_tps() -> None:
    s = _fold([_p(60, Phase.PEMUNGUTAN), _p(90, Phase.DITUNDA, officer=9, claim=True)])
    assert s.phase is Phase.PEMUNGUTAN and s.claimed_phase is None


def test_claims_in_every_arrival_order_give_the_same_state() -> None:
    pings = [
        _p(0, Phase.PERSIAPAN),
        _p(60, Phase.PEMUNGUTAN, Situation.WASPADA, officer=2),
        _p(90, Phase.DITERIMA_PPK, officer=8, claim=True),
        _p(90, Phase.DITERIMA_PPK, Situation.GANGGUAN, officer=7, claim=True),
        _p(80, Phase.DITERIMA_PPK, officer=6, claim=True),
        _p(100, Phase.PENGHITUNGAN, officer=9, claim=True),
    ]
    results = {_without_bookkeeping(_fold(list(order))) for order in itertools.permutations(pings)}
    assert len(results) == 1
    s = _fold(pings)
    assert s.phase is Phase.PEMUNGUTAN
    # The highest claim, its newest report, and at equal times the lowest officer id.
    assert (s.claimed_phase, s.claimed_officer_id) == (Phase.DITERIMA_PPK, 7)
    assert s.situation is Situation.AMAN  # the newest report (minute 100)


def test_a_confirmed_claim_moves_the_phase_and_later_reports_merge_on_top() -> None:
    s = _fold([_p(60, Phase.PEMUNGUTAN), _p(90, Phase.PENGHITUNGAN, officer=9, claim=True)])
    confirmed = confirm_claim(s, Phase.PENGHITUNGAN)
    assert confirmed.phase is Phase.PENGHITUNGAN and confirmed.claimed_phase is None
    assert confirmed.phase_at == T0 + timedelta(minutes=90)
    assert confirmed.version == s.version + 1
    # An assigned report of an earlier phase, however late, does not roll it back.
    assert merge_all(confirmed, [_p(120, Phase.PEMUNGUTAN)]).phase is Phase.PENGHITUNGAN


def test_a_confirmation_names_the_claim_it_saw() -> None:
    s = _fold([_p(60, Phase.PEMUNGUTAN), _p(90, Phase.DITERIMA_PPK, officer=9, claim=True)])
    with pytest.raises(StateConflictError, match="the claim is now diterima_ppk"):
        confirm_claim(s, Phase.PENGHITUNGAN)
    with pytest.raises(StateConflictError, match="no claimed phase"):
        confirm_claim(_fold([_p(60, Phase.PEMUNGUTAN)]), Phase.PEMUNGUTAN)


# --- a commander's correction ---------------------------------------------------------------


def test_a_correction_rolls_the_phase_back_and_no_older_ping_undoes_it() -> None:
    wrong = _fold([_p(60, Phase.PEMUNGUTAN), _p(90, Phase.DITERIMA_PPK, officer=2)])
    assert wrong.phase is Phase.DITERIMA_PPK
    at = T0 + timedelta(minutes=100)
    fixed = correct(wrong, phase=Phase.PEMUNGUTAN, situation=Situation.WASPADA, at=at)
    assert (fixed.phase, fixed.situation, fixed.corrected_at) == (
        Phase.PEMUNGUTAN,
        Situation.WASPADA,
        at,
    )
    late = [
        _p(95, Phase.DITERIMA_PPK, Situation.GANGGUAN, officer=2),
        _p(99, Phase.KOTAK_DIKAWAL, officer=9, claim=True),
    ]
    after = merge_all(fixed, late)
    assert _without_bookkeeping(after)[:5] == _without_bookkeeping(fixed)[:5]
    assert after.claimed_phase is None
    assert after.last_seen_at == T0 + timedelta(minutes=99)  # the visits still happened
    # Newer reports merge on top as ever.
    assert merge_all(after, [_p(110, Phase.PENGHITUNGAN)]).phase is Phase.PENGHITUNGAN


def test_a_correction_takes_effect_after_every_ping_already_merged() -> None:
    ahead = _fold([_p(130, Phase.DITERIMA_PPK)])  # a phone clock running ahead of the server
    fixed = correct(ahead, phase=Phase.PEMUNGUTAN, situation=None, at=T0 + timedelta(minutes=100))
    assert fixed.phase is Phase.PEMUNGUTAN
    assert fixed.corrected_at is not None and fixed.corrected_at > T0 + timedelta(minutes=130)
    assert merge_all(fixed, [_p(130, Phase.DITERIMA_PPK, officer=2)]).phase is Phase.PEMUNGUTAN


def test_a_correction_to_ditunda_resumes_with_the_next_report_of_any_phase() -> None:
    s = correct(
        _fold([_p(60, Phase.PENGHITUNGAN)]),
        phase=Phase.DITUNDA,
        situation=None,
        at=T0 + timedelta(minutes=70),
    )
    assert s.phase is Phase.DITUNDA and s.situation is Situation.AMAN
    assert merge_all(s, [_p(80, Phase.PEMUNGUTAN)]).phase is Phase.PEMUNGUTAN


def test_pings_before_a_correction_change_nothing_whether_they_arrive_before_or_after_it() -> None:
    rng = random.Random(5)
    at = T0 + timedelta(minutes=300)
    for _ in range(30):
        older = [
            _p(
                rng.randint(0, 299),
                rng.choice(list(Phase)),
                rng.choice(list(Situation)),
                rng.randint(1, 5),
                claim=rng.random() < 0.3,
            )
            for _ in range(rng.randint(1, 20))
        ]
        newer = [
            _p(
                rng.randint(300, 600),
                rng.choice(list(Phase)),
                rng.choice(list(Situation)),
                rng.randint(1, 5),
                claim=rng.random() < 0.3,
            )
            for _ in range(rng.randint(0, 20))
        ]
        outcomes = set()
        for _ in range(10):
            early = [p for p in older if rng.random() < 0.5]  # arrived before the correction
            late = [p for p in older if p not in early] + newer
            rng.shuffle(late)
            s = correct(_fold(early), phase=Phase.PEMUNGUTAN, situation=Situation.AMAN, at=at)
            for p in late:
                s = merge_all(s, [p])
            outcomes.add(_without_bookkeeping(s))
        assert len(outcomes) == 1


def test_random_batches_with_claims_and_corrections_agree_with_one_fold() -> None:
    rng = random.Random(13)
    for _ in range(50):
        start = StateRow(tps_id=1)
        if rng.random() < 0.5:
            start = correct(
                start,
                phase=rng.choice(list(Phase)),
                situation=rng.choice([None, *Situation]),
                at=T0 + timedelta(minutes=rng.randint(0, 60)),
            )
        pings = [
            _p(
                rng.randint(0, 120),
                rng.choice(list(Phase)),
                rng.choice(list(Situation)),
                rng.randint(1, 4),
                claim=rng.random() < 0.4,
            )
            for _ in range(rng.randint(1, 25))
        ]
        one_by_one = start
        for p in pings:
            one_by_one = merge(one_by_one, p)
        reference = _without_bookkeeping(one_by_one)
        for _ in range(5):
            shuffled = pings[:]
            rng.shuffle(shuffled)
            s, i = start, 0
            while i < len(shuffled):
                n = rng.randint(1, 6)
                s = merge_all(s, shuffled[i : i + n])
                i += n
            assert _without_bookkeeping(s) == reference
