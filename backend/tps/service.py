"""Read the registry joined with current state: lists, one TPS's timeline, summaries."""

import math
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from backend.audit.service import AuditRecord, append
from backend.config import now_utc
from backend.incidents.models import IncidentReport
from backend.incidents.service import incident_situations
from backend.meta import get_value
from backend.officers.models import Assignment, Officer
from backend.regions.models import Region
from backend.tps import rollup
from backend.tps.models import PING_INDEX_KEY, Ping, PingByTps, Tps, TpsState, TpsTransition
from backend.tps.rollup import count_by_area
from backend.tps.state import StateConflictError, StateRow, TpsChange, confirm_claim, correct
from schemas.enums import PHASE_ORDER, Phase, RiskRating, Situation, flags_to_list
from schemas.live import LogEntry, PhaseCount, Summary, TimelineEvent, TimelineRow, TpsView

NOT_REPORTED = "belum"  # summary bucket for TPS with no phase reported yet


def area_clause(area_code: str | None) -> ColumnElement[bool] | None:
    """Limit TPS to an area: None is national, 2 digits a province, else a kabupaten."""
    if area_code is None:
        return None
    if len(area_code) == 2:
        return col(Tps.province_code) == area_code
    return col(Tps.kabupaten_code) == area_code


# id -> (datetime, its isoformat()): a batch's live rows repeat the same few datetime objects
# (a ping's time is often the phase, situation and last-seen time at once), and isoformat() on
# pydantic's own UTC zone was a quarter of the after-commit work. Holding the object keeps its
# id from being reused while the entry lives.
_ISO_KEPT = 16_384
_iso_seen: dict[int, tuple[datetime, str]] = {}


def iso_time(v: datetime | None) -> str | None:
    """isoformat(), remembered for the same datetime object (None stays None)."""
    if v is None:
        return None
    hit = _iso_seen.get(id(v))
    if hit is not None and hit[0] is v:
        return hit[1]
    text = v.isoformat()
    if len(_iso_seen) >= _ISO_KEPT:
        _iso_seen.clear()
    _iso_seen[id(v)] = (v, text)
    return text


def state_dict(
    code: str,
    s: StateRow,
    officer_nrp: str | None,
    incident_situation: Situation | None = None,
    claimed_nrp: str | None = None,
) -> dict[str, Any]:
    """A TPS state as the live stream sends it (matches schemas.live.TpsState)."""
    phase = s.phase
    claimed = s.claimed_phase
    return {
        "incident_situation": incident_situation.value if incident_situation else None,
        "code": code,
        "phase": phase.value if phase is not None else None,
        "situation": s.situation.value if s.situation is not None else None,
        "phase_at": iso_time(s.postponed_at if phase is Phase.DITUNDA else s.phase_at),
        "situation_at": iso_time(s.situation_at),
        "last_seen_at": iso_time(s.last_seen_at),
        "last_received_at": iso_time(s.last_received_at),
        "last_officer": officer_nrp,
        "version": s.version,
        "claimed_phase": claimed.value if claimed is not None else None,
        "claimed_by": claimed_nrp if claimed is not None else None,
        "claimed_at": iso_time(s.claimed_at) if claimed is not None else None,
        "corrected_at": iso_time(s.corrected_at),
    }


def state_row(s: TpsState) -> StateRow:
    """The merge-relevant columns of a stored state."""
    return StateRow(
        tps_id=s.tps_id,
        phase_rank=s.phase_rank,
        phase_at=s.phase_at,
        postponed_at=s.postponed_at,
        situation=s.situation,
        situation_at=s.situation_at,
        last_seen_at=s.last_seen_at,
        last_received_at=s.last_received_at,
        last_officer_id=s.last_officer_id,
        claimed_rank=s.claimed_rank,
        claimed_at=s.claimed_at,
        claimed_officer_id=s.claimed_officer_id,
        corrected_at=s.corrected_at,
        version=s.version,
    )


