"""Incident reports become incidents: several officers' reports of one trouble make one incident."""

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.areas import kabupaten_in
from backend.audit.service import AuditRecord, append
from backend.db import RawDb
from backend.incidents.history import record_versions, record_versions_in
from backend.incidents.lifecycle import Action, InvalidTransitionError, next_status
from backend.incidents.models import Incident, IncidentReport, IncidentStepRow
from backend.officers.models import Officer, Unit
from backend.photos.models import IncidentPhoto
from backend.tps.index import TpsRef
from backend.tps.models import Tps
from schemas.detail import IncidentDetail
from schemas.enums import OPEN_STATUSES, IncidentStatus, Situation
from schemas.events import AnyFieldEvent, IncidentIn
from schemas.live import IncidentPublic
from schemas.ops import IncidentReportPublic, IncidentStep, IncidentStepKind


@dataclass(frozen=True, slots=True)
class IncidentRules:
    """When reports count as the same trouble: same category, near in space and time."""

    radius_m: float = 1000.0
    window: timedelta = timedelta(minutes=60)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


class Report(Protocol):
    """An incident report as intake checked it (`intake.validate.Accepted` is one)."""

    @property
    def event(self) -> AnyFieldEvent:
        """The event as the device sent it."""

    @property
    def officer_id(self) -> int:
        """Who reported it."""

    @property
    def tps(self) -> TpsRef | None:
        """The TPS it is about, if any."""

    @property
    def received_at(self) -> datetime:
        """When it arrived."""

    @property
    def effective_at(self) -> datetime:
        """Its device time, clamped to the receive time for ordering."""

    @property
    def flags(self) -> int:
        """Its EventFlag bits."""

    @property
    def source(self) -> str:
        """ws or http."""

    @property
    def kabupaten_code(self) -> str:
        """Where it is counted."""

    @property
    def kecamatan_code(self) -> str | None:
        """Where it is counted, if known."""


def _where(a: Report) -> tuple[float | None, float | None]:
    """Where the report puts the trouble: its position, else its TPS's (an SOS may have none)."""
    e = a.event
    assert isinstance(e, IncidentIn)
    if e.lat is not None and e.lon is not None:
        return e.lat, e.lon
    if a.tps is not None:
        return a.tps.lat, a.tps.lon
    return None, None


def _find_open(
    db: RawDb, a: Report, kabupaten: str, rules: IncidentRules
) -> tuple[int, int] | None:
    """Return (id, severity) of an open incident this report belongs to, if any.

    An SOS is never grouped: each is an officer in danger, with an alarm of its own until
    someone at the post acknowledges it; and no other report joins an SOS incident.
    """
    e = a.event
    assert isinstance(e, IncidentIn)
    if e.sos:
        return None
    lat, lon = _where(a)
    since = a.effective_at - rules.window
    cur = db.conn.cursor()
    cur.execute(
        db.sql(
            "SELECT id, severity, tps_id, lat, lon FROM incident WHERE category = ? "
            "AND kabupaten_code = ? AND status IN (?,?,?) AND updated_at >= ? AND is_sos = ? "
            "ORDER BY id"
        ),
        (e.category.value, kabupaten, *[s.value for s in OPEN_STATUSES], db.time(since), False),
    )
    rows = cur.fetchall()
    cur.close()
    tps_id = a.tps.id if a.tps else None
    for iid, severity, itps, ilat, ilon in rows:
        if tps_id is not None and itps == tps_id:
            return iid, severity
        if (
            lat is not None
            and lon is not None
            and ilat is not None
            and distance_m(lat, lon, ilat, ilon) <= rules.radius_m
        ):
            return iid, severity
    return None


