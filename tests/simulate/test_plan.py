"""The day plan: deterministic, in time order, and shaped like an election day."""

import tracemalloc
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from backend.config import WIB
from backend.simulate.plan import (
    Action,
    DayPlan,
    PlannedIncident,
    PlannedPing,
    distance_km,
    uuid7,
)
from schemas.enums import PHASE_RANK, Phase, Situation
from tests.simulate.conftest import synthetic_registry


def wib(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 11, day, hour, minute, tzinfo=WIB)


@pytest.fixture(scope="module")
def plan() -> DayPlan:
    tps, officers = synthetic_registry(300, 90)
    return DayPlan(tps, officers, seed=11)


@pytest.fixture(scope="module")
def steps(plan: DayPlan) -> list:
    return list(plan.steps())


def _key(step) -> tuple:
    return (step.at, step.officer, step.action, step.event)


def test_same_seed_plans_the_same_day_and_another_seed_another() -> None:
    tps, officers = synthetic_registry(60, 20)
    first = [_key(s) for s in DayPlan(tps, officers, seed=5).steps()]
    again = [_key(s) for s in DayPlan(tps, officers, seed=5).steps()]
    other = [_key(s) for s in DayPlan(tps, officers, seed=6).steps()]
    assert first == again
    assert first != other


def test_steps_come_in_time_order(steps: list) -> None:
    assert all(a.at <= b.at for a, b in pairwise(steps))
    assert steps[0].at >= wib(26, 14)
    assert steps[-1].at < wib(28, 6)


def test_phases_of_every_tps_ascend_in_time_except_ditunda(plan: DayPlan, steps: list) -> None:
    for s in plan.schedules.values():
        times = [at for at, _ in s.phases]
        assert times == sorted(times)
        ranks = [PHASE_RANK[p] for _, p in s.phases if p is not Phase.DITUNDA]
        assert ranks == sorted(ranks)
        assert s.phases[0][1] is Phase.LOGISTIK_TIBA
        assert s.phases[-1][1] is Phase.DITERIMA_PPK
    # The pings say the same: per TPS, in planned order, the phase never goes back.
    highest: dict[str, int] = defaultdict(lambda: -1)
    for step in steps:
        e = step.event
        if isinstance(e, PlannedPing) and e.phase is not Phase.DITUNDA:
            assert PHASE_RANK[e.phase] >= highest[e.tps], (e.tps, step.at, e.phase)
            highest[e.tps] = PHASE_RANK[e.phase]


def test_phase_times_fall_in_the_windows_of_the_day(plan: DayPlan) -> None:
    late = 0
    for s in plan.schedules.values():
        first = {}
        for at, p in s.phases:
            first.setdefault(p, at)
        assert wib(26, 14) <= first[Phase.LOGISTIK_TIBA] <= wib(26, 21)
        assert wib(27, 5, 30) <= first[Phase.PERSIAPAN] <= wib(27, 6, 50)
        assert wib(27, 6, 55) <= first[Phase.PEMUNGUTAN] <= wib(27, 8)
        late += first[Phase.PEMUNGUTAN] > wib(27, 7, 10)
        postponed = Phase.DITUNDA in first
        shift = timedelta(hours=2) if postponed else timedelta(0)
        assert wib(27, 13) <= first[Phase.PENGHITUNGAN] <= wib(27, 13, 40) + shift
        assert wib(27, 15) <= first[Phase.SELESAI_HITUNG] <= wib(27, 20) + shift
        dikawal = first[Phase.KOTAK_DIKAWAL] - first[Phase.SELESAI_HITUNG]
        assert timedelta(minutes=30) <= dikawal <= timedelta(minutes=90)
        ppk = first[Phase.DITERIMA_PPK] - first[Phase.KOTAK_DIKAWAL]
        assert timedelta(hours=1) <= ppk <= timedelta(hours=3)
    assert 0 < late < len(plan.schedules) // 10  # a few TPS open late, most on time


