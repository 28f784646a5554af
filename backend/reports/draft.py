"""Draft a laporan situasi from what is stored: one read per fact, no writes, no clock.

`draft` takes the moment it is drafted at (the server's clock, or an exercise's) and the
period it covers, and returns `ReportContent`: the kabupaten as a whole, then each kecamatan.
TPS phases, personnel heard, silence and boxes (each TPS at its furthest custody step) are as of
the period's end, or `now` if that is earlier: a period still running reads the state tables (the
present); a period already over (the daily report closing the day, a report drafted late) is
rebuilt as it stood at its end by backend/replay, from what was stored by then. Incidents are
counted over the period from their steps.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from backend.alerts.rules import Facts, OfficerFacts, TpsFacts, evaluate
from backend.alerts.service import load_facts
from backend.config import Settings
from backend.custody.service import custody_counts
from backend.incidents.models import Incident, IncidentStepRow
from backend.officers.models import Assignment, Officer, Unit
from backend.regions.models import Region
from backend.replay.service import Heard, heard_at, tps_at
from backend.schedule.calendar import behind_schedule
from backend.tps.models import Tps, TpsState
from schemas.enums import OPEN_STATUSES, IncidentStatus, Phase
from schemas.live import TpsView
from schemas.ops import AlertKind
from schemas.reports import (
    AreaSection,
    BoxCounts,
    IncidentCounts,
    IncidentLine,
    ReportContent,
    UnitPersonnel,
)

NOT_REPORTED = "belum"
HANDLED = frozenset({IncidentStatus.SELESAI, IncidentStatus.DITUTUP})
ACCOUNT_CHARS = 140


@dataclass(frozen=True, slots=True)
class _Past:
    """The area as it stood at a past moment (backend/replay): TPS, officers heard."""

    at: datetime
    tps: list[TpsView]
    heard: dict[int, Heard]


def _boxes(session: Session, area: str, accs: dict[str, "_Acc"], at: datetime | None) -> None:
    """Ballot boxes per kecamatan from the chain of custody, each TPS at its furthest step."""
    for k in custody_counts(session, area, at):
        for acc in (accs[""], accs[k.kecamatan_code]):
            acc.boxes.sealed += k.sealed
            acc.boxes.on_road += k.on_road
            acc.boxes.received += k.received


@dataclass(slots=True)
class _Acc:
    """One area's figures while they are gathered."""

    code: str
    name: str
    phases: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    behind: int = 0
    units: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    incidents: IncidentCounts = field(default_factory=IncidentCounts)
    lines: list[IncidentLine] = field(default_factory=list)
    silent_tps: list[str] = field(default_factory=list)
    silent_officers: list[str] = field(default_factory=list)
    boxes: BoxCounts = field(default_factory=BoxCounts)

    def section(self, unit_names: dict[int, tuple[str, str]]) -> AreaSection:
        phases = dict(sorted(self.phases.items()))
        return AreaSection(
            code=self.code,
            name=self.name,
            tps_total=sum(phases.values()),
            tps_by_phase=phases,
            behind_schedule=self.behind,
            personnel=[
                UnitPersonnel(
                    unit_code=unit_names[uid][0],
                    unit_name=unit_names[uid][1],
                    deployed=n[0],
                    heard=n[1],
                )
                for uid, n in sorted(self.units.items(), key=lambda kv: unit_names[kv[0]][0])
            ],
            incidents=self.incidents,
            incident_lines=sorted(self.lines, key=lambda x: (-x.severity, x.opened_at, x.id)),
            silent_tps=sorted(self.silent_tps),
            silent_officers=sorted(set(self.silent_officers)),
            boxes=self.boxes,
        )


def _names(session: Session, area: str) -> tuple[str, dict[str, str]]:
    """The kabupaten's name and its kecamatan's, by code."""
    kab = session.get(Region, area)
    rows = session.execute(
        sa_select(col(Region.code), col(Region.name)).where(col(Region.parent_code) == area)
    )
    kecs = {str(code): str(name) for code, name in rows}
    return (kab.name if kab is not None else area), kecs


def _tps(
    session: Session,
    area: str,
    now: datetime,
    settings: Settings,
    accs: dict[str, _Acc],
    past: _Past | None,
) -> None:
    rows: list[tuple[str, Phase | None]] = (
        [(v.kecamatan_code, v.phase) for v in past.tps]
        if past is not None
        else [
            (kec, phase)
            for kec, phase in session.execute(
                sa_select(col(Tps.kecamatan_code), col(TpsState.phase))
                .join(TpsState, col(TpsState.tps_id) == col(Tps.id))
                .where(col(Tps.kabupaten_code) == area)
            )
        ]
    )
    for kec, phase in rows:
        key = phase.value if phase is not None else NOT_REPORTED
        late = behind_schedule(settings.calendar, phase, now) is not None
        for acc in (accs[""], accs[kec]):
            acc.phases[key] += 1
            acc.behind += late