def record_reports(
    db: RawDb,
    reports: Sequence[Report],
    *,
    rules: IncidentRules,
    recorded: list[tuple[int, str, int, bool]] | None = None,
) -> tuple[set[uuid.UUID], list[int]]:
    """Store new reports and attach each to an open incident or open a new one.

    Returns the event ids actually stored (the rest were duplicates) and the incidents touched;
    `recorded` receives (report id, event id hex, incident id, opened) for the audit chain.
    """
    cur = db.conn.cursor()
    stored: set[uuid.UUID] = set()
    touched: list[int] = []
    for a in reports:
        e = a.event
        assert isinstance(e, IncidentIn)
        # The report goes in first: its unique event id decides, across nodes too, whether
        # this is new; only then may it open or join an incident.
        cur.execute(
            db.sql(
                "INSERT INTO incident_report (event_id, officer_id, category, severity, tps_id, "
                "lat, lon, description, device_time, received_at, flags, source, is_sos) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (event_id) DO NOTHING RETURNING id"
            ),
            (
                db.uuid(e.event_id),
                a.officer_id,
                e.category.value,
                e.severity,
                a.tps.id if a.tps else None,
                e.lat,
                e.lon,
                e.description,
                db.time(e.device_time),
                db.time(a.received_at),
                a.flags,
                a.source,
                e.sos,
            ),
        )
        row = cur.fetchone()
        if row is None:
            continue
        report_id = row[0]
        stored.add(e.event_id)
        kabupaten, kecamatan = a.kabupaten_code, a.kecamatan_code
        found = _find_open(db, a, kabupaten, rules)
        now = db.time(a.received_at)
        opened = found is None
        if found is not None:
            iid, severity = found
            # Only while still open: on PostgreSQL a commander may have closed or merged it
            # since _find_open read it; then this report opens an incident of its own.
            cur.execute(
                db.sql(
                    "UPDATE incident SET severity = ?, updated_at = ?, version = version + 1 "
                    "WHERE id = ? AND status IN (?,?,?)"
                ),
                (max(severity, e.severity), now, iid, *[s.value for s in OPEN_STATUSES]),
            )
            opened = cur.rowcount != 1
        if opened:
            lat, lon = _where(a)
            cur.execute(
                db.sql(
                    "INSERT INTO incident (status, category, severity, tps_id, kecamatan_code, "
                    "kabupaten_code, lat, lon, description, opened_at, updated_at, version, "
                    "is_sos) VALUES (?,?,?,?,?,?,?,?,?,?,?,0,?) RETURNING id"
                ),
                (
                    IncidentStatus.BARU.value,
                    e.category.value,
                    e.severity,
                    a.tps.id if a.tps else None,
                    kecamatan,
                    kabupaten,
                    lat,
                    lon,
                    e.description,
                    now,
                    now,
                    e.sos,
                ),
            )
            iid = cur.fetchone()[0]
        cur.execute(
            db.sql("UPDATE incident_report SET incident_id = ? WHERE id = ?"), (iid, report_id)
        )
        # Replay's history, in this transaction: the incident as this report left it.
        record_versions(cur, is_sqlite=db.is_sqlite, ids=[iid], at=a.received_at)
        touched.append(iid)
        if recorded is not None:
            recorded.append((report_id, e.event_id.hex, iid, opened))
    cur.close()
    return stored, touched


