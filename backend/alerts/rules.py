"""Pure alert rules: from facts at one moment, the set of alerts that should be open.

The sweeper reads the facts, calls `evaluate`, and applies the difference to the alert table.
Nothing here does I/O or reads a clock, so every rule is tested with plain values.

Outage grouping: a TPS is *net-silent* when nothing was received about it, nor from any phone
of its assigned officers, for `outage_silence_min`. When at least `outage_min_tps` and
`outage_share` of a kecamatan's watched TPS are net-silent while, outside it, fewer than
`outage_share` are, one
`network_outage` alert is raised for the kecamatan and every TPS, schedule and officer alert
inside it is held under it (suppressed, linked by parent). If the kabupaten as a whole is that
silent, "elsewhere" is not healthy: one outage for the whole kabupaten holds everything instead.
"""

import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backend.config import Settings
from backend.schedule.calendar import behind_schedule, duty_window, milestones_of
from backend.tps.liveness import grace_s
from schemas.enums import IncidentStatus, Phase, RiskRating
from schemas.ops import AlertKind, AlertSeverity, AlertSubjectKind

Key = tuple[AlertKind, str]  # (kind, subject): at most one open alert each
Watch = tuple[bool, bool]  # a TPS in its kecamatan's outage counts: (watched, net-silent)

# Kinds that depend on hearing from the field: frozen (neither raised nor cleared) while our
# own intake is stalled, because then silence says nothing about the field.
FIELD_KINDS: frozenset[AlertKind] = frozenset(
    {
        AlertKind.BEHIND_SCHEDULE,
        AlertKind.TPS_NOT_VISITED,
        AlertKind.OFFICER_SILENT,
        AlertKind.NETWORK_OUTAGE,
        AlertKind.CUSTODY_NOT_DEPARTED,
        AlertKind.CUSTODY_OVERDUE,
        AlertKind.CUSTODY_STILL,
    }
)
INTAKE_SUBJECT = "intake"


@dataclass(frozen=True, slots=True)
class TpsFacts:
    """A TPS as the rules see it."""

    code: str
    kecamatan_code: str
    kabupaten_code: str
    risk: RiskRating
    phase: Phase | None
    last_seen_at: datetime | None  # newest device time (clamped), from anyone
    # When we last received anything about it or from its assigned officers' phones: the
    # network's view. A TPS reported every 30 minutes is not out of reach if its roving
    # officer's phone was heard a minute ago.
    last_heard_at: datetime | None
    # A later phase claimed by an officer not assigned to the TPS, waiting for a commander.
    claimed_phase: Phase | None = None
    claimed_by: str | None = None  # NRP
    claimed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OfficerFacts:
    """An officer as the rules see it."""

    nrp: str
    kabupaten_code: str
    last_received_at: datetime | None
    kecamatan_codes: frozenset[str]  # of the TPS assigned


@dataclass(frozen=True, slots=True)
class SosFacts:
    """Who sent an SOS, when and from where: what the alarm shows."""

    nrp: str | None
    name: str | None
    rank: str | None
    unit: str | None
    device_time: datetime | None
    lat: float | None
    lon: float | None
    acknowledged: bool = False  # someone at the post acknowledged it (or merged or split it)


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """An open incident as the rules see it."""

    id: int
    status: IncidentStatus
    severity: int
    kabupaten_code: str
    kecamatan_code: str | None
    tps_code: str | None
    opened_at: datetime
    tps_id: int | None = None
    sos: SosFacts | None = None  # the incident holds an officer's SOS