def test_one_or_two_tps_are_postponed_for_a_while_then_resume(plan: DayPlan) -> None:
    assert 1 <= len(plan.postponed) <= 2
    for code in plan.postponed:
        phases = [p for _, p in plan.schedules[code].phases]
        i = phases.index(Phase.DITUNDA)
        assert phases[i - 1 : i + 2] == [Phase.PEMUNGUTAN, Phase.DITUNDA, Phase.PEMUNGUTAN]
        stop, resume = plan.schedules[code].phases[i][0], plan.schedules[code].phases[i + 1][0]
        assert timedelta(minutes=30) <= resume - stop <= timedelta(minutes=120)
        # The postponement has a reported cause at that TPS.
        assert any(t.tps == code and t.at <= stop for t in plan.troubles)


def test_every_officer_speaks_of_its_own_tps_except_reports_from_a_scene(
    plan: DayPlan, steps: list
) -> None:
    own = {o.nrp: set(o.tps) for o in plan.officers}
    from_scene = 0
    for step in steps:
        e = step.event
        if isinstance(e, PlannedPing):
            assert e.tps in own[step.officer]
        elif isinstance(e, PlannedIncident):
            if e.tps is None:
                # The explicit exception: an officer posted nearby reports what it came to see.
                from_scene += 1
                scene = plan.tps[plan.troubles[e.trouble].tps]
                assert distance_km(e.lat, e.lon, scene.lat, scene.lon) < 0.5
            else:
                assert e.tps in own[step.officer]
    assert from_scene > 0


def test_some_incidents_are_reported_by_several_officers_near_each_other_within_minutes(
    plan: DayPlan,
) -> None:
    assert 3 <= len(plan.troubles) <= 25
    multi = [t for t in plan.troubles if len(t.reports) >= 2]
    assert multi
    for t in multi:
        assert len(t.reports) <= 3
        officers = [nrp for _, nrp, _ in t.reports]
        assert len(set(officers)) == len(officers)
        times = [at for at, _, _ in t.reports]
        assert max(times) - min(times) <= timedelta(minutes=15)
        assert {r.category for _, _, r in t.reports} == {t.category}
        # Close enough for the server to see one incident (same category within 1 km).
        for _, _, r in t.reports:
            first = t.reports[0][2]
            assert distance_km(r.lat, r.lon, first.lat, first.lon) < 1.0


def test_situations_are_mostly_aman_with_waspada_spells_and_gangguan_after_incidents(
    plan: DayPlan, steps: list
) -> None:
    seen: dict[Situation, int] = defaultdict(int)
    for step in steps:
        if isinstance(step.event, PlannedPing):
            seen[step.event.situation] += 1
    assert seen[Situation.AMAN] > 0.9 * sum(seen.values())
    assert seen[Situation.WASPADA] > 0
    assert seen[Situation.GANGGUAN] > 0
    grave = {t.tps for t in plan.troubles if t.severity >= 3}
    for code, s in plan.schedules.items():
        if any(sit is Situation.GANGGUAN for _, sit in s.situations):
            assert code in grave


def test_a_retry_resends_an_event_already_sent_with_the_same_event_id(steps: list) -> None:
    sent: dict[uuid.UUID, tuple[str, datetime]] = {}
    retries = 0
    for step in steps:
        if step.action in (Action.SEND, Action.HOLD):
            assert step.event.event_id not in sent  # every planned event is unique
            sent[step.event.event_id] = (step.officer, step.at)
        elif step.action is Action.RETRY:
            retries += 1
            officer, at = sent[step.event.event_id]
            assert officer == step.officer
            assert timedelta(0) < step.at - at <= timedelta(minutes=2)
            assert step.event.is_retried
    assert retries > 0


def test_phones_out_of_signal_hold_their_events_then_replay_them_in_one_batch(
    plan: DayPlan, steps: list
) -> None:
    assert plan.buffered
    holding: dict[str, int] = defaultdict(int)
    flushed = 0
    for step in steps:
        if step.action is Action.HOLD:
            holding[step.officer] += 1
            window = next(w for w in plan.buffered[step.officer] if w[0] <= step.at < w[1])
            assert timedelta(minutes=20) <= window[1] - window[0] <= timedelta(minutes=40)
        elif step.action is Action.FLUSH:
            assert step.at in {end for _, end in plan.buffered[step.officer]}
            flushed += holding.pop(step.officer, 0)
        elif step.officer in holding:
            assert step.action is Action.RETRY  # nothing is sent while out of signal
    assert flushed > 0
    assert not holding