def list_public(
    *,
    session: Session,
    area_code: str | None = None,
    open_only: bool = False,
    ids: list[int] | None = None,
    limit: int = 500,
) -> list[IncidentPublic]:
    """Incidents with their reports' officers, newest first."""
    q = select(Incident, Tps.code).outerjoin(Tps, col(Tps.id) == col(Incident.tps_id))
    if area_code is not None:
        q = q.where(kabupaten_in(col(Incident.kabupaten_code), area_code))
    if open_only:
        q = q.where(col(Incident.status).in_(OPEN_STATUSES))
    if ids is not None:
        q = q.where(col(Incident.id).in_(ids))
    # Ties by id, so that the order is the same every time (replay rebuilds it: backend/replay).
    rows = session.exec(
        q.order_by(col(Incident.opened_at).desc(), col(Incident.id)).limit(limit)
    ).all()
    incident_ids = [i.id for i, _ in rows if i.id is not None]
    reporters: dict[int, list[str]] = {}
    photos: dict[int, int] = {}
    if incident_ids:
        rq = (
            select(IncidentReport.incident_id, Officer.nrp)
            .join(Officer, col(Officer.id) == col(IncidentReport.officer_id))
            .where(col(IncidentReport.incident_id).in_(incident_ids))
            .order_by(col(IncidentReport.id))
        )
        for iid, nrp in session.exec(rq):
            if iid is not None:
                reporters.setdefault(iid, []).append(nrp)
        photos = photo_counts(session=session, incident_ids=incident_ids)
    out = []
    for inc, tps_code in rows:
        assert inc.id is not None
        nrps = reporters.get(inc.id, [])
        out.append(
            IncidentPublic(
                id=inc.id,
                status=inc.status,
                category=inc.category,
                severity=inc.severity,
                tps=tps_code,
                kecamatan_code=inc.kecamatan_code,
                kabupaten_code=inc.kabupaten_code,
                lat=inc.lat,
                lon=inc.lon,
                description=inc.description,
                opened_at=inc.opened_at,
                updated_at=inc.updated_at,
                reports=len(nrps),
                reported_by=sorted(set(nrps)),
                version=inc.version,
                assignee=inc.assignee,
                merged_into=inc.merged_into_id,
                sos=inc.is_sos,
                photos=photos.get(inc.id, 0),
            )
        )
    return out


def photo_counts(*, session: Session, incident_ids: list[int]) -> dict[int, int]:
    """Photos of each incident's reports (reports moved by a merge bring theirs along)."""
    q = (
        sa_select(col(IncidentReport.incident_id), func.count(col(IncidentPhoto.id)))
        .join(IncidentReport, col(IncidentReport.id) == col(IncidentPhoto.report_id))
        .where(col(IncidentReport.incident_id).in_(incident_ids))
        .group_by(col(IncidentReport.incident_id))
    )
    return {row[0]: row[1] for row in session.execute(q) if row[0] is not None}


def incident_situations(
    *, session: Session, tps_ids: list[int] | None = None
) -> dict[int, Situation]:
    """The situation open incidents give their TPS: gangguan at severity >= 3, else waspada."""
    q = select(Incident.tps_id, Incident.severity).where(
        col(Incident.status).in_(OPEN_STATUSES), col(Incident.tps_id).is_not(None)
    )
    if tps_ids is not None and len(tps_ids) <= 900:
        q = q.where(col(Incident.tps_id).in_(tps_ids))
    return situations_of(session.exec(q))


def situations_of(open_incidents: Iterable[tuple[int | None, int]]) -> dict[int, Situation]:
    """Fold open incidents' (TPS id, severity) into the situation each TPS gets from them."""
    out: dict[int, Situation] = {}
    for tps_id, severity in open_incidents:
        if tps_id is None:
            continue
        situation = Situation.GANGGUAN if severity >= 3 else Situation.WASPADA
        if out.get(tps_id) is not Situation.GANGGUAN:
            out[tps_id] = situation
    return out


# --- lifecycle: people acting on incidents -------------------------------------------------


