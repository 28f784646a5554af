"""What the live screen showed at a moment, rebuilt from what is stored: TPS, incidents, alerts.

Nothing here is a recording of the screen. A TPS's state at `at` is the same join of its pings
the intake computes (tps/state.py), over the pings stored by then (`received_at <= at`), with the
commanders' corrections and confirmations (audit chain) applied at their moments; incidents and
alerts are the versions in force then (`incident_version`, `alert_version`, written in each
change's transaction). One query per table; the same inputs always give the same picture.

What differs from the live snapshot on purpose: `seq` (no stream to follow), `taken_at` (the
moment asked for) and each TPS's `version`, which here counts the changes replayed (the live one
counts committed batches, a compare-and-set token no screen shows).
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Integer, Select, Table, and_, bindparam, func, or_, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from backend.alerts.models import Alert, AlertVersion
from backend.areas import kabupaten_in
from backend.audit.models import AuditEntry
from backend.db import UtcDateTime, sqlite_time
from backend.incidents.models import Incident, IncidentReport, IncidentVersion
from backend.incidents.service import situations_of
from backend.officers.models import Officer, Unit
from backend.officers.service import list_public as list_officers
from backend.photos.models import IncidentPhoto
from backend.positions.models import OfficerPosition
from backend.positions.service import OfficerFix, officer_fix
from backend.tps.models import Tps, TpsTransition
from backend.tps.service import (
    CONFIRMED,
    CORRECTED,
    NOT_REPORTED,
    area_clause,
    list_views,
    summary_of,
    timeline,
)
from backend.tps.state import (
    PingFacts,
    StateConflictError,
    StateRow,
    confirm_claim,
    correct,
    merge_all,
)
from schemas.enums import (
    CUSTODY_PHASE,
    FLAG_BITS,
    OPEN_STATUSES,
    CustodyStep,
    EventFlag,
    IncidentStatus,
    Phase,
    Situation,
)
from schemas.live import IncidentPublic, LogEntry, Summary, TpsTimeline, TpsView
from schemas.ops import AlertKind, AlertPublic
from schemas.registry import OfficerPublic

_UNASSIGNED = FLAG_BITS[EventFlag.UNASSIGNED]
_CLOCK_SKEW = FLAG_BITS[EventFlag.CLOCK_SKEW]
INCIDENT_LIMIT = 500  # as the live snapshot (incidents.service.list_public)
ALERT_LIMIT = 2000  # as the live snapshot (alerts.service.list_alerts)
LOG_LIMIT = 200  # as the live log (tps.service.recent_log)


@dataclass(frozen=True, slots=True)
class Step:
    """A commander's hand on a TPS, from the audit chain: a correction or a confirmed claim."""

    at: datetime
    action: str
    phase: Phase
    situation: Situation | None


@dataclass(slots=True)
class ReplayState:
    """The picture at `at`: what GET /api/v1/snapshot returned then, cut to the area."""

    at: datetime
    tps: list[TpsView]
    incidents: list[IncidentPublic]
    alerts: list[AlertPublic]


def _aware(v: datetime | None) -> datetime | None:
    if v is None:
        return None
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


# --- TPS ---------------------------------------------------------------------------------------