def _personnel(
    session: Session, area: str, since: datetime, accs: dict[str, _Acc], past: _Past | None
) -> dict[int, tuple[str, str]]:
    """Officers assigned to the area's TPS, by unit, and how many were heard since `since`.

    Heard: by the period's end when it is over (`past`), else by now.
    """
    kecs_of: dict[int, set[str]] = defaultdict(set)
    unit_of: dict[int, tuple[int, bool]] = {}
    for oid, unit_id, received, kec in session.execute(
        sa_select(
            col(Officer.id),
            col(Officer.unit_id),
            col(Officer.last_received_at),
            col(Tps.kecamatan_code),
        )
        .join(Assignment, col(Assignment.officer_id) == col(Officer.id))
        .join(Tps, col(Tps.id) == col(Assignment.tps_id))
        .where(col(Tps.kabupaten_code) == area)
    ):
        kecs_of[oid].add(kec)
        if past is not None:
            h = past.heard.get(oid)
            received = h.received_at if h is not None else None
        unit_of[oid] = (unit_id, received is not None and received >= since)
    for oid, (unit_id, heard) in unit_of.items():
        for acc in (accs[""], *(accs[k] for k in kecs_of[oid])):
            counts = acc.units[unit_id]
            counts[0] += 1
            counts[1] += heard
    names: dict[int, tuple[str, str]] = {
        uid: (code, name)
        for uid, code, name in session.execute(
            sa_select(col(Unit.id), col(Unit.code), col(Unit.name)).where(
                col(Unit.id).in_({u for u, _ in unit_of.values()})
            )
        )
    }
    return names


def _status_at_end(
    session: Session, incident_ids: list[int], end: datetime
) -> tuple[dict[int, IncidentStatus], dict[int, datetime]]:
    """Each incident's status at `end` (from its steps), and when it was handled, if it was."""
    status: dict[int, IncidentStatus] = {}
    handled_at: dict[int, datetime] = {}
    for i in range(0, len(incident_ids), 500):
        for iid, to, at in session.execute(
            sa_select(
                col(IncidentStepRow.incident_id),
                col(IncidentStepRow.to_status),
                col(IncidentStepRow.at),
            )
            .where(
                col(IncidentStepRow.incident_id).in_(incident_ids[i : i + 500]),
                col(IncidentStepRow.to_status).is_not(None),
                col(IncidentStepRow.at) < end,
            )
            .order_by(col(IncidentStepRow.at), col(IncidentStepRow.id))
        ):
            status[iid] = to
            if to in HANDLED and iid not in handled_at:
                handled_at[iid] = at
    return status, handled_at


def _bump(counts: IncidentCounts, category: str, severity: int, what: str) -> None:
    attr = "still_open" if what == "open" else what
    setattr(counts, attr, getattr(counts, attr) + 1)
    for table, key in ((counts.by_category, category), (counts.by_severity, str(severity))):
        row = table.setdefault(key, {"new": 0, "handled": 0, "open": 0})
        row[what] += 1


def account(inc: Incident, tps_code: str | None, kec_name: str | None) -> str:
    """One line: where, what was reported, and who handles it."""
    where = f"TPS {tps_code}" if tps_code else (f"Kec. {kec_name}" if kec_name else "lokasi GPS")
    text = " ".join(inc.description.split())
    if len(text) > ACCOUNT_CHARS:
        text = text[: ACCOUNT_CHARS - 1] + "…"
    who = f"; ditangani {inc.assignee.split(':', 1)[-1]}" if inc.assignee else ""
    sos = "SOS — " if inc.is_sos else ""
    return f"{sos}{where}: {text}{who}"


def _incidents(
    session: Session,
    area: str,
    start: datetime,
    end: datetime,
    kec_names: dict[str, str],
    accs: dict[str, _Acc],
) -> None:
    rows = list(
        session.execute(
            sa_select(Incident, col(Tps.code))
            .outerjoin(Tps, col(Tps.id) == col(Incident.tps_id))
            .where(col(Incident.kabupaten_code) == area, col(Incident.opened_at) < end)
        )
    )
    status, handled_at = _status_at_end(session, [i.id for i, _ in rows if i.id is not None], end)
    for inc, tps_code in rows:
        assert inc.id is not None
        at_end = status.get(inc.id, IncidentStatus.BARU)
        counted = []
        if inc.opened_at >= start:
            counted.append("new")
        if inc.id in handled_at and handled_at[inc.id] >= start:
            counted.append("handled")
        if at_end in OPEN_STATUSES:
            counted.append("open")
        if not counted:
            continue
        line = IncidentLine(
            id=inc.id,
            category=inc.category.value,
            severity=inc.severity,
            status=at_end.value,
            tps=tps_code,
            opened_at=inc.opened_at,
            account=account(inc, tps_code, kec_names.get(inc.kecamatan_code or "")),
        )
        targets = [accs[""]] + ([accs[inc.kecamatan_code]] if inc.kecamatan_code else [])
        for acc in targets:
            for what in counted:
                _bump(acc.incidents, inc.category.value, inc.severity, what)
            acc.lines.append(line)