@dataclass(frozen=True, slots=True)
class CustodyFacts:
    """A TPS's boxes on their way to the PPK as the rules see them (backend/custody).

    Each time is the first report of that step; `fixes` are the escorts' positions since the
    departure (NRP, device time, lat, lon), only where their phones or trackers send them.
    """

    code: str
    kecamatan_code: str
    kabupaten_code: str
    sealed_at: datetime | None = None
    departed_at: datetime | None = None
    arrived_at: datetime | None = None
    handed_at: datetime | None = None
    has_ba: bool = False
    distance_km: float | None = None  # straight TPS → PPK; None: the PPK's place is unknown
    fixes: tuple[tuple[str, datetime, float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Desired:
    """An alert that should be open now."""

    kind: AlertKind
    subject_kind: AlertSubjectKind
    subject: str
    severity: AlertSeverity
    kabupaten_code: str | None = None
    kecamatan_code: str | None = None
    # Part of the alert's identity beyond (kind, subject): when it changes (a TPS that was not
    # open is now late counting), the old alert is cleared and a new one raised.
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    parent: Key | None = None  # the outage this alert is held under

    @property
    def key(self) -> Key:
        """(kind, subject)."""
        return (self.kind, self.subject)


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the rules look at."""

    now: datetime
    tps: list[TpsFacts]
    officers: list[OfficerFacts]
    incidents: list[IncidentFacts]
    # Silence before this moment is not the field's fault: we were not listening.
    listening_since: datetime
    intake_stalled: bool = False
    custody: list[CustodyFacts] = field(default_factory=list)


def _iso(v: datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def _since(*moments: datetime | None) -> datetime:
    return max(m for m in moments if m is not None)


def _sos_detail(sos: SosFacts) -> dict[str, Any]:
    return {
        "nrp": sos.nrp,
        "name": sos.name,
        "rank": sos.rank,
        "unit": sos.unit,
        "device_time": _iso(sos.device_time),
        "lat": sos.lat,
        "lon": sos.lon,
    }


def tps_watch(t: TpsFacts, now: datetime, listening_since: datetime, settings: Settings) -> Watch:
    """(watched, net-silent): what a TPS adds to its kecamatan's outage counts at `now`."""
    if grace_s(settings, t.risk, t.phase) is None:
        return (False, False)
    window = timedelta(minutes=settings.outage_silence_min)
    return (True, now - _since(t.last_heard_at, listening_since) >= window)


def _outages(facts: Facts, settings: Settings) -> dict[str, Desired]:
    """Outage alerts by the area code they cover (kecamatan, or kabupaten as a whole)."""
    watched: dict[str, int] = defaultdict(int)
    silent: dict[str, int] = defaultdict(int)
    for t in facts.tps:
        w, s = tps_watch(t, facts.now, facts.listening_since, settings)
        watched[t.kecamatan_code] += w
        silent[t.kecamatan_code] += s
    return outages_of(watched, silent, settings)


def outages_of(
    watched: Mapping[str, int], silent: Mapping[str, int], settings: Settings
) -> dict[str, Desired]:
    """Outage alerts from the counts of watched and net-silent TPS per kecamatan.

    Outages are judged per kabupaten, so the counts of some kabupaten alone give their outages
    (the incremental sweep recounts only the kabupaten that changed).
    """

    def out(n_silent: int, n_watched: int) -> bool:
        return n_silent >= settings.outage_min_tps and n_silent >= settings.outage_share * n_watched

    found: dict[str, Desired] = {}
    by_kab: dict[str, list[str]] = defaultdict(list)
    for kec in sorted(k for k, n in watched.items() if n > 0):
        by_kab[kec.rsplit(".", 1)[0]].append(kec)
    for kab, kecs in by_kab.items():
        kab_watched = sum(watched[k] for k in kecs)
        kab_silent = sum(silent.get(k, 0) for k in kecs)
        if len(kecs) > 1 and out(kab_silent, kab_watched):
            # Silent nearly everywhere: no "elsewhere" to compare with; one alert for it all.
            found[kab] = Desired(
                kind=AlertKind.NETWORK_OUTAGE,
                subject_kind=AlertSubjectKind.KABUPATEN,
                subject=kab,
                severity=AlertSeverity.CRITICAL,
                kabupaten_code=kab,
                detail={"silent_tps": kab_silent, "watched_tps": kab_watched, "kecamatan": kecs},
            )
            continue
        for kec in kecs:
            n_w, n_s = watched[kec], silent.get(kec, 0)
            if not out(n_s, n_w):
                continue
            rest_w = kab_watched - n_w
            rest_s = kab_silent - n_s
            if rest_w == 0 or rest_s >= settings.outage_share * rest_w:
                continue  # nothing healthy to compare with
            found[kec] = Desired(
                kind=AlertKind.NETWORK_OUTAGE,
                subject_kind=AlertSubjectKind.KECAMATAN,
                subject=kec,
                severity=AlertSeverity.CRITICAL,
                kabupaten_code=kab,
                kecamatan_code=kec,
                detail={"silent_tps": n_s, "watched_tps": n_w},
            )
    return found


def evaluate(facts: Facts, settings: Settings) -> dict[Key, Desired]:
    """The alerts that should be open at `facts.now`."""
    outages = _outages(facts, settings)

    def held(kecamatan: str) -> Key | None:
        """The outage a kecamatan's silence is held under, if any."""
        area = outages.get(kecamatan) or outages.get(kecamatan.rsplit(".", 1)[0])
        return area.key if area is not None else None

    found: list[Desired] = []
    if facts.intake_stalled:
        found.append(_intake_stalled())
    found.extend(outages.values())
    for t in facts.tps:
        found.extend(_tps_alerts(t, facts, settings, held(t.kecamatan_code)))
    found.extend(_silent_officers(facts, settings, held))
    for i in facts.incidents:
        found.extend(_incident_alerts(i, facts.now, settings))
    for c in facts.custody:
        found.extend(_custody_alerts(c, facts, settings, held(c.kecamatan_code)))
    return {d.key: d for d in found}


def _intake_stalled() -> Desired:
    return Desired(
        kind=AlertKind.INTAKE_STALLED,
        subject_kind=AlertSubjectKind.SYSTEM,
        subject=INTAKE_SUBJECT,
        severity=AlertSeverity.CRITICAL,
    )


def _tps_alerts(
    t: TpsFacts, facts: Facts, settings: Settings, parent: Key | None
) -> Iterator[Desired]:
    """A TPS's claim waiting for confirmation, its schedule, its silence."""
    if t.claimed_phase is not None:
        yield _phase_claim(t, t.claimed_phase)
    late = behind_schedule(settings.calendar, t.phase, facts.now)
    if late is not None:
        yield Desired(
            kind=AlertKind.BEHIND_SCHEDULE,
            subject_kind=AlertSubjectKind.TPS,
            subject=t.code,
            severity=AlertSeverity.WARNING,
            kabupaten_code=t.kabupaten_code,
            kecamatan_code=t.kecamatan_code,
            reason=late.reason,
            detail={
                "reason": late.reason,
                "due_at": late.due_at.isoformat(),
                "expected": late.expected.value,
                "phase": t.phase.value if t.phase else None,
            },
            parent=parent,
        )
    grace = grace_s(settings, t.risk, t.phase)
    if grace is not None:
        since = _since(t.last_seen_at, facts.listening_since)
        if (facts.now - since).total_seconds() >= grace:
            yield _not_visited(t, grace, parent)


def _phase_claim(t: TpsFacts, claimed: Phase) -> Desired:
    # Not about silence: never held under an outage. The claimed phase is part of the
    # identity, so a higher claim replaces the alert (and is confirmed as such).
    return Desired(
        kind=AlertKind.PHASE_CLAIM,
        subject_kind=AlertSubjectKind.TPS,
        subject=t.code,
        severity=AlertSeverity.WARNING,
        kabupaten_code=t.kabupaten_code,
        kecamatan_code=t.kecamatan_code,
        reason=claimed.value,
        detail={
            "claimed_phase": claimed.value,
            "phase": t.phase.value if t.phase else None,
            "claimed_by": t.claimed_by,
            "claimed_at": _iso(t.claimed_at),
        },
    )


def _not_visited(t: TpsFacts, grace: float, parent: Key | None) -> Desired:
    return Desired(
        kind=AlertKind.TPS_NOT_VISITED,
        subject_kind=AlertSubjectKind.TPS,
        subject=t.code,
        severity=(
            AlertSeverity.CRITICAL if t.risk is RiskRating.SANGAT_RAWAN else AlertSeverity.WARNING
        ),
        kabupaten_code=t.kabupaten_code,
        kecamatan_code=t.kecamatan_code,
        detail={
            "last_seen_at": _iso(t.last_seen_at),
            "grace_min": grace / 60,
            "risk": t.risk.value,
            "phase": t.phase.value if t.phase else None,
        },
        parent=parent,
    )


def _silent_officers(
    facts: Facts, settings: Settings, held: Callable[[str], Key | None]
) -> Iterator[Desired]:
    """Officers with TPS to guard, not heard from for their grace, while on duty."""
    now = facts.now
    duty_from, duty_until = duty_window(settings.calendar)
    if not duty_from <= now < duty_until:
        return
    officer_grace = timedelta(minutes=settings.officer_grace_min)
    for o in facts.officers:
        if not o.kecamatan_codes:
            continue  # no TPS to guard: not watched
        since = _since(o.last_received_at, duty_from, facts.listening_since)
        if now - since < officer_grace:
            continue
        parents = {held(k) for k in o.kecamatan_codes}
        parent = parents.pop() if len(parents) == 1 else None  # all in one outage area
        yield Desired(
            kind=AlertKind.OFFICER_SILENT,
            subject_kind=AlertSubjectKind.OFFICER,
            subject=o.nrp,
            severity=AlertSeverity.WARNING,
            kabupaten_code=o.kabupaten_code,
            kecamatan_code=next(iter(o.kecamatan_codes)) if len(o.kecamatan_codes) == 1 else None,
            detail={
                "last_received_at": _iso(o.last_received_at),
                "grace_min": settings.officer_grace_min,
            },
            parent=parent,
        )


def _incident_alerts(i: IncidentFacts, now: datetime, settings: Settings) -> Iterator[Desired]:
    """A new incident's SOS, its severity, and how long nobody has accepted it."""
    if i.status is not IncidentStatus.BARU:
        return
    common = {
        "subject_kind": AlertSubjectKind.INCIDENT,
        "subject": str(i.id),
        "kabupaten_code": i.kabupaten_code,
        "kecamatan_code": i.kecamatan_code,
    }
    info = {"severity": i.severity, "tps": i.tps_code, "opened_at": i.opened_at.isoformat()}
    if i.sos is not None and not i.sos.acknowledged:
        # Not about silence: never held under an outage, never frozen by a stalled intake.
        yield Desired(
            kind=AlertKind.SOS,
            severity=AlertSeverity.CRITICAL,
            detail={**info, **_sos_detail(i.sos)},
            **common,  # type: ignore[arg-type]
        )
    if i.severity >= settings.severe_incident_min and i.sos is None:
        yield Desired(
            kind=AlertKind.INCIDENT_SEVERE,
            severity=AlertSeverity.CRITICAL,
            detail=info,
            **common,  # type: ignore[arg-type]
        )
    if now - i.opened_at >= timedelta(minutes=settings.escalate_after_min):
        yield Desired(
            kind=AlertKind.INCIDENT_UNACKNOWLEDGED,
            severity=AlertSeverity.CRITICAL,
            detail={**info, "after_min": settings.escalate_after_min},
            **common,  # type: ignore[arg-type]
        )


def expected_arrival(c: CustodyFacts, settings: Settings) -> datetime | None:
    """Departure + the road's length (straight x road factor) at the road speed."""
    if c.departed_at is None or c.distance_km is None:
        return None
    hours = c.distance_km * settings.custody_road_factor / settings.custody_road_kmh
    return c.departed_at + timedelta(hours=hours)


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Equirectangular: exact enough within a few hundred metres, and no trigonometry per pair.
    kx = 111_320.0 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon2 - lon1) * kx, (lat2 - lat1) * 110_540.0)