def _pings(
    session: Session, area_code: str | None, at: datetime, tps_id: int | None = None
) -> dict[int, list[PingFacts]]:
    """Every ping and custody step stored by `at`, as the facts intake merged, per TPS.

    `tps_id`: of that TPS only (the commander's detail panel at a moment).

    The driver's rows, not the ORM's: a day is tens of thousands of pings, and the column types'
    per-value processing cost more than the query (measured: bench/replay.py).
    """
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    where = f"received_at <= {mark}"
    params: list[Any] = [sqlite_time(at) if sqlite else at]
    if area_code is not None:
        column = "province_code" if len(area_code) == 2 else "kabupaten_code"
        where += f" AND tps_id IN (SELECT id FROM tps WHERE {column} = {mark})"
        params.append(area_code)
    if tps_id is not None:
        where += f" AND tps_id = {mark}"
        params.append(tps_id)
    cur = conn.connection.cursor()  # the DBAPI cursor: SQLAlchemy's row objects cost 20 µs each
    try:
        # A custody step joins the merge as a ping with the phase it proves and no situation,
        # as intake folds it (intake/service.py: _insert_custody); the merge is order-free.
        cur.execute(
            "SELECT tps_id, officer_id, phase, situation, device_time, received_at, flags, id "
            f"FROM ping WHERE {where} "
            "UNION ALL SELECT tps_id, officer_id, step, NULL, device_time, received_at, flags, id "
            f"FROM custody_event WHERE {where} ORDER BY 6, 8",
            tuple(params) * 2,
        )
        rows = cur.fetchall()
    finally:
        cur.close()
    times: dict[Any, datetime] = {}

    def when(v: Any) -> datetime:
        t = times.get(v)
        if t is None:
            t = times[v] = (
                datetime.fromisoformat(v + "+00:00")  # SQLite: UTC without its offset
                if isinstance(v, str)
                else (v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC))
            )
        return t

    phases = {p.value: p for p in Phase}
    situations = {x.value: x for x in Situation}
    out: dict[int, list[PingFacts]] = defaultdict(list)
    for tps_id, officer_id, phase, situation, device_time, received_at, flags, _id in rows:
        received = when(received_at)
        # The effective time as the checker set it: a clock running ahead counts as received.
        effective = received if flags & _CLOCK_SKEW else when(device_time)
        out[tps_id].append(
            PingFacts(
                effective,
                received,
                phases[phase] if phase in phases else CUSTODY_PHASE[CustodyStep(phase)],
                situations[situation] if situation is not None else None,
                officer_id,
                bool(flags & _UNASSIGNED),
            )
        )
    return out


def _steps(session: Session, at: datetime) -> dict[str, list[Step]]:
    """Commanders' corrections and confirmations by `at`, per TPS code, oldest first.

    Rare (a few per day), so read whole; the caller keeps those of its TPS.
    """
    q = (
        sa_select(
            col(AuditEntry.at),
            col(AuditEntry.action),
            col(AuditEntry.subject),
            col(AuditEntry.data),
        )
        .where(
            col(AuditEntry.action).in_([CORRECTED, CONFIRMED]),
            col(AuditEntry.subject_kind) == "tps",
            col(AuditEntry.at) <= at,
        )
        .order_by(col(AuditEntry.seq))
    )
    out: dict[str, list[Step]] = defaultdict(list)
    for when, action, subject, data in session.execute(q):
        after = orjson.loads(data).get("after") or {}
        if after.get("phase") is None or subject is None:
            continue
        situation = after.get("situation")
        out[subject].append(
            Step(
                _aware(when) or when,
                action,
                Phase(after["phase"]),
                Situation(situation) if situation else None,
            )
        )
    return out


def fold(tps_id: int, pings: list[PingFacts], steps: list[Step]) -> StateRow:
    """A TPS's state after `pings` (in arrival order) and a commander's `steps` at their times.

    Pings merge in any order to the same row (tps/state.py); a step is not a ping, so it is
    applied after the pings received before it, as the live transaction did. The version here
    counts the changed stretches between steps: replay's own, not the live compare-and-set token.
    """
    s = StateRow(tps_id=tps_id)
    i = 0
    for step in [*steps, None]:
        j = i
        if step is None:
            j = len(pings)
        else:
            while j < len(pings) and pings[j].received_at <= step.at:
                j += 1
        if j > i:
            s = merge_all(s, pings[i:j])
            i = j
        if step is None:
            break
        try:
            if step.action == CORRECTED:
                s = correct(s, phase=step.phase, situation=step.situation, at=step.at)
            else:
                s = confirm_claim(s, step.phase)
        except StateConflictError:
            continue  # the claim it confirmed is not there in what is stored: nothing to apply
    return s