def list_views(
    *,
    session: Session,
    area_code: str | None = None,
    kecamatan_code: str | None = None,
    desa_code: str | None = None,
    phase: Phase | None = None,
    situation: Situation | None = None,
    risk: RiskRating | None = None,
    codes: list[str] | None = None,
) -> list[TpsView]:
    """TPS with registry facts and state, filtered, ordered by code."""
    desa = aliased(Region)
    kec = aliased(Region)
    last = aliased(Officer)
    claimer = aliased(Officer)
    q = (
        sa_select(Tps, TpsState, col(desa.name), col(kec.name), col(last.nrp), col(claimer.nrp))
        .join(TpsState, col(TpsState.tps_id) == col(Tps.id))
        .join(desa, col(desa.code) == col(Tps.desa_code))
        .join(kec, col(kec.code) == col(Tps.kecamatan_code))
        .outerjoin(last, col(last.id) == col(TpsState.last_officer_id))
        .outerjoin(claimer, col(claimer.id) == col(TpsState.claimed_officer_id))
        .order_by(col(Tps.code))
    )
    conds: list[Any] = []
    area = area_clause(area_code)
    if area is not None:
        conds.append(area)
    if kecamatan_code:
        conds.append(col(Tps.kecamatan_code) == kecamatan_code)
    if desa_code:
        conds.append(col(Tps.desa_code) == desa_code)
    if phase is not None:
        conds.append(col(TpsState.phase) == phase)
    if situation is not None:
        conds.append(col(TpsState.situation) == situation)
    if risk is not None:
        conds.append(col(Tps.risk) == risk)
    if codes is not None:
        conds.append(col(Tps.code).in_(codes))
    if conds:
        q = q.where(and_(*conds))
    rows = session.execute(q).all()
    ids = [t.id for t, *_ in rows if t.id is not None]
    officers = _officers_of(session, ids)
    raised = incident_situations(session=session, tps_ids=ids)
    out = []
    for t, s, desa_name, kec_name, nrp, claimed_nrp in rows:
        assert t.id is not None
        claimed = s.claimed_rank > s.phase_rank
        out.append(
            TpsView(
                code=t.code,
                name=f"TPS {t.number:03d}",
                desa_code=t.desa_code,
                desa=desa_name,
                kecamatan_code=t.kecamatan_code,
                kecamatan=kec_name,
                lat=t.lat,
                lon=t.lon,
                voters=t.voters,
                risk=t.risk,
                officers=officers.get(t.id, []),
                phase=s.phase,
                situation=s.situation,
                phase_at=s.postponed_at if s.phase is Phase.DITUNDA else s.phase_at,
                situation_at=s.situation_at,
                last_seen_at=s.last_seen_at,
                last_received_at=s.last_received_at,
                last_officer=nrp,
                version=s.version,
                incident_situation=raised.get(t.id),
                claimed_phase=PHASE_ORDER[s.claimed_rank] if claimed else None,
                claimed_by=claimed_nrp if claimed else None,
                claimed_at=s.claimed_at if claimed else None,
                corrected_at=s.corrected_at,
            )
        )
    return out


