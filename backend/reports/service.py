"""Situation reports in the database: draft, edit, sign (frozen, audited, sent), read, check.

Every change is a compare-and-set on the row: an edit or a signature is an UPDATE whose WHERE
says the report is still a draft at the version the caller read, so a signed report can never
be changed by a late edit, and two people signing at once sign once. What was signed is
hashed (`seal.signed_sha256`: content, remarks, plan, period, signer, canonically encoded) and
the hash goes into the audit chain with the signature; `seal.check_signed` re-hashes the
stored row, which is how `posko audit verify` catches an edit of a signed report.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.alerts.models import AlertOutbox
from backend.audit.service import AuditRecord, append
from backend.channels.models import ChannelOutbox
from backend.config import WIB, Settings, now_utc
from backend.reports.draft import draft
from backend.reports.models import SituationReport
from backend.reports.seal import SIGN_ACTION, signed_sha256
from backend.tps.models import Tps
from schemas.reports import (
    ReportContent,
    ReportKind,
    ReportPublic,
    ReportStatus,
    ReportSummary,
)

REPORT_EVENT = "report"  # the webhook's X-Posko-Event for a signed report
CHAT_CHANNELS = ("telegram", "whatsapp", "smsgate")


class ReportConflictError(Exception):
    """A report cannot be changed as asked (signed, or changed by someone else): a 409."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def content_of(r: SituationReport) -> ReportContent:
    """The drafted content of a stored report."""
    return ReportContent.model_validate_json(r.content)


def to_public(r: SituationReport) -> ReportPublic:
    """The wire form of a report."""
    assert r.id is not None
    return ReportPublic(
        id=r.id,
        area_code=r.area_code,
        kind=r.kind,
        period_start=r.period_start,
        period_end=r.period_end,
        version=r.version,
        status=r.status,
        content=content_of(r),
        remarks=r.remarks,
        plan_next=r.plan_next,
        signer_name=r.signer_name,
        signer_rank=r.signer_rank,
        signer_nrp=r.signer_nrp,
        signed_at=r.signed_at,
        content_sha256=r.content_sha256,
        created_at=r.created_at,
        updated_at=r.updated_at,
        row_version=r.row_version,
    )


def to_summary(r: SituationReport) -> ReportSummary:
    """A list row."""
    assert r.id is not None
    return ReportSummary(
        id=r.id,
        area_code=r.area_code,
        kind=r.kind,
        period_start=r.period_start,
        period_end=r.period_end,
        version=r.version,
        status=r.status,
        signed_at=r.signed_at,
        signer_name=r.signer_name,
    )


def _encode(content: ReportContent) -> str:
    return content.model_dump_json()


def get(*, session: Session, report_id: int) -> SituationReport | None:
    """One report by id."""
    return session.get(SituationReport, report_id)


def list_reports(
    *,
    session: Session,
    area_code: str | None,
    kind: ReportKind | None = None,
    status: ReportStatus | None = None,
    limit: int = 200,
) -> list[SituationReport]:
    """Reports inside an area (None: all), newest period first."""
    q = select(SituationReport)
    if area_code is not None:
        q = q.where(
            (col(SituationReport.area_code) == area_code)
            | col(SituationReport.area_code).startswith(area_code + ".", autoescape=True)
        )
    if kind is not None:
        q = q.where(col(SituationReport.kind) == kind)
    if status is not None:
        q = q.where(col(SituationReport.status) == status)
    q = q.order_by(
        col(SituationReport.period_end).desc(),
        col(SituationReport.kind),
        col(SituationReport.version).desc(),
    )
    return list(session.exec(q.limit(limit)))


def kabupaten_codes(*, session: Session, area_code: str | None = None) -> list[str]:
    """The kabupaten that have TPS (inside an area): the ones reports are drafted for."""
    q = sa_select(col(Tps.kabupaten_code)).distinct()
    if area_code is not None:
        q = q.where(
            (col(Tps.kabupaten_code) == area_code)
            | col(Tps.kabupaten_code).startswith(area_code + ".", autoescape=True)
        )
    return sorted(str(c) for (c,) in session.execute(q))


def latest(
    *, session: Session, area: str, kind: ReportKind, period_start: datetime, period_end: datetime
) -> SituationReport | None:
    """The newest version of a report, if any."""
    return _latest(session, area, kind, period_start, period_end)


