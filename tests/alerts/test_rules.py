"""Alert rules on plain facts: grace, officer silence, outage grouping, incidents, stalls."""

from datetime import datetime, timedelta

import pytest

from backend.alerts.rules import Desired, Facts, IncidentFacts, OfficerFacts, TpsFacts, evaluate
from backend.config import Settings
from schemas.enums import IncidentStatus, Phase, RiskRating
from schemas.ops import AlertKind
from tests.ops.harness import wib

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
START = wib(27, "06:00")
M = timedelta(minutes=1)


def tps(
    code: str,
    seen: datetime | None,
    *,
    risk: RiskRating = RiskRating.KURANG_RAWAN,
    phase: Phase | None = Phase.PEMUNGUTAN,
    heard: datetime | None = None,
) -> TpsFacts:
    return TpsFacts(
        code=code,
        kecamatan_code=code[:8],
        kabupaten_code=code[:5],
        risk=risk,
        phase=phase,
        last_seen_at=seen,
        last_heard_at=heard or seen,
    )


def facts(now: datetime, ts: list[TpsFacts], **kw: object) -> Facts:
    return Facts(
        now=now,
        tps=ts,
        officers=kw.pop("officers", []),  # type: ignore[arg-type]
        incidents=kw.pop("incidents", []),  # type: ignore[arg-type]
        listening_since=kw.pop("since", START),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def kinds(desired: dict[tuple[AlertKind, str], Desired]) -> set[tuple[str, str]]:
    return {(k.value, s) for k, s in desired}


@pytest.mark.parametrize(
    ("risk", "phase", "grace_min"),
    [
        (RiskRating.SANGAT_RAWAN, Phase.PEMUNGUTAN, 10),
        (RiskRating.RAWAN, Phase.PEMUNGUTAN, 20),
        (RiskRating.KURANG_RAWAN, Phase.PEMUNGUTAN, 45),
        (RiskRating.SANGAT_RAWAN, Phase.PENGHITUNGAN, 20),
        (RiskRating.KURANG_RAWAN, Phase.PERSIAPAN, 90),
    ],
)
def test_tps_is_not_visited_exactly_when_its_grace_by_risk_and_phase_runs_out(
    risk: RiskRating, phase: Phase, grace_min: int
) -> None:
    seen = wib(27, "09:00")
    t = tps("16.08.01.1007-001", seen, risk=risk, phase=phase)
    before = evaluate(facts(seen + (grace_min * M) - M, [t]), SETTINGS)
    at = evaluate(facts(seen + grace_min * M, [t]), SETTINGS)
    assert (AlertKind.TPS_NOT_VISITED, t.code) not in before
    assert at[(AlertKind.TPS_NOT_VISITED, t.code)].detail["grace_min"] == grace_min


def test_tps_without_reports_or_with_boxes_at_ppk_is_not_watched() -> None:
    late = wib(27, "12:00")
    ts = [
        tps("16.08.01.1007-001", None, phase=None),
        tps("16.08.01.1007-002", START, phase=Phase.DITERIMA_PPK),
    ]
    assert (AlertKind.TPS_NOT_VISITED, ts[0].code) not in evaluate(facts(late, ts), SETTINGS)
    assert (AlertKind.TPS_NOT_VISITED, ts[1].code) not in evaluate(facts(late, ts), SETTINGS)


def test_silence_before_the_server_listened_is_not_the_fields_fault() -> None:
    t = tps("16.08.01.1007-001", wib(27, "07:00"))
    restarted = wib(27, "10:00")
    assert not evaluate(facts(wib(27, "10:44"), [t], since=restarted), SETTINGS).keys() & {
        (AlertKind.TPS_NOT_VISITED, t.code)
    }
    assert (AlertKind.TPS_NOT_VISITED, t.code) in evaluate(
        facts(wib(27, "10:45"), [t], since=restarted), SETTINGS
    )


def test_officer_silent_after_grace_only_on_duty_and_counted_from_duty_start() -> None:
    o = OfficerFacts("85010000", "16.08", wib(27, "08:00"), frozenset({"16.08.01"}))
    never = OfficerFacts("85010001", "16.08", None, frozenset({"16.08.01"}))
    idle = OfficerFacts("85010002", "16.08", None, frozenset())  # nothing assigned
    d = evaluate(facts(wib(27, "08:29"), [], officers=[o, never, idle]), SETTINGS)
    assert kinds(d) == {("officer_silent", "85010001")}
    d = evaluate(facts(wib(27, "08:30"), [], officers=[o, never, idle]), SETTINGS)
    assert kinds(d) == {("officer_silent", "85010000"), ("officer_silent", "85010001")}
    assert evaluate(facts(wib(26, "12:00"), [], officers=[never]), SETTINGS) == {}


def _kecamatan(code: str, n: int, seen: datetime) -> list[TpsFacts]:
    return [tps(f"{code}.1001-{i:03d}", seen) for i in range(1, n + 1)]


def test_one_kecamatan_going_silent_is_one_outage_holding_the_tps_alerts() -> None:
    fine, quiet = wib(27, "11:00"), wib(27, "10:00")
    ts = _kecamatan("16.08.01", 5, fine) + _kecamatan("16.08.02", 4, quiet)
    officer = OfficerFacts("85010003", "16.08", quiet, frozenset({"16.08.02"}))
    d = evaluate(facts(wib(27, "11:00"), ts, officers=[officer]), SETTINGS)
    outage = d[(AlertKind.NETWORK_OUTAGE, "16.08.02")]
    assert outage.detail == {"silent_tps": 4, "watched_tps": 4}
    held = {k for k, v in d.items() if v.parent == outage.key}
    assert held == {(AlertKind.TPS_NOT_VISITED, t.code) for t in ts[5:]} | {
        (AlertKind.OFFICER_SILENT, "85010003")
    }
    assert all(v.parent is None for k, v in d.items() if k not in held)


def test_a_few_silent_tps_or_a_small_share_are_individual_alerts() -> None:
    fine, quiet = wib(27, "11:00"), wib(27, "10:00")
    two = _kecamatan("16.08.01", 5, fine) + _kecamatan("16.08.02", 2, quiet)
    d = evaluate(facts(fine, two), SETTINGS)
    assert {k for k, _ in d} == {AlertKind.TPS_NOT_VISITED}  # below outage_min_tps
    half = _kecamatan("16.08.01", 5, fine) + _kecamatan("16.08.02", 5, quiet)[:3]
    half += [tps(f"16.08.02.1002-{i:03d}", fine) for i in range(1, 4)]
    d = evaluate(facts(fine, half), SETTINGS)
    assert AlertKind.NETWORK_OUTAGE not in {k for k, _ in d}  # 3 of 6 < 60 %


def test_silence_everywhere_is_one_outage_of_the_kabupaten_not_hundreds() -> None:
    quiet = wib(27, "10:00")
    ts = _kecamatan("16.08.01", 5, quiet) + _kecamatan("16.08.02", 4, quiet)
    d = evaluate(facts(wib(27, "11:00"), ts), SETTINGS)
    assert kinds(d) - {("tps_not_visited", t.code) for t in ts} == {("network_outage", "16.08")}
    assert all(
        v.parent == (AlertKind.NETWORK_OUTAGE, "16.08")
        for k, v in d.items()
        if k[0] != AlertKind.NETWORK_OUTAGE
    )


def test_outage_looks_at_what_was_heard_not_at_device_times() -> None:
    # Phones buffering in a dead zone: device times are recent, nothing was heard since 10:00.
    now = wib(27, "11:00")
    ts = _kecamatan("16.08.01", 5, now) + [
        tps(f"16.08.02.1001-{i:03d}", now - 5 * M, heard=wib(27, "10:00")) for i in range(1, 5)
    ]
    d = evaluate(facts(now, ts), SETTINGS)
    assert kinds(d) == {("network_outage", "16.08.02")}


def test_severe_incident_alerts_at_once_and_escalates_while_unacknowledged() -> None:
    opened = wib(27, "10:00")
    riot = IncidentFacts(
        7, IncidentStatus.BARU, 4, "16.08", "16.08.01", "16.08.01.1007-001", opened
    )
    minor = IncidentFacts(8, IncidentStatus.BARU, 2, "16.08", "16.08.01", None, opened)
    taken = IncidentFacts(9, IncidentStatus.DITERIMA, 4, "16.08", "16.08.01", None, opened)
    d = evaluate(facts(opened, [], incidents=[riot, minor, taken]), SETTINGS)
    assert kinds(d) == {("incident_severe", "7")}
    d = evaluate(facts(opened + 10 * M, [], incidents=[riot, minor, taken]), SETTINGS)
    assert kinds(d) == {
        ("incident_severe", "7"),
        ("incident_unacknowledged", "7"),
        ("incident_unacknowledged", "8"),
    }


def test_stalled_intake_is_itself_an_alert() -> None:
    d = evaluate(facts(wib(27, "10:00"), [], intake_stalled=True), SETTINGS)
    assert kinds(d) == {("intake_stalled", "intake")}


def test_behind_schedule_carries_its_reason_and_is_held_under_an_outage() -> None:
    quiet = wib(27, "07:00")
    ts = _kecamatan("16.08.01", 5, wib(27, "07:40")) + [
        tps(f"16.08.02.1001-{i:03d}", quiet, phase=Phase.PERSIAPAN) for i in range(1, 5)
    ]
    d = evaluate(facts(wib(27, "07:40"), ts), SETTINGS)
    late = d[(AlertKind.BEHIND_SCHEDULE, "16.08.02.1001-001")]
    assert late.reason == "not_open" and late.parent == (AlertKind.NETWORK_OUTAGE, "16.08.02")


def test_a_tps_reported_rarely_is_not_out_of_reach_while_its_officers_phone_is_heard() -> None:
    now = wib(27, "11:00")
    ts = _kecamatan("16.08.01", 5, now) + [
        tps(f"16.08.02.1001-{i:03d}", now - 30 * M, heard=now - M) for i in range(1, 5)
    ]
    assert evaluate(facts(now, ts), SETTINGS) == {}


def test_a_phase_claimed_ahead_of_the_tps_is_an_alert_held_under_no_outage() -> None:
    now = wib(27, "14:00")
    silent = [tps(f"16.08.01.1007-{n:03d}", now - 60 * M) for n in range(1, 6)]  # an outage
    claimed = TpsFacts(
        code="16.08.01.1007-001",
        kecamatan_code="16.08.01",
        kabupaten_code="16.08",
        risk=RiskRating.KURANG_RAWAN,
        phase=Phase.PENGHITUNGAN,
        last_seen_at=now - 60 * M,
        last_heard_at=now - 60 * M,
        claimed_phase=Phase.DITERIMA_PPK,
        claimed_by="85010003",
        claimed_at=now - 61 * M,
    )
    elsewhere = [tps(f"16.08.03.2001-{n:03d}", now) for n in range(1, 6)]
    desired = evaluate(facts(now, [claimed, *silent[1:], *elsewhere]), SETTINGS)
    alert = desired[(AlertKind.PHASE_CLAIM, claimed.code)]
    assert (AlertKind.NETWORK_OUTAGE, "16.08.01") in desired
    assert alert.parent is None and alert.reason == "diterima_ppk"
    assert alert.detail["claimed_by"] == "85010003"
    assert (AlertKind.PHASE_CLAIM, silent[1].code) not in desired