def _facts_at(session: Session, area: str, past: _Past, listening_since: datetime) -> Facts:
    """What the silence rules saw at `past.at`: `alerts/service.py: load_facts` rebuilt then.

    The same facts from replay's TPS and officers' last heard at that moment; incidents and
    custody are left out (the silence rules do not read them).
    """
    kecs: dict[int, set[str]] = defaultdict(set)
    by_officer: dict[str, datetime] = {}
    for oid, code, kec in session.execute(
        sa_select(col(Assignment.officer_id), col(Tps.code), col(Tps.kecamatan_code))
        .join(Tps, col(Tps.id) == col(Assignment.tps_id))
        .where(col(Tps.kabupaten_code) == area)
    ):
        kecs[oid].add(kec)
        h = past.heard.get(oid)
        if h is not None and (code not in by_officer or h.received_at > by_officer[code]):
            by_officer[code] = h.received_at
    tps = [
        TpsFacts(
            code=v.code,
            kecamatan_code=v.kecamatan_code,
            kabupaten_code=area,
            risk=v.risk,
            phase=v.phase,
            last_seen_at=v.last_seen_at,
            last_heard_at=max(
                (t for t in (v.last_received_at, by_officer.get(v.code)) if t is not None),
                default=None,
            ),
            claimed_phase=v.claimed_phase,
            claimed_by=v.claimed_by,
            claimed_at=v.claimed_at,
        )
        for v in past.tps
    ]
    officers = [
        OfficerFacts(
            nrp=nrp,
            kabupaten_code=kab,
            last_received_at=past.heard[oid].received_at if oid in past.heard else None,
            kecamatan_codes=frozenset(kecs.get(oid, ())),
        )
        for oid, nrp, kab in session.execute(
            sa_select(col(Officer.id), col(Officer.nrp), col(Officer.kabupaten_code)).where(
                col(Officer.kabupaten_code) == area
            )
        )
    ]
    return Facts(
        now=past.at,
        tps=tps,
        officers=officers,
        incidents=[],
        listening_since=listening_since,
        intake_stalled=False,
    )


def _silence(
    session: Session,
    area: str,
    now: datetime,
    settings: Settings,
    listening_since: datetime,
    accs: dict[str, _Acc],
    past: _Past | None,
) -> None:
    """TPS not visited and officers silent, by the alert rules' own judgement of the facts.

    For a period over (`past`), the facts as they stood at its end.
    """
    facts = (
        _facts_at(session, area, past, listening_since)
        if past is not None
        else load_facts(
            session=session,
            now=now,
            listening_since=listening_since,
            intake_stalled=False,
            area_code=area,
        )
    )
    kec_of_tps = {t.code: t.kecamatan_code for t in facts.tps}
    kecs_of_officer = {o.nrp: o.kecamatan_codes for o in facts.officers}
    for kind, subject in evaluate(facts, settings):
        if kind is AlertKind.TPS_NOT_VISITED:
            _add(accs, [kec_of_tps.get(subject, "")], "silent_tps", subject)
        elif kind is AlertKind.OFFICER_SILENT:
            _add(accs, kecs_of_officer.get(subject, ()), "silent_officers", subject)


def _add(accs: dict[str, _Acc], kecs: Iterable[str], attr: str, value: str) -> None:
    getattr(accs[""], attr).append(value)
    for k in kecs:
        if k and k in accs:
            getattr(accs[k], attr).append(value)


def draft(
    session: Session,
    area: str,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    *,
    settings: Settings,
    listening_since: datetime | None = None,
) -> ReportContent:
    """The content of a kabupaten's report for [period_start, period_end), drafted at `now`."""
    kab_name, kec_names = _names(session, area)
    accs: dict[str, _Acc] = defaultdict(lambda: _Acc("", ""))
    accs[""] = _Acc(area, kab_name)
    for code, name in kec_names.items():
        accs[code] = _Acc(code, name)
    # A period over is read as it stood at its end; one still running, as it stands now.
    past = (
        _Past(
            at=period_end,
            tps=tps_at(session=session, area_code=area, at=period_end),
            heard=heard_at(session=session, at=period_end),
        )
        if period_end < now
        else None
    )
    as_of = past.at if past is not None else now
    _tps(session, area, as_of, settings, accs, past)
    units = _personnel(session, area, period_start, accs, past)
    _incidents(session, area, period_start, period_end, kec_names, accs)
    since = listening_since if listening_since is not None else settings.calendar.setup_from
    _silence(session, area, as_of, settings, since, accs, past)
    _boxes(session, area, accs, past.at if past is not None else None)
    for code, acc in accs.items():
        if code and not acc.code:
            acc.code, acc.name = code, code  # a kecamatan missing from the region table
    kecamatan = [accs[c].section(units) for c in sorted(accs) if c]
    return ReportContent(
        area_code=area,
        area_name=kab_name,
        period_start=period_start,
        period_end=period_end,
        drafted_at=now,
        kabupaten=accs[""].section(units),
        kecamatan=kecamatan,
    )