def _tps_at(
    session: Session,
    area_code: str | None,
    at: datetime,
    situations: dict[int, Situation],
    code: str | None = None,
) -> list[TpsView]:
    views = list_views(session=session, area_code=area_code, codes=[code] if code else None)
    ids: dict[str, int] = {c: i for c, i in session.execute(_codes(area_code)) if i}
    one = ids.get(code) if code else None
    if code is not None and one is None:
        return []
    pings = _pings(session, area_code, at, one)
    steps = _steps(session, at)
    officer_ids = {p.officer_id for ps in pings.values() for p in ps}
    nrps: dict[int, str] = {}
    if officer_ids:
        nrps = dict(
            session.execute(
                sa_select(col(Officer.id), col(Officer.nrp)).where(
                    col(Officer.id).in_(sorted(officer_ids))
                )
            ).all()
        )
    out = []
    for v in views:
        tps_id = ids[v.code]
        s = fold(tps_id, pings.get(tps_id, []), steps.get(v.code, []))
        phase, claimed = s.phase, s.claimed_phase
        out.append(
            v.model_copy(
                update={
                    "phase": phase,
                    "situation": s.situation,
                    "phase_at": s.postponed_at if phase is Phase.DITUNDA else s.phase_at,
                    "situation_at": s.situation_at,
                    "last_seen_at": s.last_seen_at,
                    "last_received_at": s.last_received_at,
                    "last_officer": nrps.get(s.last_officer_id) if s.last_officer_id else None,
                    "version": s.version,
                    "incident_situation": situations.get(tps_id),
                    "claimed_phase": claimed,
                    "claimed_by": nrps.get(s.claimed_officer_id)
                    if claimed is not None and s.claimed_officer_id
                    else None,
                    "claimed_at": s.claimed_at if claimed is not None else None,
                    "corrected_at": s.corrected_at,
                }
            )
        )
    return out


def _codes(area_code: str | None) -> Select[str, int | None]:
    q = sa_select(col(Tps.code), col(Tps.id))
    area = area_clause(area_code)
    return q.where(area) if area is not None else q


# --- incidents ---------------------------------------------------------------------------------


def _incidents_at(
    session: Session,
    area_code: str | None,
    at: datetime,
    statuses: Sequence[IncidentStatus] = OPEN_STATUSES,
    limit: int = INCIDENT_LIMIT,
) -> tuple[list[IncidentPublic], dict[int, Situation]]:
    """Incidents in `statuses` at `at` (open ones by default), newest first, and the situations
    those of them that were open gave their TPS then."""
    latest = (
        sa_select(func.max(col(IncidentVersion.id)))
        .where(col(IncidentVersion.at) <= at)
        .group_by(col(IncidentVersion.incident_id))
    )
    q = (
        sa_select(IncidentVersion, Incident, col(Tps.code))
        .join(Incident, col(Incident.id) == col(IncidentVersion.incident_id))
        .outerjoin(Tps, col(Tps.id) == col(Incident.tps_id))
        .where(col(IncidentVersion.id).in_(latest))
    )
    if area_code is not None:
        q = q.where(kabupaten_in(col(Incident.kabupaten_code), area_code))
    rows = [(v, inc, code) for v, inc, code in session.execute(q).all() if v.status in statuses]
    situations = situations_of(
        (inc.tps_id, v.severity) for v, inc, _ in rows if v.status in OPEN_STATUSES
    )
    rows.sort(key=lambda r: r[1].id or 0)  # the live order: newest first, ties by id
    rows.sort(key=lambda r: _aware(r[0].opened_at) or r[0].opened_at, reverse=True)
    rows = rows[:limit]
    members: dict[int, list[int]] = {v.incident_id: orjson.loads(v.report_ids) for v, _, _ in rows}
    report_ids = sorted({r for ids in members.values() for r in ids})
    reporter: dict[int, str] = {}
    photos: dict[int, int] = defaultdict(int)
    if report_ids:
        for rid, nrp in session.execute(
            sa_select(col(IncidentReport.id), col(Officer.nrp))
            .join(Officer, col(Officer.id) == col(IncidentReport.officer_id))
            .where(col(IncidentReport.id).in_(report_ids))
        ):
            reporter[rid] = nrp
        for rid, n in session.execute(
            sa_select(col(IncidentPhoto.report_id), func.count())
            .where(
                col(IncidentPhoto.report_id).in_(report_ids), col(IncidentPhoto.received_at) <= at
            )
            .group_by(col(IncidentPhoto.report_id))
        ):
            photos[rid] = n
    out = []
    for v, inc, code in rows:
        ids = members[v.incident_id]
        nrps = [reporter[r] for r in ids if r in reporter]
        out.append(
            IncidentPublic(
                id=v.incident_id,
                status=v.status,
                category=inc.category,
                severity=v.severity,
                tps=code,
                kecamatan_code=inc.kecamatan_code,
                kabupaten_code=inc.kabupaten_code,
                lat=inc.lat,
                lon=inc.lon,
                description=inc.description,
                opened_at=v.opened_at,
                updated_at=v.updated_at,
                reports=len(nrps),
                reported_by=sorted(set(nrps)),
                version=v.version,
                assignee=v.assignee,
                merged_into=v.merged_into_id,
                sos=v.is_sos,
                photos=sum(photos.get(r, 0) for r in ids),
            )
        )
    return out, situations