class IncidentConflictError(Exception):
    """A lifecycle step that cannot be applied: the field at fault and the reason (409)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class IncidentInputError(IncidentConflictError):
    """A step naming something that does not exist or does not belong (422)."""


def _get(session: Session, incident_id: int) -> Incident:
    inc = session.get(Incident, incident_id)
    if inc is None:
        raise LookupError(f"no incident {incident_id}")
    return inc


def _check_version(inc: Incident, expected_version: int) -> None:
    if inc.version != expected_version:
        raise IncidentConflictError(
            "version", f"incident {inc.id} is at version {inc.version}, not {expected_version}"
        )


def _cas(
    session: Session, inc: Incident, expected_version: int, field: str = "version", **values: Any
) -> None:
    """Compare-and-set: update only if the incident is still at the version and status we read.

    Intake bumps the version when a report joins, a colleague may have acted meanwhile: then
    nothing is written and the caller gets a 409 to reload and decide again.
    """
    assert inc.id is not None
    res = session.execute(
        update(Incident)
        .where(
            col(Incident.id) == inc.id,
            col(Incident.version) == expected_version,
            col(Incident.status) == inc.status,
        )
        .values(**values, version=col(Incident.version) + 1)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise IncidentConflictError(
            field, f"incident {inc.id} changed since version {expected_version}; reload it"
        )


def _step(
    session: Session,
    incident_id: int,
    *,
    at: datetime,
    kind: IncidentStepKind,
    actor: str,
    from_status: IncidentStatus | None = None,
    to_status: IncidentStatus | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    area_code: str | None = None,
) -> AuditRecord:
    session.add(
        IncidentStepRow(
            incident_id=incident_id,
            at=at,
            kind=kind,
            actor=actor,
            from_status=from_status,
            to_status=to_status,
            note=note,
            data=orjson.dumps(data or {}).decode(),
        )
    )
    audit_data: dict[str, Any] = dict(data or {})
    if from_status is not None:
        audit_data["from"] = from_status.value
    if to_status is not None:
        audit_data["to"] = to_status.value
    if note is not None:
        audit_data["note"] = note
    return AuditRecord(
        at=at,
        actor=actor,
        action=f"incident.{kind.value}",
        subject_kind="incident",
        subject=str(incident_id),
        data=audit_data,
        area_code=area_code,
    )


def transition(
    *,
    session: Session,
    incident_id: int,
    action: Action,
    expected_version: int,
    actor: str,
    now: datetime,
    note: str | None = None,
    officer_nrp: str | None = None,
    unit_code: str | None = None,
) -> Incident:
    """Take a lifecycle step (accept, dispatch, resolve, close) and commit it."""
    inc = _get(session, incident_id)
    assert inc.id is not None
    try:
        to = next_status(action, inc.status)
    except InvalidTransitionError as err:
        raise IncidentConflictError("status", str(err)) from None
    _check_version(inc, expected_version)
    values: dict[str, Any] = {"status": to, "updated_at": now}
    data: dict[str, Any] = {}
    if action is Action.DISPATCH:
        if officer_nrp is not None:
            known = session.exec(select(Officer.id).where(col(Officer.nrp) == officer_nrp))
            if known.first() is None:
                raise IncidentInputError("officer", f"no officer with NRP {officer_nrp}")
            values["assignee"] = data["assignee"] = f"officer:{officer_nrp}"
        else:
            known = session.exec(select(Unit.id).where(col(Unit.code) == unit_code))
            if known.first() is None:
                raise IncidentInputError("unit", f"no unit with code {unit_code}")
            values["assignee"] = data["assignee"] = f"unit:{unit_code}"
    from_status = inc.status
    _cas(session, inc, expected_version, **values)
    record = _step(
        session,
        inc.id,
        at=now,
        kind=IncidentStepKind.DISPATCH if action is Action.DISPATCH else IncidentStepKind.STATUS,
        actor=actor,
        from_status=from_status,
        to_status=to,
        note=note,
        data=data,
        area_code=inc.kabupaten_code,
    )
    record_versions_in(session, ids=[inc.id], at=now)
    append(session=session, records=[record])
    session.commit()
    session.refresh(inc)
    return inc


def add_note(*, session: Session, incident_id: int, text: str, actor: str, now: datetime) -> None:
    """Add a line to an incident's log (any status; notes never conflict with each other)."""
    inc = _get(session, incident_id)
    assert inc.id is not None
    record = _step(
        session,
        inc.id,
        at=now,
        kind=IncidentStepKind.NOTE,
        actor=actor,
        note=text,
        area_code=inc.kabupaten_code,
    )
    append(session=session, records=[record])
    session.commit()