def standing_still(
    fixes: list[tuple[datetime, float, float]], now: datetime, settings: Settings
) -> tuple[datetime, float, float] | None:
    """Where and since when an officer has stayed within the radius, if for long enough.

    Walk back from the newest fix while the fixes stay near it: the officer has been there
    since the oldest of those. A stop when that is at least `custody_still_min` ago. Only where
    fixes arrive: the newest must be within that time too (a phone that went quiet says nothing
    about the road; its silence has its own alert). The sweeper hands over the fixes reduced
    to what gives the same answer (`custody/service.py: convoy_fixes`).
    """
    if len(fixes) < 2:
        return None
    window = timedelta(minutes=settings.custody_still_min)
    at, lat, lon = max(fixes)
    if now - at > window:
        return None
    since = at
    for t, la, lo in sorted(fixes, reverse=True):
        if _metres(lat, lon, la, lo) > settings.custody_still_radius_m:
            break
        since = t
    return (since, lat, lon) if now - since >= window else None


def _custody_alerts(
    c: CustodyFacts, facts: Facts, settings: Settings, parent: Key | None
) -> Iterator[Desired]:
    """Boxes sealed but not gone, late to the PPK, handed over without a BA, or standing still.

    Every input is a first report or a set of fixes, so arrival order changes nothing. The
    time rules are about hearing from the field: held under an outage like the TPS's own.
    """
    now = facts.now
    common = {
        "subject_kind": AlertSubjectKind.TPS,
        "subject": c.code,
        "kabupaten_code": c.kabupaten_code,
        "kecamatan_code": c.kecamatan_code,
    }
    moved = c.departed_at or c.arrived_at or c.handed_at
    if c.sealed_at is not None and moved is None:
        bound = timedelta(minutes=settings.custody_depart_within_min)
        if now - _since(c.sealed_at, facts.listening_since) >= bound:
            yield Desired(
                kind=AlertKind.CUSTODY_NOT_DEPARTED,
                severity=AlertSeverity.WARNING,
                detail={"sealed_at": _iso(c.sealed_at), "bound_min": bound.total_seconds() / 60},
                parent=parent,
                **common,  # type: ignore[arg-type]
            )
    on_road = c.departed_at is not None and c.arrived_at is None and c.handed_at is None
    due = expected_arrival(c, settings)
    if on_road and due is not None:
        margin = timedelta(minutes=settings.custody_arrival_margin_min)
        if now >= _since(due, facts.listening_since) + margin:
            yield Desired(
                kind=AlertKind.CUSTODY_OVERDUE,
                severity=AlertSeverity.CRITICAL,
                detail={
                    "departed_at": _iso(c.departed_at),
                    "expected_at": _iso(due),
                    "margin_min": margin.total_seconds() / 60,
                },
                parent=parent,
                **common,  # type: ignore[arg-type]
            )
    if on_road and c.fixes:
        by_officer: dict[str, list[tuple[datetime, float, float]]] = defaultdict(list)
        for nrp, at, lat, lon in c.fixes:
            by_officer[nrp].append((at, lat, lon))
        for nrp in sorted(by_officer):
            still = standing_still(by_officer[nrp], now, settings)
            if still is not None:
                yield Desired(
                    kind=AlertKind.CUSTODY_STILL,
                    severity=AlertSeverity.CRITICAL,
                    detail={
                        "nrp": nrp,
                        "since": _iso(still[0]),
                        "lat": still[1],
                        "lon": still[2],
                        "still_min": settings.custody_still_min,
                    },
                    parent=parent,
                    **common,  # type: ignore[arg-type]
                )
                break  # one alert per convoy
    if c.handed_at is not None and not c.has_ba:
        # Not about silence: a paper missing, never held under an outage.
        yield Desired(
            kind=AlertKind.CUSTODY_NO_BA,
            severity=AlertSeverity.WARNING,
            detail={"handed_at": _iso(c.handed_at)},
            **common,  # type: ignore[arg-type]
        )