# --- alerts ------------------------------------------------------------------------------------


def _alerts_at(session: Session, area_code: str | None, at: datetime) -> list[AlertPublic]:
    """Alerts open at `at` (raised_at <= at < cleared_at), as they were then; SOS first.

    Table rows, not ORM objects: a national morning holds many open alerts, and building an
    object per row cost more than reading it (bench/replay.py).
    """
    alert: Table = Alert.__table__  # type: ignore[attr-defined]
    version: Table = AlertVersion.__table__  # type: ignore[attr-defined]
    open_then = and_(
        alert.c.raised_at <= at, or_(alert.c.cleared_at.is_(None), alert.c.cleared_at > at)
    )
    if area_code is not None:
        open_then = and_(
            open_then,
            kabupaten_in(alert.c.kabupaten_code, area_code) | alert.c.kabupaten_code.is_(None),
        )
    alerts = session.execute(sa_select(alert).where(open_then)).all()
    latest = (
        sa_select(func.max(version.c.id))
        .where(version.c.at <= at, version.c.alert_id.in_(sa_select(alert.c.id).where(open_then)))
        .group_by(version.c.alert_id)
    )
    versions = {
        v.alert_id: v for v in session.execute(sa_select(version).where(version.c.id.in_(latest)))
    }
    out = []
    for a in alerts:
        v: Any = versions.get(a.id)
        if v is None:  # raised before alert_version existed: as it is now, later acts hidden
            acked = a.acknowledged_at is not None and _aware(a.acknowledged_at) <= at  # type: ignore[operator]
            silenced = a.silenced_at is not None and _aware(a.silenced_at) <= at  # type: ignore[operator]
            v = {
                "severity": a.severity,
                "detail": a.detail,
                "parent_id": a.parent_id,
                "acknowledged_at": a.acknowledged_at if acked else None,
                "acknowledged_by": a.acknowledged_by if acked else None,
                "silenced_at": a.silenced_at if silenced else None,
                "silenced_by": a.silenced_by if silenced else None,
                "silenced_until": a.silenced_until if silenced else None,
                "version": a.version,
            }
        else:
            v = v._asdict()
        out.append(
            AlertPublic(
                id=a.id,
                kind=a.kind,
                subject_kind=a.subject_kind,
                subject=a.subject,
                kabupaten_code=a.kabupaten_code,
                kecamatan_code=a.kecamatan_code,
                severity=v["severity"],
                detail=orjson.loads(v["detail"]),
                raised_at=a.raised_at,
                cleared_at=None,
                acknowledged_at=v["acknowledged_at"],
                acknowledged_by=v["acknowledged_by"],
                silenced_at=v["silenced_at"],
                silenced_by=v["silenced_by"],
                silenced_until=v["silenced_until"],
                parent_id=v["parent_id"],
                version=v["version"],
            )
        )
    # The live list's order: an officer's SOS first, then newest first (alerts.service).
    out.sort(key=lambda x: (_aware(x.raised_at), x.id), reverse=True)
    sos = [x for x in out if x.kind is AlertKind.SOS][:ALERT_LIMIT]
    rest = [x for x in out if x.kind is not AlertKind.SOS]
    return [*sos, *rest[: ALERT_LIMIT - len(sos)]]


# --- the picture, the log, the counts, the officers --------------------------------------------


def state_at(*, session: Session, area_code: str | None, at: datetime) -> ReplayState:
    """The live picture at `at`, cut to `area_code` (None: national)."""
    at = at.astimezone(UTC)
    incidents, situations = _incidents_at(session, area_code, at)
    return ReplayState(
        at=at,
        tps=_tps_at(session, area_code, at, situations),
        incidents=incidents,
        alerts=_alerts_at(session, area_code, at),
    )


def tps_detail_at(
    *, session: Session, code: str, area_code: str | None, at: datetime
) -> TpsTimeline | None:
    """One TPS as it stood at `at`, with its events stored by then (None: not in the area)."""
    at = at.astimezone(UTC)
    _, situations = _incidents_at(session, area_code, at)
    views = _tps_at(session, area_code, at, situations, code=code)
    if not views:
        return None
    tps_id = session.execute(sa_select(col(Tps.id)).where(col(Tps.code) == code)).scalar_one()
    events = timeline(session=session, tps_id=tps_id, limit=300, until=at)
    return TpsTimeline(tps=views[0], events=events)