def _officers_of(session: Session, tps_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    if not tps_ids:
        return out
    q = (
        select(Assignment.tps_id, Officer.nrp)
        .join(Officer, col(Officer.id) == col(Assignment.officer_id))
        .order_by(col(Officer.nrp))
    )
    # Filter by id in chunks: reading every assignment instead cost ~0.9 s for one
    # kabupaten's 1,012 TPS in a national registry (436k assignments). SQLite takes 32,766
    # parameters per statement since 3.32.
    for i in range(0, len(tps_ids), _IDS_PER_QUERY):
        chunk = tps_ids[i : i + _IDS_PER_QUERY]
        for tps_id, nrp in session.exec(q.where(col(Assignment.tps_id).in_(chunk))):
            out[tps_id].append(nrp)
    return out


_IDS_PER_QUERY = 10_000


def _pings_of(
    session: Session, tps_id: int, limit: int, until: datetime | None = None
) -> list[tuple[Ping, str]]:
    """A TPS's newest pings: the bulk-written lookup plus the tail not yet indexed."""
    q = (
        sa_select(Ping, col(Officer.nrp))
        .join(PingByTps, col(PingByTps.ping_id) == col(Ping.id))
        .join(Officer, col(Officer.id) == col(Ping.officer_id))
        .where(col(PingByTps.tps_id) == tps_id)
        .order_by(col(PingByTps.device_time).desc())
        .limit(limit)
    )
    if until is not None:
        q = q.where(col(Ping.received_at) <= until)
    rows = list(session.execute(q).all())
    upto = get_value(session=session, key=PING_INDEX_KEY)
    if session.get_bind().dialect.name == "sqlite":
        # At most a second or a chunk of pings is not indexed yet: scan that tail by rowid.
        tail = (
            sa_select(Ping, col(Officer.nrp))
            .join(Officer, col(Officer.id) == col(Ping.officer_id))
            .where(col(Ping.id) > int(upto or 0), col(Ping.tps_id) == tps_id)
        )
        if until is not None:
            tail = tail.where(col(Ping.received_at) <= until)
        rows += session.execute(tail).all()
    return [(p, nrp) for p, nrp in rows]


def timeline(
    *, session: Session, tps_id: int, limit: int = 500, until: datetime | None = None
) -> list[TimelineEvent]:
    """A TPS's stored events, newest device time first (`until`: only those received by then)."""
    pings = _pings_of(session, tps_id, limit, until)
    rq = (
        select(IncidentReport, Officer.nrp)
        .join(Officer, col(Officer.id) == col(IncidentReport.officer_id))
        .where(col(IncidentReport.tps_id) == tps_id)
        .order_by(col(IncidentReport.device_time).desc())
        .limit(limit)
    )
    if until is not None:
        rq = rq.where(col(IncidentReport.received_at) <= until)
    reports = session.exec(rq).all()
    events = [
        TimelineEvent(
            event_id=p.event_id,
            kind="ping",
            officer=nrp,
            device_time=p.device_time,
            received_at=p.received_at,
            phase=p.phase,
            situation=p.situation,
            note=p.note,
            flags=flags_to_list(p.flags),
        )
        for p, nrp in pings
    ] + [
        TimelineEvent(
            event_id=r.event_id,
            kind="incident",
            officer=nrp,
            device_time=r.device_time,
            received_at=r.received_at,
            category=r.category,
            severity=r.severity,
            note=r.description,
            flags=flags_to_list(r.flags),
        )
        for r, nrp in reports
    ]
    events.sort(key=lambda e: e.device_time, reverse=True)
    return events[:limit]


def summary(*, session: Session, area_code: str | None = None) -> Summary:
    """How many TPS of each kecamatan are in each phase and situation (from tps_rollup)."""
    counts = count_by_area(session=session, level="kecamatan", area_code=area_code)
    return summary_of(session=session, counts=counts)


def summary_of(
    *, session: Session, counts: dict[str, tuple[dict[str, int], dict[str, int]]]
) -> Summary:
    """The summary of counts per kecamatan (phases, situations), named from the region table."""
    names: dict[str, str] = {}
    if counts:
        q = sa_select(col(Region.code), col(Region.name)).where(col(Region.code).in_(counts))
        names = dict(session.execute(q).all())
    data = [
        PhaseCount(
            kecamatan_code=code,
            kecamatan=names.get(code, code),
            total=sum(phases.values()),
            phases=phases,
            situations=situations,
        )
        for code, (phases, situations) in sorted(counts.items())
    ]
    return Summary(data=data, total=sum(c.total for c in data))


def timeline_rows(
    *, session: Session, area_code: str | None, start: datetime, end: datetime, bin_s: int
) -> tuple[int, list[TimelineRow]]:
    """Each TPS's phase and situation at the end of every bin, from the transitions."""
    bins = max(1, math.ceil((end - start).total_seconds() / bin_s))
    tq = sa_select(col(Tps.id), col(Tps.code), col(Tps.kecamatan_code)).order_by(
        col(Tps.kecamatan_code), col(Tps.code)
    )
    area = area_clause(area_code)
    if area is not None:
        tq = tq.where(area)
    tps_rows = session.execute(tq).all()
    changes: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    xq = (
        sa_select(
            col(TpsTransition.tps_id),
            col(TpsTransition.at),
            col(TpsTransition.kind),
            col(TpsTransition.after),
        )
        .join(Tps, col(Tps.id) == col(TpsTransition.tps_id))
        .where(col(TpsTransition.at) < end)
        .order_by(col(TpsTransition.at), col(TpsTransition.id))
    )
    if area is not None:
        xq = xq.where(area)
    for tps_id, at, kind, after in session.execute(xq):
        changes[tps_id].append((at, kind, after))
    edges = [start + timedelta(seconds=bin_s * (k + 1)) for k in range(bins)]
    rows = []
    for tps_id, code, kec in tps_rows:
        runs: dict[str, list[tuple[int, str | None]]] = {"phase": [], "situation": []}
        current: dict[str, str | None] = {"phase": None, "situation": None}
        seq = changes.get(tps_id, [])
        i = 0
        for k, edge in enumerate(edges):
            while i < len(seq) and seq[i][0] < edge:
                current[seq[i][1]] = seq[i][2]
                i += 1
            for kind in ("phase", "situation"):
                run = runs[kind]
                if not run or run[-1][1] != current[kind]:
                    run.append((k, current[kind]))
        rows.append(
            TimelineRow(
                code=code, kecamatan_code=kec, phase=runs["phase"], situation=runs["situation"]
            )
        )
    return bins, rows


def recent_log(*, session: Session, area_code: str | None, limit: int = 200) -> list[LogEntry]:
    """Phase and situation changes, newest first (incidents are added by the caller)."""
    q = (
        sa_select(TpsTransition, col(Tps.code), col(Officer.nrp))
        .join(Tps, col(Tps.id) == col(TpsTransition.tps_id))
        .outerjoin(Officer, col(Officer.id) == col(TpsTransition.officer_id))
        .order_by(col(TpsTransition.id).desc())
        .limit(limit)
    )
    area = area_clause(area_code)
    if area is not None:
        q = q.where(area)
    return [
        LogEntry(
            at=t.at,
            kind="phase" if t.kind == "phase" else "situation",
            tps=code,
            officer=nrp,
            before=t.before,
            after=t.after,
        )
        for t, code, nrp in session.execute(q)
    ]


# --- a commander's hand on a TPS -----------------------------------------------------------

CONFIRMED = "tps.phase_confirmed"
CORRECTED = "tps.corrected"


def get_by_code(*, session: Session, code: str) -> Tps | None:
    """One TPS by its code."""
    return session.exec(select(Tps).where(col(Tps.code) == code)).first()


def _brief(s: StateRow) -> dict[str, Any]:
    """A state as the audit trail keeps it."""
    phase, claimed = s.phase, s.claimed_phase
    return {
        "phase": phase.value if phase is not None else None,
        "situation": s.situation.value if s.situation is not None else None,
        "claimed_phase": claimed.value if claimed is not None else None,
        "version": s.version,
    }


def _transitions(
    session: Session, before: StateRow, after: StateRow, *, now: datetime, officer_id: int | None
) -> None:
    """The phase and situation changes of a commander's step, for the timeline and the log."""
    if after.phase != before.phase and after.phase is not None:
        at = after.postponed_at if after.phase is Phase.DITUNDA else after.phase_at
        assert at is not None
        session.add(
            TpsTransition(
                tps_id=after.tps_id,
                kind="phase",
                before=before.phase.value if before.phase else None,
                after=after.phase.value,
                at=at,
                received_at=now,
                officer_id=officer_id,
            )
        )
    if after.situation != before.situation and after.situation is not None:
        assert after.situation_at is not None
        session.add(
            TpsTransition(
                tps_id=after.tps_id,
                kind="situation",
                before=before.situation.value if before.situation else None,
                after=after.situation.value,
                at=after.situation_at,
                received_at=now,
                officer_id=officer_id,
            )
        )


def _step(
    *,
    session: Session,
    tps: Tps,
    now: datetime,
    actor: str,
    action: str,
    step: Callable[[StateRow], StateRow],
    officer_of: Callable[[StateRow], int | None],
    data: dict[str, Any],
) -> TpsChange:
    """Apply a commander's step to a TPS in one transaction; return the change to publish.

    The state row is written first, which takes its lock (PostgreSQL: the row; SQLite: the
    database) before it is read: intake's writer cannot merge a batch into the state in
    between, and when it next does, its compare-and-set on the version sees this step (its
    SQLite cache is stale then) and merges again on top of it. The same transaction writes the
    transitions, moves the TPS in tps_rollup and appends the audit entry, last.
    """
    assert tps.id is not None
    session.execute(
        update(TpsState).where(col(TpsState.tps_id) == tps.id).values(version=col(TpsState.version))
    )
    row = session.exec(
        select(TpsState)
        .where(col(TpsState.tps_id) == tps.id)
        .execution_options(populate_existing=True)
    ).one()
    before = state_row(row)
    after = step(before)  # raises StateConflictError when the step does not fit
    res = session.execute(
        update(TpsState)
        .where(col(TpsState.tps_id) == tps.id, col(TpsState.version) == before.version)
        .values(
            phase=after.phase,
            phase_rank=after.phase_rank,
            phase_at=after.phase_at,
            postponed_at=after.postponed_at,
            situation=after.situation,
            situation_at=after.situation_at,
            claimed_rank=after.claimed_rank,
            claimed_at=after.claimed_at,
            claimed_officer_id=after.claimed_officer_id,
            corrected_at=after.corrected_at,
            version=after.version,
            changed_at=now_utc(),  # the alert sweeper's change mark (real time)
        )
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise StateConflictError("version", "the TPS changed meanwhile; look again")
    officer_id = officer_of(before)
    _transitions(session, before, after, now=now, officer_id=officer_id)
    kec = tps.kecamatan_code
    rollup.apply_in_session(
        session=session,
        deltas=rollup.rollup_deltas(
            [(kec, rollup.state_key(kec, before), rollup.state_key(kec, after))]
        ),
    )
    session.flush()
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action=action,
                subject_kind="tps",
                subject=tps.code,
                data={"before": _brief(before), "after": _brief(after), **data},
            )
        ],
    )
    session.commit()
    return TpsChange(before, after, kec, by_commander=True, officer_id=officer_id)