# --- when a result changes next ----------------------------------------------------------------
# The incremental sweep (backend/alerts/incremental.py) re-evaluates a subject only when
# something about it was written or when one of these moments passes. Each mirrors the rule
# above it: the earliest moment after `now` at which that rule's answer can differ, if nothing
# new is heard. Grace is a float of seconds: a moment within a millisecond before `now` still
# counts as to come, so rounding to microseconds can never skip a change (it costs one more
# evaluation).
_ROUNDING = timedelta(milliseconds=1)


def _first_after(now: datetime, moments: Iterator[datetime | None]) -> datetime | None:
    return min((m for m in moments if m is not None and m > now - _ROUNDING), default=None)


def tps_next_change(
    t: TpsFacts, now: datetime, listening_since: datetime, settings: Settings
) -> datetime | None:
    """When `_tps_alerts` or `tps_watch` may next answer otherwise for this TPS, unheard."""

    def moments() -> Iterator[datetime | None]:
        grace = grace_s(settings, t.risk, t.phase)
        if grace is not None:
            yield _since(t.last_seen_at, listening_since) + timedelta(seconds=grace)
            yield _since(t.last_heard_at, listening_since) + timedelta(
                minutes=settings.outage_silence_min
            )
        for m in milestones_of(settings.calendar):
            yield m.due_at

    return _first_after(now, moments())


def officer_next_change(
    o: OfficerFacts, now: datetime, listening_since: datetime, settings: Settings
) -> datetime | None:
    """When `_silent_officers` may next answer otherwise for this officer, unheard."""
    if not o.kecamatan_codes:
        return None
    duty_from, duty_until = duty_window(settings.calendar)
    since = _since(o.last_received_at, duty_from, listening_since)
    grace = timedelta(minutes=settings.officer_grace_min)
    return _first_after(now, iter((duty_from, duty_until, since + grace)))