def test_dead_phones_send_nothing_for_hours(plan: DayPlan, steps: list) -> None:
    assert plan.silent
    for nrp, (start, end) in plan.silent.items():
        assert timedelta(hours=2) <= end - start <= timedelta(hours=5)
        assert not [s for s in steps if s.officer == nrp and start <= s.at < end]


def test_event_ids_are_uuid7_carrying_the_planned_millisecond(steps: list) -> None:
    for step in steps[:2000]:
        if step.action is Action.SEND:
            eid = step.event.event_id
            assert eid.version == 7
            assert eid.variant == uuid.RFC_4122
            assert eid.int >> 80 == int(step.at.timestamp() * 1000)
    assert uuid7(1, 0, 0) < uuid7(2, 0xFFF, (1 << 62) - 1)  # ordered by time first


def test_pings_per_tps_come_every_ten_to_forty_five_minutes_by_day(steps: list, plan) -> None:
    last: dict[str, datetime] = {}
    gaps: list[float] = []
    for step in steps:
        e = step.event
        if step.action is Action.SEND and isinstance(e, PlannedPing):
            if e.tps in last and wib(27, 9) <= step.at <= wib(27, 12):
                gaps.append((step.at - last[e.tps]).total_seconds() / 60)
            last[e.tps] = step.at
    gaps.sort()
    median = gaps[len(gaps) // 2]
    assert 10 <= median <= 45


def test_a_whole_day_for_298_officers_streams_in_little_memory() -> None:
    tps, officers = synthetic_registry(1012, 298)
    tracemalloc.start()
    try:
        plan = DayPlan(tps, officers, seed=1)
        stream = plan.steps()
        assert isinstance(stream, Iterator)
        n = sum(1 for _ in zip(range(5000), stream, strict=False))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 5000
    # Tens of thousands of steps a day; a materialised day would take tens of megabytes.
    assert peak < 8_000_000
    assert sum(1 for _ in plan.steps()) > 30_000


def test_every_tps_reports_its_whole_day_even_when_its_phone_died_for_hours(
    plan: DayPlan, steps: list
) -> None:
    last: dict[str, Phase] = {}
    for step in steps:
        if isinstance(step.event, PlannedPing):
            last[step.event.tps] = step.event.phase
    assert set(last) == set(plan.schedules)
    assert set(last.values()) == {Phase.DITERIMA_PPK}
    # A phone back from the dead reports at once what moved on while it was dead.
    for nrp, (_, back) in plan.silent.items():
        caught_up = [
            s
            for s in steps
            if s.officer == nrp and s.at == back and isinstance(s.event, PlannedPing)
        ]
        assert caught_up, nrp


def test_officers_send_the_boxes_custody_steps_after_the_count_in_order(
    plan: DayPlan, steps: list
) -> None:
    from backend.simulate.plan import PlannedCustody
    from schemas.enums import CustodyStep

    by_tps: dict[str, list[tuple[datetime, CustodyStep]]] = defaultdict(list)
    own = {o.nrp: set(o.tps) for o in plan.officers}
    for step in steps:
        e = step.event
        if step.action is Action.SEND and isinstance(e, PlannedCustody):
            assert e.tps in own[step.officer]
            by_tps[e.tps].append((step.at, e.step))
            body = e.wire(step.at)
            if e.step is CustodyStep.SEGEL:
                assert body["seal_numbers"]
            if e.step is CustodyStep.SERAH_TERIMA:
                assert body["receiver_name"]
    assert len(by_tps) >= 0.9 * len(plan.schedules)
    order = list(CustodyStep)
    for code, got in by_tps.items():
        counted = {p: at for at, p in plan.schedules[code].phases}[Phase.SELESAI_HITUNG]
        assert min(at for at, _ in got) > counted
        got.sort()
        ranks = [order.index(s) for _, s in got]
        assert ranks == sorted(ranks), (code, got)
