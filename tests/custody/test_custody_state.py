"""Custody steps in the TPS merge: never back, the same state in any arrival order."""

from datetime import timedelta
from itertools import permutations

from backend.tps.state import PingFacts, StateRow, merge, merge_all
from schemas.enums import CUSTODY_PHASE, PHASE_RANK, CustodyStep, Phase, Situation
from tests.factories import NOW


def _step(step: CustodyStep, minutes: int, officer: int = 1, claim: bool = False) -> PingFacts:
    at = NOW + timedelta(minutes=minutes)
    return PingFacts(at, at, CUSTODY_PHASE[step], None, officer, claim)


def _ping(phase: Phase, minutes: int, situation: Situation = Situation.AMAN) -> PingFacts:
    at = NOW + timedelta(minutes=minutes)
    return PingFacts(at, at, phase, situation, 1)


EVENTS = [
    _ping(Phase.PENGHITUNGAN, 0, Situation.WASPADA),
    _step(CustodyStep.SEGEL, 10),
    _step(CustodyStep.BERANGKAT, 20),
    _step(CustodyStep.TIBA, 50),
    _step(CustodyStep.SERAH_TERIMA, 60),
    _ping(Phase.SELESAI_HITUNG, 70),  # a late-sent ping from the TPS: never back
]


def test_custody_steps_give_the_same_state_in_every_arrival_order() -> None:
    results = set()
    for order in permutations(EVENTS):
        one_by_one = StateRow(tps_id=1)
        for e in order:
            one_by_one = merge(one_by_one, e)
        folded = merge_all(StateRow(tps_id=1), list(order))
        assert folded.phase_rank == one_by_one.phase_rank
        results.add((folded.phase, folded.phase_at, folded.situation, folded.last_seen_at))
    assert len(results) == 1
    phase, phase_at, situation, seen = results.pop()
    assert phase is Phase.DITERIMA_PPK
    assert phase_at == NOW + timedelta(minutes=60)
    assert situation is Situation.AMAN  # the newest ping's; custody steps carry none
    assert seen == NOW + timedelta(minutes=70)


def test_a_step_never_moves_a_tps_back() -> None:
    s = merge_all(StateRow(tps_id=1), [_step(CustodyStep.SERAH_TERIMA, 60)])
    after = merge_all(s, [_step(CustodyStep.SEGEL, 90), _step(CustodyStep.BERANGKAT, 95)])
    assert after.phase is Phase.DITERIMA_PPK
    assert after.phase_at == NOW + timedelta(minutes=60)


def test_a_step_alone_keeps_the_situation_unknown() -> None:
    s = merge_all(StateRow(tps_id=1), [_step(CustodyStep.SEGEL, 0)])
    assert s.phase is Phase.SELESAI_HITUNG and s.situation is None and s.situation_at is None


def test_an_unassigned_officers_step_is_a_claim() -> None:
    s = merge_all(StateRow(tps_id=1), [_step(CustodyStep.TIBA, 5, officer=9, claim=True)])
    assert s.phase is None
    assert s.claimed_rank == PHASE_RANK[Phase.KOTAK_DIKAWAL] and s.claimed_officer_id == 9
