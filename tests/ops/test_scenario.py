"""Election day on the real OKU Timur registry with injected faults: exactly the right alerts.

The day runs 06:00-14:30 WIB in 5-minute steps. Officers rove: each step a phone reports every
sangat rawan and rawan TPS of its officer and the next of the officer's other TPS in turn (so a
low-risk TPS is seen every 10-25 minutes while its officer's phone is heard every 5), with the
phase the calendar expects. Events go through the real intake path (checker, group commit) and
the sweep runs after each step at that clock time. Faults:

- officer A's phone dies after 09:00;
- TPS T never opens (its officer keeps reporting `persiapan`);
- a riot at TPS R is reported by three officers at 10:00, accepted by the post at 10:12;
- kecamatan K loses its mobile network 11:00-12:00; phones buffer and replay at 12:00.

The alert table afterwards must hold exactly the expected alerts, raised and cleared at the
expected clock times, with the kecamatan's alerts held under one outage alert.
"""

from collections import defaultdict
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from backend.audit.service import verify
from backend.config import DEFAULT_REGION_DATA, Settings
from backend.incidents.lifecycle import Action
from backend.incidents.service import transition
from backend.registry.build import build_registry
from backend.registry.records import Registry
from backend.registry.service import write_registry
from backend.tps.liveness import grace_s
from backend.tps.service import list_views
from schemas.enums import Phase, RiskRating, Situation
from tests.helpers import incident, ping
from tests.ops.harness import AlertRow, Field, wib

STEP = timedelta(minutes=5)
START, END = wib(27, "06:00"), wib(27, "14:30")
K = "16.08.11"  # the kecamatan that loses its network


@pytest.fixture(scope="module")
def registry() -> Registry:
    """The seeded OKU Timur registry (built once for this module)."""
    return build_registry(seed=2024, region_data_dir=DEFAULT_REGION_DATA)


def phase_at(t: datetime) -> str:
    if t < wib(27, "07:00"):
        return "persiapan"
    return "pemungutan" if t < wib(27, "13:00") else "penghitungan"


