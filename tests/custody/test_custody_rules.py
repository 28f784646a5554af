"""Custody alert rules on plain facts: not departed, overdue, no berita acara, standing still."""

from dataclasses import replace
from datetime import datetime, timedelta
from itertools import permutations

import pytest

from backend.alerts.rules import CustodyFacts, Facts, TpsFacts, evaluate, expected_arrival
from backend.config import Settings
from schemas.enums import CustodyStep, Phase, RiskRating
from schemas.ops import AlertKind
from tests.ops.harness import wib

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
START = wib(27, "06:00")
M = timedelta(minutes=1)
CODE = "16.08.01.1007-001"
SEALED = wib(27, "15:00")


def facts(now: datetime, boxes: list[CustodyFacts], ts: list[TpsFacts] | None = None) -> Facts:
    return Facts(
        now=now, tps=ts or [], officers=[], incidents=[], listening_since=START, custody=boxes
    )


def box(**kw: object) -> CustodyFacts:
    base: dict[str, object] = {
        "code": CODE,
        "kecamatan_code": CODE[:8],
        "kabupaten_code": CODE[:5],
        "distance_km": 10.0,
    }
    return CustodyFacts(**{**base, **kw})  # type: ignore[arg-type]


def alerts(now: datetime, b: CustodyFacts, **kw: object) -> set[str]:
    return {k.value for k, s in evaluate(facts(now, [b], **kw), SETTINGS) if s == CODE}  # type: ignore[arg-type]


def test_sealed_boxes_not_departed_alert_exactly_at_the_bound() -> None:
    b = box(sealed_at=SEALED)
    assert alerts(SEALED + 59 * M, b) == set()
    assert alerts(SEALED + 60 * M, b) == {"custody_not_departed"}
    assert alerts(SEALED + 90 * M, replace(b, departed_at=SEALED + 80 * M)) == set()
    # A departure never reported but an arrival: the boxes did leave.
    assert alerts(SEALED + 90 * M, replace(b, arrived_at=SEALED + 85 * M)) == set()


def test_expected_arrival_is_road_distance_at_road_speed() -> None:
    b = box(sealed_at=SEALED, departed_at=SEALED + 10 * M, distance_km=10.0)
    # 10 km straight x 1.3 = 13 km at 30 km/h = 26 minutes.
    assert expected_arrival(b, SETTINGS) == SEALED + 36 * M


def test_boxes_on_the_road_are_overdue_after_expected_plus_margin() -> None:
    b = box(sealed_at=SEALED, departed_at=SEALED + 10 * M)
    due = SEALED + 36 * M
    assert alerts(due + 29 * M, b) == set()
    assert alerts(due + 30 * M, b) == {"custody_overdue"}
    assert alerts(due + 60 * M, replace(b, arrived_at=due + 40 * M)) == set()
    assert alerts(due + 60 * M, replace(b, distance_km=None)) == set()  # no PPK place known


def test_a_handover_without_berita_acara_number_alerts_until_one_comes() -> None:
    b = box(sealed_at=SEALED, departed_at=SEALED + 5 * M, handed_at=SEALED + 40 * M)
    assert alerts(SEALED + 41 * M, b) == {"custody_no_ba"}
    assert alerts(SEALED + 41 * M, replace(b, has_ba=True)) == set()


def _fixes(nrp: str, start: datetime, minutes: int, step_m: float) -> tuple[object, ...]:
    """A fix a minute, each `step_m` metres north of the last."""
    return tuple(
        (nrp, start + i * M, -4.3 + i * step_m / 110_540.0, 104.35) for i in range(minutes + 1)
    )


def test_a_convoy_standing_still_alerts_only_where_fixes_keep_arriving() -> None:
    dep = SEALED + 10 * M
    still = box(sealed_at=SEALED, departed_at=dep, fixes=_fixes("85010000", dep, 16, 3.0))
    now = dep + 16 * M
    got = evaluate(facts(now, [still]), SETTINGS)
    assert (AlertKind.CUSTODY_STILL, CODE) in got
    assert got[(AlertKind.CUSTODY_STILL, CODE)].detail["nrp"] == "85010000"
    moving = replace(still, fixes=_fixes("85010000", dep, 16, 400.0))
    assert alerts(now, moving) == set()
    short = replace(still, fixes=_fixes("85010000", dep, 14, 3.0))
    assert alerts(dep + 14 * M, short) == set()
    # The phone went quiet 20 minutes ago: silence, not a stop.
    assert "custody_still" not in alerts(now + 20 * M, still)
    # Arrived: standing at the PPK is what it should do.
    assert alerts(now, replace(still, arrived_at=now - M)) == set()


def _first_of_each(reports: list[tuple[CustodyStep, datetime, bool]]) -> CustodyFacts:
    """Fold step reports as the database's GROUP BY does: first time per step, any BA."""
    first: dict[CustodyStep, datetime] = {}
    has_ba = False
    for step, at, ba in reports:
        first[step] = min(at, first.get(step, at))
        has_ba = has_ba or (step is CustodyStep.SERAH_TERIMA and ba)
    return box(
        sealed_at=first.get(CustodyStep.SEGEL),
        departed_at=first.get(CustodyStep.BERANGKAT),
        arrived_at=first.get(CustodyStep.TIBA),
        handed_at=first.get(CustodyStep.SERAH_TERIMA),
        has_ba=has_ba,
    )


@pytest.mark.parametrize("now_m", [30, 70, 200])
def test_custody_alerts_do_not_depend_on_the_order_reports_arrive(now_m: int) -> None:
    reports = [
        (CustodyStep.SEGEL, SEALED, False),
        (CustodyStep.BERANGKAT, SEALED + 65 * M, False),
        (CustodyStep.SERAH_TERIMA, SEALED + 150 * M, False),
        (CustodyStep.SERAH_TERIMA, SEALED + 155 * M, True),  # the BA number sent again
    ]
    seen = set()
    for order in permutations(reports):
        seen.add(frozenset(alerts(SEALED + now_m * M, _first_of_each(list(order)))))
    assert len(seen) == 1


def test_custody_time_alerts_are_held_under_an_outage_but_a_missing_ba_is_not() -> None:
    now = SEALED + 120 * M
    silent = [
        TpsFacts(
            code=f"16.08.01.1007-{n:03d}",
            kecamatan_code="16.08.01",
            kabupaten_code="16.08",
            risk=RiskRating.KURANG_RAWAN,
            phase=Phase.PEMUNGUTAN,
            last_seen_at=now - 60 * M,
            last_heard_at=now - 60 * M,
        )
        for n in range(1, 5)
    ]
    healthy = [
        replace(t, code=f"16.08.03.2001-{i:03d}", kecamatan_code="16.08.03", last_heard_at=now)
        for i, t in enumerate(silent, 1)
    ]
    late = box(sealed_at=SEALED)
    no_ba = box(code="16.08.01.1007-009", sealed_at=SEALED, handed_at=SEALED + 50 * M)
    got = evaluate(facts(now, [late, no_ba], silent + healthy), SETTINGS)
    outage = (AlertKind.NETWORK_OUTAGE, "16.08.01")
    assert outage in got
    assert got[(AlertKind.CUSTODY_NOT_DEPARTED, CODE)].parent == outage
    assert got[(AlertKind.CUSTODY_NO_BA, "16.08.01.1007-009")].parent is None
