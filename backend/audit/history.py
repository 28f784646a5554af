"""A TPS's after-action history: every ping, transition, incident step and alert, in order."""

import csv
import io

import orjson
from sqlalchemy import ColumnElement
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, or_, select

from backend.alerts.models import Alert
from backend.alerts.service import to_public as alert_public
from backend.audit.models import AuditEntry
from backend.audit.service import to_public as audit_public
from backend.incidents.models import Incident
from backend.incidents.service import list_details
from backend.officers.models import Officer
from backend.tps.models import Tps, TpsTransition
from backend.tps.service import list_views, timeline
from schemas.detail import TpsHistory
from schemas.ops import HistoryRow

MAX_EVENTS = 1_000_000


def tps_history(*, session: Session, code: str, area_code: str | None = None) -> TpsHistory | None:
    """Everything recorded about one TPS, or None if there is no such TPS (in the area)."""
    views = list_views(session=session, area_code=area_code, codes=[code])
    if not views:
        return None
    view = views[0]
    tps = session.exec(select(Tps).where(col(Tps.code) == code)).one()
    assert tps.id is not None
    rows: list[HistoryRow] = []
    for e in timeline(session=session, tps_id=tps.id, limit=MAX_EVENTS):
        if e.kind == "ping":
            rows.append(
                HistoryRow(
                    at=e.device_time,
                    kind="ping",
                    ref=str(e.event_id),
                    actor=e.officer,
                    after=f"{e.phase}/{e.situation}",
                    detail={
                        "received_at": e.received_at.isoformat(),
                        "note": e.note,
                        "flags": e.flags,
                    },
                )
            )
        else:
            rows.append(
                HistoryRow(
                    at=e.device_time,
                    kind="incident_report",
                    ref=str(e.event_id),
                    actor=e.officer,
                    after=e.category.value if e.category else None,
                    detail={"severity": e.severity, "description": e.note},
                )
            )
    for t, nrp in session.execute(
        sa_select(TpsTransition, col(Officer.nrp))
        .outerjoin(Officer, col(Officer.id) == col(TpsTransition.officer_id))
        .where(col(TpsTransition.tps_id) == tps.id)
        .order_by(col(TpsTransition.id))
    ):
        rows.append(
            HistoryRow(
                at=t.at,
                kind="transition",
                ref=str(t.id),
                actor=nrp,
                before=t.before,
                after=t.after,
                detail={"field": t.kind, "received_at": t.received_at.isoformat()},
            )
        )
    incident_ids = [
        i
        for i in session.exec(select(Incident.id).where(col(Incident.tps_id) == tps.id))
        if i is not None
    ]
    incidents = list_details(session=session, ids=sorted(incident_ids))
    for inc in incidents:
        for s in inc.steps:
            rows.append(
                HistoryRow(
                    at=s.at,
                    kind="incident_step",
                    ref=str(inc.id),
                    actor=s.actor,
                    before=s.from_status.value if s.from_status else None,
                    after=s.to_status.value if s.to_status else s.kind.value,
                    detail={"step": s.kind.value, "note": s.note, **s.data},
                )
            )
    alerts = [
        alert_public(a)
        for a in session.exec(
            select(Alert)
            .where(col(Alert.subject).in_([code, tps.kecamatan_code, tps.kabupaten_code]))
            .order_by(col(Alert.id))
        )
    ]
    for a in alerts:
        base = {"kind": a.kind.value, "subject": a.subject, **a.detail}
        rows.append(
            HistoryRow(
                at=a.raised_at, kind="alert_raised", ref=str(a.id), after=a.kind, detail=base
            )
        )
        if a.cleared_at is not None:
            rows.append(
                HistoryRow(
                    at=a.cleared_at, kind="alert_cleared", ref=str(a.id), after=a.kind, detail=base
                )
            )
    rows.sort(key=lambda r: (r.at, r.kind, r.ref))
    # Entries about this TPS and its incidents: they concern its kabupaten, which the caller's
    # area holds (list_views above). By kind too, so that no other subject spelled like a TPS
    # code (a username, say) slips into a TPS's history.
    subjects: list[ColumnElement[bool]] = [
        (col(AuditEntry.subject_kind) == "tps") & (col(AuditEntry.subject) == code)
    ]
    if incident_ids:
        subjects.append(
            (col(AuditEntry.subject_kind) == "incident")
            & col(AuditEntry.subject).in_([str(i) for i in incident_ids])
        )
    audit = [
        audit_public(e)
        for e in session.exec(
            select(AuditEntry).where(or_(*subjects)).order_by(col(AuditEntry.seq))
        )
    ]
    return TpsHistory(tps=view, rows=rows, incidents=incidents, alerts=alerts, audit=audit)


CSV_COLUMNS = ("at", "kind", "ref", "actor", "before", "after", "detail")


def history_csv(history: TpsHistory) -> str:
    """The history's rows as CSV (detail as JSON), one line per event, oldest first."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for r in history.rows:
        w.writerow(
            [
                r.at.isoformat(),
                r.kind,
                r.ref,
                r.actor or "",
                r.before or "",
                r.after or "",
                orjson.dumps(r.detail, option=orjson.OPT_SORT_KEYS).decode(),
            ]
        )
    return out.getvalue()