def first_step_from(t: datetime) -> datetime:
    """The first sweep at or after t."""
    n = -(-(t - START) // STEP)  # ceiling division
    return START + n * STEP


@pytest.mark.slow
def test_election_day_with_faults_raises_exactly_the_expected_alerts(
    engine: Engine, settings: Settings, registry: Registry
) -> None:
    with Session(engine) as s:
        write_registry(session=s, registry=registry)
    field = Field(engine, settings)
    try:
        _play_the_day(field, engine, settings, registry)
    finally:
        field.close()


def _play_the_day(field: Field, engine: Engine, settings: Settings, registry: Registry) -> None:
    tps = {t.code: t for t in registry.tps}
    officers_of: dict[str, list[str]] = defaultdict(list)
    tps_of: dict[str, list[str]] = defaultdict(list)
    for a in registry.assignments:
        officers_of[a.tps_code].append(a.nrp)
        tps_of[a.nrp].append(a.tps_code)
    kec_of = {nrp: tps[codes[0]].kecamatan_code for nrp, codes in tps_of.items()}

    # The cast: chosen from the registry, each fault in its own kecamatan.
    a_nrp = min(
        n
        for n in tps_of
        if kec_of[n] == "16.08.01" and all(len(officers_of[c]) == 1 for c in tps_of[n])
    )
    t_code = min(c for c, t in tps.items() if t.kecamatan_code == "16.08.02")
    r_code = min(c for c, t in tps.items() if t.kecamatan_code == "16.08.03")
    reporters = sorted(n for n in tps_of if kec_of[n] == "16.08.03")[:3]
    k_officers = {n for n in tps_of if kec_of[n] == K}
    k_tps = sorted(c for c, t in tps.items() if t.kecamatan_code == K)
    assert len(k_tps) >= 10 and len(tps_of[a_nrp]) >= 2

    def visits(nrp: str, step: int) -> list[str]:
        codes = tps_of[nrp]
        close = [c for c in codes if tps[c].risk is not RiskRating.KURANG_RAWAN]
        rest = [c for c in codes if tps[c].risk is RiskRating.KURANG_RAWAN]
        return close + ([rest[step % len(rest)]] if rest else [])

    buffered: list[tuple[str, dict[str, object]]] = []
    last_sent: dict[str, datetime] = {}
    k_last: dict[str, datetime] = {}
    riot_id = None
    t, step = START, 0
    while t <= END:
        events: list[tuple[str, dict[str, object]]] = []
        for nrp in tps_of:
            if nrp == a_nrp and t > wib(27, "09:00"):
                continue  # the phone died
            for code in visits(nrp, step):
                phase = "persiapan" if code == t_code else phase_at(t)
                e = (nrp, ping(code, phase, at=t))
                if nrp in k_officers and wib(27, "11:00") <= t < wib(27, "12:00"):
                    buffered.append(e)  # no signal: the app keeps it
                else:
                    events.append(e)
                    last_sent[code] = t
        if t == wib(27, "10:55"):
            k_last = {c: last_sent[c] for c in k_tps}
        if t == wib(27, "12:00"):
            events += buffered  # signal is back: the backlog goes out
        if t == wib(27, "10:00"):
            events += [
                (nrp, incident(r_code, "kericuhan", 4, at=t, minutes=i))
                for i, nrp in enumerate(reporters)
            ]
        outcome = field.send(events, at=t)
        if t == wib(27, "10:00"):
            assert len(set(outcome.incident_ids)) == 1  # three reports, one incident
            riot_id = outcome.incident_ids[0]
        field.sweep(t)
        if t == wib(27, "10:10"):
            with Session(engine) as s:  # between sweeps, the duty operator takes the riot
                transition(
                    session=s,
                    incident_id=riot_id,  # type: ignore[arg-type]
                    action=Action.ACCEPT,
                    expected_version=2,  # opened, then joined by two more reports
                    actor="session:operator#1",
                    now=wib(27, "10:12"),
                )
        t += STEP
        step += 1

    def grace_min(code: str, phase: Phase) -> timedelta:
        g = grace_s(settings, tps[code].risk, phase)
        assert g is not None
        return timedelta(seconds=g)

    a_last, phones_lost = wib(27, "09:00"), wib(27, "10:55")
    back = wib(27, "12:00")
    expected = {
        AlertRow("behind_schedule", t_code, wib(27, "07:30"), None, None),
        AlertRow("officer_silent", a_nrp, a_last + timedelta(minutes=30), None, None),
        AlertRow("incident_severe", str(riot_id), wib(27, "10:00"), wib(27, "10:15"), None),
        AlertRow("incident_unacknowledged", str(riot_id), wib(27, "10:10"), wib(27, "10:15"), None),
        AlertRow("network_outage", K, phones_lost + timedelta(minutes=10), back, None),
    }
    for code in tps_of[a_nrp]:
        raised = first_step_from(last_sent[code] + grace_min(code, Phase.PEMUNGUTAN))
        expected.add(AlertRow("tps_not_visited", code, raised, None, None))
        expected.add(AlertRow("behind_schedule", code, wib(27, "14:00"), None, None))
    for code in k_tps:
        raised = first_step_from(k_last[code] + grace_min(code, Phase.PEMUNGUTAN))
        if raised < back:
            expected.add(AlertRow("tps_not_visited", code, raised, back, K))
    for nrp in k_officers:
        expected.add(AlertRow("officer_silent", nrp, phones_lost + timedelta(minutes=30), back, K))

    got = field.alerts()
    assert got - expected == set(), "unexpected alerts"
    assert expected - got == set(), "missing alerts"
    held = [r for r in got if r.parent == K]
    assert len(held) > len(k_tps)  # one outage alert stood for all of these

    with Session(engine) as s:
        assert verify(session=s).ok
        (riot_tps,) = list_views(session=s, codes=[r_code])
    assert riot_tps.incident_situation is Situation.GANGGUAN  # accepted, still open