def confirm_phase(
    *, session: Session, tps: Tps, phase: Phase, actor: str, now: datetime
) -> TpsChange:
    """Move a TPS to the phase an officer not assigned to it claimed (audited)."""
    claimer: dict[str, Any] = {}

    def step(s: StateRow) -> StateRow:
        after = confirm_claim(s, phase)
        officer = session.get(Officer, s.claimed_officer_id) if s.claimed_officer_id else None
        claimer.update(
            claimed_by=officer.nrp if officer else None,
            claimed_at=s.claimed_at.isoformat() if s.claimed_at else None,
        )
        return after

    change = _step(
        session=session,
        tps=tps,
        now=now,
        actor=actor,
        action=CONFIRMED,
        step=step,
        officer_of=lambda s: s.claimed_officer_id,
        data=claimer,
    )
    return change


def correct_state(
    *,
    session: Session,
    tps: Tps,
    phase: Phase,
    situation: Situation | None,
    reason: str,
    actor: str,
    now: datetime,
) -> TpsChange:
    """Set a TPS's phase (and situation), also backwards; earlier pings stop counting (audited)."""
    return _step(
        session=session,
        tps=tps,
        now=now,
        actor=actor,
        action=CORRECTED,
        step=lambda s: correct(s, phase=phase, situation=situation, at=now),
        officer_of=lambda _s: None,
        data={"reason": reason},
    )