def _latest(
    session: Session, area: str, kind: ReportKind, start: datetime, end: datetime
) -> SituationReport | None:
    return session.exec(
        select(SituationReport)
        .where(
            col(SituationReport.area_code) == area,
            col(SituationReport.kind) == kind,
            col(SituationReport.period_start) == start,
            col(SituationReport.period_end) == end,
        )
        .order_by(col(SituationReport.version).desc())
        .limit(1)
    ).first()


def last_period_end(
    *, session: Session, area: str, kind: ReportKind | None = None
) -> datetime | None:
    """The end of the newest period reported for an area (of one kind, or any)."""
    q = sa_select(func.max(SituationReport.period_end)).where(
        col(SituationReport.area_code) == area
    )
    if kind is not None:
        q = q.where(col(SituationReport.kind) == kind)
    end: datetime | None = session.execute(q).scalar()
    return end


def create_draft(
    *,
    session: Session,
    area: str,
    kind: ReportKind,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    settings: Settings,
    actor: str,
    listening_since: datetime | None = None,
) -> SituationReport:
    """Draft (or re-draft) the report of an area for a period, audit it, commit.

    A draft of the same area, kind and period is drafted afresh in place (the commander's
    remarks and plan kept); after a signed one the draft is its next version, starting from
    the signed one's remarks and plan.
    """
    content = draft(
        session,
        area,
        period_start,
        period_end,
        now,
        settings=settings,
        listening_since=listening_since,
    )
    latest = _latest(session, area, kind, period_start, period_end)
    if latest is not None and latest.status is ReportStatus.DRAFT:
        res = session.execute(
            update(SituationReport)
            .where(
                col(SituationReport.id) == latest.id,
                col(SituationReport.status) == ReportStatus.DRAFT,
                col(SituationReport.row_version) == latest.row_version,
            )
            .values(
                content=_encode(content),
                updated_at=now,
                row_version=latest.row_version + 1,
            )
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise ReportConflictError("id", "the draft changed while it was drafted; try again")
        report = latest
        action = "report.redrafted"
    else:
        report = SituationReport(
            area_code=area,
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            version=latest.version + 1 if latest is not None else 1,
            content=_encode(content),
            remarks=latest.remarks if latest is not None else "",
            plan_next=latest.plan_next if latest is not None else "",
            created_at=now,
            updated_at=now,
        )
        session.add(report)
        session.flush()
        action = "report.drafted"
    assert report.id is not None
    append(session=session, records=[_record(report, now, actor, action)])
    session.commit()
    session.refresh(report)
    return report


def _record(
    r: SituationReport, now: datetime, actor: str, action: str, **extra: Any
) -> AuditRecord:
    return AuditRecord(
        at=now,
        actor=actor,
        action=action,
        subject_kind="report",
        subject=str(r.id),
        data={
            "kind": r.kind.value,
            "version": r.version,
            "period_start": _iso(r.period_start),
            "period_end": _iso(r.period_end),
            **extra,
        },
        area_code=r.area_code,
    )


def record_download(
    *, session: Session, report: SituationReport, actor: str, fmt: str, now: datetime
) -> None:
    """Audit a report's file leaving the command post (PDF or CSV), as an export is; commit."""
    signed = report.signed_at is not None
    rec = _record(report, now, actor, "report.downloaded", format=fmt, signed=signed)
    append(session=session, records=[rec])
    session.commit()


def _editable(session: Session, report_id: int, expected: int | None) -> SituationReport:
    r = session.get(SituationReport, report_id)
    if r is None:
        raise LookupError(report_id)
    if r.status is ReportStatus.SIGNED:
        raise ReportConflictError(
            "status", "the report is signed and frozen; draft a new version to change it"
        )
    # The caller says which state it saw: a commander never signs a draft that was re-drafted
    # (the day's close) or edited by someone else after his screen showed it.
    if expected is not None and expected != r.row_version:
        raise ReportConflictError(
            "row_version",
            f"the report changed since you read it (now {r.row_version}, you read {expected})",
        )
    return r


def edit(
    *,
    session: Session,
    report_id: int,
    remarks: str | None,
    plan_next: str | None,
    now: datetime,
    actor: str,
    expected_row_version: int | None = None,
) -> SituationReport:
    """Change a draft's remarks and plan for the next period; 409 once it is signed."""
    r = _editable(session, report_id, expected_row_version)
    values: dict[str, Any] = {"updated_at": now, "row_version": r.row_version + 1}
    changed: dict[str, str] = {}
    if remarks is not None:
        values["remarks"] = changed["remarks"] = remarks
    if plan_next is not None:
        values["plan_next"] = changed["plan_next"] = plan_next
    _cas(session, r, values)
    append(session=session, records=[_record(r, now, actor, "report.edited", **changed)])
    session.commit()
    session.refresh(r)
    return r


def _cas(session: Session, r: SituationReport, values: dict[str, Any]) -> None:
    # The WHERE says what was read: a draft at this row_version. A signature or edit that
    # landed in between makes it match nothing, and the caller gets a 409, never a lost write.
    res = session.execute(
        update(SituationReport)
        .where(
            col(SituationReport.id) == r.id,
            col(SituationReport.status) == ReportStatus.DRAFT,
            col(SituationReport.row_version) == r.row_version,
        )
        .values(values)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise ReportConflictError("status", "the report was signed or changed meanwhile")


def sign(
    *,
    session: Session,
    report_id: int,
    name: str,
    rank: str,
    nrp: str,
    now: datetime,
    actor: str,
    settings: Settings,
    expected_row_version: int | None = None,
) -> SituationReport:
    """Sign a draft: freeze it, hash it into the audit chain, queue it for the Polda; commit."""
    r = _editable(session, report_id, expected_row_version)
    r.signer_name, r.signer_rank, r.signer_nrp, r.signed_at = name, rank, nrp, now
    digest = signed_sha256(r)
    values = {
        "status": ReportStatus.SIGNED,
        "signer_name": name,
        "signer_rank": rank,
        "signer_nrp": nrp,
        "signed_at": now,
        "content_sha256": digest,
        "updated_at": now,
        "row_version": r.row_version + 1,
    }
    session.expire(r)  # the values above go in by the compare-and-set, not by the ORM
    _cas(session, r, values)
    session.refresh(r)
    record = _record(
        r, now, actor, SIGN_ACTION, sha256=digest, signer={"name": name, "rank": rank, "nrp": nrp}
    )
    append(session=session, records=[record])
    queue_sending(session=session, report=r, settings=settings, now=now)
    session.commit()
    session.refresh(r)
    return r


def webhook_body(r: SituationReport) -> str:
    """The JSON a signed report is sent to the Polda as (fixed when queued)."""
    return orjson.dumps(
        {"event": REPORT_EVENT, "report": to_public(r).model_dump(mode="json")}
    ).decode()


def chat_text(r: SituationReport) -> str:
    """A short message announcing a signed report on a chat channel (Bahasa Indonesia)."""
    c = content_of(r)
    k = c.kabupaten
    start = r.period_start.astimezone(WIB).strftime("%d-%m %H:%M")
    end = r.period_end.astimezone(WIB).strftime("%d-%m %H:%M")
    return (
        f"LAPSIT {c.area_name} {start}-{end} WIB v{r.version}: "
        f"TPS {k.tps_total}, terlambat {k.behind_schedule}, "
        f"insiden baru {k.incidents.new}/ditangani {k.incidents.handled}"
        f"/terbuka {k.incidents.still_open}, "
        f"TPS senyap {len(k.silent_tps)}, petugas senyap {len(k.silent_officers)}, "
        f"kotak disegel {k.boxes.sealed}/di jalan {k.boxes.on_road}/diterima {k.boxes.received}. "
        f"Ditandatangani {r.signer_rank} {r.signer_name} NRP {r.signer_nrp}. "
        f"SHA-256 {r.content_sha256}"
    )


def recipients(settings: Settings) -> list[tuple[str, str]]:
    """(channel, address) for each configured chat recipient ("telegram:<chat id>" …)."""
    out = []
    for entry in settings.report_recipients:
        channel, _, address = entry.partition(":")
        if channel in CHAT_CHANNELS and address:
            out.append((channel, address))
    return out


def queue_sending(
    *, session: Session, report: SituationReport, settings: Settings, now: datetime
) -> int:
    """Outbox rows, in the signature's transaction: the webhook, and each chat recipient."""
    real = now_utc()  # deliveries are a real-world matter, never the exercise clock
    n = 0
    if settings.alert_webhook_url and "webhook" in settings.report_recipients:
        session.add(
            AlertOutbox(
                alert_id=None,
                event=REPORT_EVENT,
                body=webhook_body(report),
                created_at=real,
                next_attempt_at=real,
            )
        )
        n += 1
    text = chat_text(report)
    for channel, address in recipients(settings):
        session.add(
            ChannelOutbox(
                channel=channel,
                address=address[:64],
                text=text,
                created_at=real,
                next_attempt_at=real,
                # Not an answer to the officer: no 24-hour window, the template goes on WhatsApp.
                window_until=real - timedelta(seconds=1),
            )
        )
        n += 1
    return n