@dataclass(frozen=True, slots=True)
class Heard:
    """An officer's last heard as intake had set it at a moment (`officer` row's columns)."""

    seen_at: datetime  # last_seen_at: the newest effective time
    received_at: datetime  # last_received_at
    clock_offset_s: float  # of the last event received


def heard_at(*, session: Session, at: datetime) -> dict[int, Heard]:
    """Each officer heard by `at`, by officer id, as intake's `_touch_officers` had set it then.

    The newest effective time (device time, or the receive time when the clock ran ahead) and
    receive time of the officer's pings, incident reports and custody steps received by then,
    merged by max; the clock offset of the last one received. Positions do not count (they never
    touch these columns).
    """
    parts = [
        f"SELECT officer_id, CASE WHEN (flags & {_CLOCK_SKEW}) <> 0 THEN received_at "
        f"ELSE device_time END AS seen, received_at, device_time FROM {table} "
        "WHERE received_at <= :at"
        for table in ("ping", "incident_report", "custody_event")
    ]
    sql = (
        "WITH heard AS (" + " UNION ALL ".join(parts) + "), "
        "ranked AS (SELECT officer_id, seen, received_at, device_time, row_number() OVER "
        "(PARTITION BY officer_id ORDER BY received_at DESC, seen DESC) AS rn FROM heard) "
        "SELECT r.officer_id, m.seen, m.received, r.device_time, r.received_at FROM ranked r "
        "JOIN (SELECT officer_id, max(seen) AS seen, max(received_at) AS received FROM heard "
        "GROUP BY officer_id) m ON m.officer_id = r.officer_id WHERE r.rn = 1"
    )
    times = {k: UtcDateTime() for k in ("seen", "received", "device_time", "received_at")}
    stmt = (
        text(sql)
        .bindparams(bindparam("at", type_=UtcDateTime()))
        .columns(officer_id=Integer, **times)
    )
    out: dict[int, Heard] = {}
    for oid, seen, received, last_device, last_received in session.execute(
        stmt, {"at": at.astimezone(UTC)}
    ):
        offset = round((last_device - last_received).total_seconds(), 3)
        out[oid] = Heard(_aware(seen) or seen, _aware(received) or received, offset)
    return out


def officers_at(*, session: Session, area_code: str | None, at: datetime) -> list[OfficerPublic]:
    """The area's officers with when they were last heard from as of `at` (`heard_at`)."""
    heard = heard_at(session=session, at=at)
    ids = dict(session.execute(sa_select(col(Officer.nrp), col(Officer.id))).all())
    out = []
    for o in list_officers(session=session, area_code=area_code):
        h = heard.get(ids.get(o.nrp, -1))
        out.append(
            o.model_copy(
                update={
                    "last_seen_at": h.seen_at if h else None,
                    "last_received_at": h.received_at if h else None,
                    "clock_offset_s": h.clock_offset_s if h else None,
                }
            )
        )
    return out


def tps_at(*, session: Session, area_code: str | None, at: datetime) -> list[TpsView]:
    """Every TPS of the area as it stood at `at`, without the incidents' situation (cheaper)."""
    return _tps_at(session, area_code, at.astimezone(UTC), {})


def resolved_at(
    *, session: Session, area_code: str | None, at: datetime, limit: int = 300
) -> list[IncidentPublic]:
    """Incidents resolved (selesai) and not yet closed at `at`: the commander's list shows them."""
    found, _ = _incidents_at(session, area_code, at, (IncidentStatus.SELESAI,), limit)
    return found