def merge(
    *,
    session: Session,
    incident_id: int,
    others: list[int],
    expected_version: int,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> Incident:
    """Merge `others` into the incident: their reports move here, and they are closed."""
    target = _get(session, incident_id)
    assert target.id is not None
    if target.status not in OPEN_STATUSES:
        raise IncidentConflictError(
            "status", f"cannot merge into an incident that is {target.status.value}"
        )
    _check_version(target, expected_version)
    sources: list[Incident] = []
    for oid in dict.fromkeys(others):
        if oid == target.id:
            raise IncidentInputError("others", "an incident cannot be merged into itself")
        o = session.get(Incident, oid)
        if o is None:
            raise IncidentInputError("others", f"no incident {oid}")
        if o.status not in OPEN_STATUSES:
            raise IncidentConflictError("others", f"incident {oid} is {o.status.value}")
        sources.append(o)
    records = []
    sos = target.is_sos or any(o.is_sos for o in sources)
    _cas(
        session,
        target,
        expected_version,
        severity=max([target.severity, *[o.severity for o in sources]]),
        opened_at=min([target.opened_at, *[o.opened_at for o in sources]]),
        updated_at=now,
        is_sos=sos,
        # A commander merging an SOS has seen it: its alarm does not sound again on the target.
        sos_acknowledged_at=(target.sos_acknowledged_at or now) if sos else None,
    )
    for o in sources:
        assert o.id is not None
        _cas(
            session,
            o,
            o.version,
            field="others",
            status=IncidentStatus.DITUTUP,
            merged_into_id=target.id,
            updated_at=now,
        )
        session.execute(
            update(IncidentReport)
            .where(col(IncidentReport.incident_id) == o.id)
            .values(incident_id=target.id)
        )
        records.append(
            _step(
                session,
                o.id,
                at=now,
                kind=IncidentStepKind.MERGE,
                actor=actor,
                from_status=o.status,
                to_status=IncidentStatus.DITUTUP,
                note=note,
                data={"into": target.id},
                area_code=o.kabupaten_code,
            )
        )
    records.append(
        _step(
            session,
            target.id,
            at=now,
            kind=IncidentStepKind.MERGE,
            actor=actor,
            note=note,
            data={"merged": [o.id for o in sources]},
            area_code=target.kabupaten_code,
        )
    )
    record_versions_in(session, ids=[target.id, *[o.id for o in sources if o.id]], at=now)
    append(session=session, records=records)
    session.commit()
    session.refresh(target)
    return target


def split(
    *,
    session: Session,
    incident_id: int,
    report_id: int,
    expected_version: int,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> Incident:
    """Move one report out into a new incident of its own (status baru); return the new one."""
    inc = _get(session, incident_id)
    assert inc.id is not None
    if inc.status not in OPEN_STATUSES:
        raise IncidentConflictError("status", f"cannot split an incident that is {inc.status}")
    _check_version(inc, expected_version)
    report = session.get(IncidentReport, report_id)
    if report is None or report.incident_id != inc.id:
        raise IncidentInputError("report_id", f"report {report_id} is not in incident {inc.id}")
    remaining = session.exec(
        select(IncidentReport.severity, IncidentReport.is_sos).where(
            col(IncidentReport.incident_id) == inc.id, col(IncidentReport.id) != report_id
        )
    ).all()
    if not remaining:
        raise IncidentConflictError("report_id", "an incident's only report cannot be split off")
    # A commander splitting an SOS off has seen it: neither part sounds its alarm again.
    sos_left = any(sos for _, sos in remaining)
    _cas(
        session,
        inc,
        expected_version,
        severity=max(severity for severity, _ in remaining),
        updated_at=now,
        is_sos=sos_left,
        sos_acknowledged_at=(inc.sos_acknowledged_at or now) if sos_left else None,
    )
    kecamatan = inc.kecamatan_code
    lat, lon = report.lat, report.lon
    if report.tps_id is not None:
        tps = session.get(Tps, report.tps_id)
        if tps is not None:
            kecamatan = tps.kecamatan_code
            if lat is None:
                lat, lon = tps.lat, tps.lon
    new = Incident(
        status=IncidentStatus.BARU,
        category=report.category,
        severity=report.severity,
        tps_id=report.tps_id,
        kecamatan_code=kecamatan,
        kabupaten_code=inc.kabupaten_code,
        lat=lat if lat is not None else inc.lat,
        lon=lon if lon is not None else inc.lon,
        description=report.description,
        opened_at=report.received_at,
        updated_at=now,
        is_sos=report.is_sos,
        sos_acknowledged_at=now if report.is_sos else None,
    )
    session.add(new)
    session.flush()
    assert new.id is not None
    report.incident_id = new.id
    session.add(report)
    records = [
        _step(
            session,
            inc.id,
            at=now,
            kind=IncidentStepKind.SPLIT,
            actor=actor,
            note=note,
            data={"report_id": report_id, "to": new.id},
            area_code=inc.kabupaten_code,
        ),
        _step(
            session,
            new.id,
            at=now,
            kind=IncidentStepKind.SPLIT,
            actor=actor,
            to_status=IncidentStatus.BARU,
            note=note,
            data={"report_id": report_id, "from": inc.id},
            area_code=new.kabupaten_code,
        ),
    ]
    record_versions_in(session, ids=[inc.id, new.id], at=now)
    append(session=session, records=records)
    session.commit()
    session.refresh(new)
    return new


def list_details(*, session: Session, ids: list[int]) -> list[IncidentDetail]:
    """Incidents in full: their reports and every step, oldest first."""
    if not ids:
        return []
    base = {i.id: i for i in list_public(session=session, ids=ids, limit=len(ids))}
    reports: dict[int, list[IncidentReportPublic]] = defaultdict(list)
    photos = dict(
        session.execute(
            sa_select(col(IncidentPhoto.report_id), func.count(col(IncidentPhoto.id)))
            .join(IncidentReport, col(IncidentReport.id) == col(IncidentPhoto.report_id))
            .where(col(IncidentReport.incident_id).in_(ids))
            .group_by(col(IncidentPhoto.report_id))
        ).all()
    )
    for r, nrp, code in session.execute(
        sa_select(IncidentReport, col(Officer.nrp), col(Tps.code))
        .join(Officer, col(Officer.id) == col(IncidentReport.officer_id))
        .outerjoin(Tps, col(Tps.id) == col(IncidentReport.tps_id))
        .where(col(IncidentReport.incident_id).in_(ids))
        .order_by(col(IncidentReport.id))
    ):
        assert r.id is not None and r.incident_id is not None
        reports[r.incident_id].append(
            IncidentReportPublic(
                id=r.id,
                event_id=str(r.event_id),
                officer=nrp,
                category=r.category,
                severity=r.severity,
                tps=code,
                device_time=r.device_time,
                received_at=r.received_at,
                description=r.description,
                sos=r.is_sos,
                photos=photos.get(r.id, 0),
            )
        )
    steps: dict[int, list[IncidentStep]] = defaultdict(list)
    for s in session.exec(
        select(IncidentStepRow)
        .where(col(IncidentStepRow.incident_id).in_(ids))
        .order_by(col(IncidentStepRow.id))
    ):
        assert s.id is not None
        steps[s.incident_id].append(
            IncidentStep(
                id=s.id,
                at=s.at,
                kind=s.kind,
                actor=s.actor,
                from_status=s.from_status,
                to_status=s.to_status,
                note=s.note,
                data=orjson.loads(s.data),
            )
        )
    return [
        IncidentDetail(**base[i].model_dump(), report_list=reports[i], steps=steps[i])
        for i in ids
        if i in base
    ]