def log_at(
    *, session: Session, area_code: str | None, at: datetime, limit: int = LOG_LIMIT
) -> list[LogEntry]:
    """The event log's phase and situation lines as they stood at `at`, newest first."""
    q = (
        sa_select(TpsTransition, col(Tps.code), col(Officer.nrp))
        .join(Tps, col(Tps.id) == col(TpsTransition.tps_id))
        .outerjoin(Officer, col(Officer.id) == col(TpsTransition.officer_id))
        .where(col(TpsTransition.received_at) <= at)
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


def rollup_at(*, session: Session, area_code: str | None, at: datetime) -> Summary:
    """Counts per kecamatan, phase and situation at `at`, from the transitions (any scale).

    A TPS's phase then is the `after` of its last phase transition stored by then (every change
    writes one), likewise its situation. One grouped pass over the transitions picks both (the
    max of id-prefixed values is the last one's: no join back by id), joined to the TPS only
    for their kecamatan; the TPS with no transition by then are each kecamatan's total (from
    tps_rollup) minus those. Measured on the national registry: bench/replay.py.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    # The 12-digit id first, so that max() of the strings is the newest transition's `after`.
    key = "printf('%012d', id) || after" if sqlite else "lpad(CAST(id AS text), 12, '0') || after"
    where = rollup_where = tps_filter = ""
    params: dict[str, Any] = {"at": at}
    if area_code is not None:
        column = "province_code" if len(area_code) == 2 else "kabupaten_code"
        where = f"WHERE t.{column} = :a"
        rollup_where = f"WHERE {column} = :a"
        tps_filter = f"AND tps_id IN (SELECT id FROM tps WHERE {column} = :a)"
        params["a"] = area_code
    sql = f"""
        WITH cur AS (
            SELECT tps_id,
                   max(CASE WHEN kind = 'phase' THEN {key} END) AS p,
                   max(CASE WHEN kind = 'situation' THEN {key} END) AS s
            FROM tps_transition WHERE received_at <= :at {tps_filter} GROUP BY tps_id
        )
        SELECT t.kecamatan_code, substr(cur.p, 13), substr(cur.s, 13), count(*)
        FROM cur JOIN tps t ON t.id = cur.tps_id {where}
        GROUP BY t.kecamatan_code, substr(cur.p, 13), substr(cur.s, 13)
    """
    stmt = text(sql).bindparams(bindparam("at", type_=UtcDateTime()))
    counts: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    moved: dict[str, int] = defaultdict(int)

    def add(code: str, phase: str | None, situation: str | None, n: int) -> None:
        phases, situations = counts.setdefault(code, ({}, {}))
        p, s = phase or NOT_REPORTED, situation or NOT_REPORTED
        phases[p] = phases.get(p, 0) + n
        situations[s] = situations.get(s, 0) + n

    for code, phase, situation, n in session.execute(stmt, params):
        add(code, phase, situation, int(n))
        moved[code] += int(n)
    totals = session.execute(
        text(
            f"SELECT kecamatan_code, sum(n) FROM tps_rollup {rollup_where} GROUP BY kecamatan_code"
        ),
        {k: v for k, v in params.items() if k == "a"},
    )
    for code, total in totals:
        rest = int(total or 0) - moved.get(code, 0)
        if rest > 0:
            add(code, None, None, rest)
    return summary_of(session=session, counts=counts)


def positions_at(
    *, session: Session, area_code: str | None, at: datetime, stale_s: float
) -> list[OfficerFix]:
    """Each officer's last fix known at `at` (newest device time among those received by then)."""
    latest = (
        sa_select(
            col(OfficerPosition.officer_id), func.max(col(OfficerPosition.device_time)).label("t")
        )
        .where(col(OfficerPosition.received_at) <= at, col(OfficerPosition.device_time) <= at)
        .group_by(col(OfficerPosition.officer_id))
        .subquery()
    )
    q = (
        sa_select(OfficerPosition, Officer, col(Unit.name))
        .join(
            latest,
            and_(
                latest.c.officer_id == col(OfficerPosition.officer_id),
                latest.c.t == col(OfficerPosition.device_time),
            ),
        )
        .join(Officer, col(Officer.id) == col(OfficerPosition.officer_id))
        .join(Unit, col(Unit.id) == col(Officer.unit_id))
        .where(col(OfficerPosition.received_at) <= at)
        .order_by(col(Officer.nrp), col(OfficerPosition.lat), col(OfficerPosition.lon))
    )
    if area_code is not None:
        q = q.where(kabupaten_in(col(Officer.kabupaten_code), area_code))
    out: dict[str, OfficerFix] = {}
    for f, o, unit in session.execute(q):
        if o.nrp in out:
            continue  # two fixes at one device time: the first by position, always the same
        out[o.nrp] = officer_fix(f, o, unit, now=at, stale_s=stale_s)
    return list(out.values())
