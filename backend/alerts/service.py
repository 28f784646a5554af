"""Alerts in the database: read the facts, apply the sweeper's diff, list, acknowledge, silence.

Every change is a compare-and-set: a raise is an INSERT that the partial unique index on open
(kind, subject) turns into a no-op when someone else raised it first, a clear is an UPDATE
WHERE cleared_at IS NULL, an acknowledgement an UPDATE WHERE version = the one read. So two
sweepers, or a sweeper and a commander, can never undo each other's work.
"""

import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
from sqlalchemy import Engine, Table, text, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from backend.alerts import history
from backend.alerts.models import Alert, AlertOutbox
from backend.alerts.rules import (
    FIELD_KINDS,
    CustodyFacts,
    Desired,
    Facts,
    IncidentFacts,
    Key,
    OfficerFacts,
    SosFacts,
    TpsFacts,
    evaluate,
)
from backend.areas import kabupaten_in
from backend.audit.service import SYSTEM, AuditRecord, append
from backend.config import Settings, now_utc
from backend.custody.models import CustodyEvent
from backend.custody.service import (
    Escorts,
    convoy_fixes,
    distance_km,
    escorts_of,
    list_boxes,
    ppk_places,
)
from backend.incidents.models import Incident, IncidentReport
from backend.incidents.service import situations_of
from backend.officers.models import Assignment, Officer, Unit
from backend.tps.models import Tps, TpsState
from schemas.enums import OPEN_STATUSES, PHASE_ORDER, Situation
from schemas.ops import AlertKind, AlertPublic, AlertSubjectKind


class AlertConflictError(Exception):
    """A compare-and-set on an alert failed: field and reason for the 409."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def to_public(a: Alert) -> AlertPublic:
    """The wire form of an alert."""
    assert a.id is not None
    return AlertPublic(
        id=a.id,
        kind=a.kind,
        subject_kind=a.subject_kind,
        subject=a.subject,
        kabupaten_code=a.kabupaten_code,
        kecamatan_code=a.kecamatan_code,
        severity=a.severity,
        detail=orjson.loads(a.detail),
        raised_at=a.raised_at,
        cleared_at=a.cleared_at,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by,
        silenced_at=a.silenced_at,
        silenced_by=a.silenced_by,
        silenced_until=a.silenced_until,
        parent_id=a.parent_id,
        version=a.version,
    )


# --- facts ---------------------------------------------------------------------------------


def _custody_facts(
    session: Session, now: datetime, still: timedelta, radius_m: float
) -> list[CustodyFacts]:
    """Boxes not yet handed over with a BA: their steps, the road's length, escorts' fixes."""
    if session.execute(sa_select(col(CustodyEvent.id)).limit(1)).first() is None:
        return []  # before the first seal (all day): skip building the GROUP BY
    boxes = list_boxes(session=session, unfinished=True)
    if not boxes:
        return []
    ppk = ppk_places(session=session, kecamatan_codes={b.kecamatan_code for b in boxes})
    moving = [b for b in boxes if b.on_the_road]
    escorts = escorts_of(session=session, tps_ids=[b.tps_id for b in moving])
    fixes = convoy_fixes(
        session=session,
        officer_ids={o for e in escorts.values() for o in e.officer_ids},
        now=now,
        window=still,
        radius_m=radius_m,
    )
    nrp_of = (
        dict(
            session.execute(
                sa_select(col(Officer.id), col(Officer.nrp)).where(col(Officer.id).in_(list(fixes)))
            ).all()
        )
        if fixes
        else {}
    )
    out = []
    for b in boxes:
        place = ppk.get(b.kecamatan_code)
        mine: list[tuple[str, datetime, float, float]] = []
        if b.on_the_road and b.departed_at is not None:
            for oid in sorted(escorts.get(b.tps_id, Escorts()).officer_ids):
                mine.extend(
                    (nrp_of.get(oid, str(oid)), at, lat, lon)
                    for at, lat, lon in fixes.get(oid, ())
                    if at >= b.departed_at
                )
        out.append(
            CustodyFacts(
                code=b.tps,
                kecamatan_code=b.kecamatan_code,
                kabupaten_code=b.kabupaten_code,
                sealed_at=b.sealed_at,
                departed_at=b.departed_at,
                arrived_at=b.arrived_at,
                handed_at=b.handed_at,
                has_ba=b.has_ba,
                distance_km=distance_km(b.tps_lat, b.tps_lon, place.lat, place.lon)
                if place is not None
                else None,
                fixes=tuple(mine),
            )
        )
    return out


TPS_COLUMNS = (
    col(Tps.id),
    col(Tps.code),
    col(Tps.kecamatan_code),
    col(Tps.kabupaten_code),
    col(Tps.risk),
    col(TpsState.phase),
    col(TpsState.last_seen_at),
    col(TpsState.last_received_at),
    col(TpsState.phase_rank),
    col(TpsState.claimed_rank),
    col(TpsState.claimed_at),
    col(TpsState.claimed_officer_id),
)


def tps_facts(row: Any, by_officer: datetime | None, nrp_of: dict[int, str]) -> TpsFacts:
    """A TPS as the rules see it, from a row of TPS_COLUMNS and its officers' newest receipt."""
    (_, code, kec, kab, risk, phase, seen, received, rank, claimed_rank, claimed_at, by) = row
    claimed = claimed_rank > rank  # ahead of the phase: waits for a commander
    return TpsFacts(
        code=code,
        kecamatan_code=kec,
        kabupaten_code=kab,
        risk=risk,
        phase=phase,
        last_seen_at=seen,
        last_heard_at=max(received, by_officer)
        if received and by_officer
        else received or by_officer,
        claimed_phase=PHASE_ORDER[claimed_rank] if claimed else None,
        claimed_by=nrp_of.get(by) if claimed else None,
        claimed_at=claimed_at if claimed else None,
    )


@dataclass(slots=True)
class RawFacts:
    """What `load_facts` read beyond the facts: the ids the incremental sweep keeps them by."""

    tps_ids: list[int] = field(default_factory=list)  # beside Facts.tps
    tps_received: dict[int, datetime | None] = field(default_factory=dict)
    tps_claimed_by: dict[int, int | None] = field(default_factory=dict)
    officer_ids: list[int] = field(default_factory=list)  # beside Facts.officers
    assigned: dict[int, set[int]] = field(default_factory=dict)  # officer id -> TPS ids
    nrp_of: dict[int, str] = field(default_factory=dict)


PACE = 5000  # rows or items between two pauses of a paced read (`load_facts(pause=...)`)
_T = TypeVar("_T")


class Paced(list[_T]):
    """A list whose every walk stops at `pause` each `PACE` items, whoever walks it."""

    def __init__(self, pause: Callable[[], None]) -> None:
        super().__init__()
        self.pause = pause

    def __iter__(self) -> Iterator[_T]:
        return paced(super().__iter__(), self.pause)


def paced(items: Iterable[_T], pause: Callable[[], None] | None) -> Iterator[_T]:
    """`items`, stopping at `pause` (if any) every `PACE` of them."""
    for i, x in enumerate(items):
        if pause is not None and i % PACE == 0:
            pause()
        yield x


def paced_rows(session: Session, stmt: Any, pause: Callable[[], None] | None) -> Iterator[Any]:
    """The rows of `stmt`; with `pause`, fetched `PACE` at a time, calling it before each batch."""
    if pause is None:
        yield from session.execute(stmt)
        return
    # In batches: a national result fetched at once holds the GIL for as long as the driver
    # takes to build its rows, and a tick on another thread waits that long.
    for part in session.execute(stmt.execution_options(yield_per=PACE)).partitions():
        pause()
        yield from part


def load_facts(
    *,
    session: Session,
    now: datetime,
    listening_since: datetime,
    intake_stalled: bool,
    area_code: str | None = None,
    custody_still: timedelta = timedelta(minutes=15),
    custody_radius_m: float = 100.0,
    raw: RawFacts | None = None,
    pause: Callable[[], None] | None = None,
) -> Facts:
    """Read what the rules need: TPS states, officers, incidents waiting for acknowledgement.

    With `area_code`, only that area's (the situation reports read one kabupaten's liveness;
    outages are judged per kabupaten, so the rules give the same answer inside it). With `raw`,
    also the ids and raw columns the incremental sweep needs. With `pause`, the reads fetch
    `PACE` rows at a time and call it before each batch, and the facts' lists call it as they
    are walked (see `Paced`): a read beside the sweeper's ticks lets them go first.
    """

    def inside(column: Any) -> Any:
        return kabupaten_in(column, area_code) if area_code is not None else true()

    def rows(stmt: Any) -> Iterator[Any]:
        return paced_rows(session, stmt, pause)

    heard: dict[int, datetime] = {}
    kecs: dict[int, set[str]] = defaultdict(set)
    officer_heard: dict[int, datetime | None] = {}
    nrp_of: dict[int, str] = {}
    for oid, nrp, received in rows(
        sa_select(col(Officer.id), col(Officer.nrp), col(Officer.last_received_at)).where(
            inside(col(Officer.kabupaten_code))
        )
    ):
        officer_heard[oid] = received
        nrp_of[oid] = nrp
    for oid, tps_id, kec in rows(
        sa_select(col(Assignment.officer_id), col(Tps.id), col(Tps.kecamatan_code))
        .join(Tps, col(Tps.id) == col(Assignment.tps_id))
        .where(inside(col(Tps.kabupaten_code)))
    ):
        kecs[oid].add(kec)
        if raw is not None:
            raw.assigned.setdefault(oid, set()).add(tps_id)
        at = officer_heard.get(oid)
        if at is not None and (tps_id not in heard or at > heard[tps_id]):
            heard[tps_id] = at
    tps: list[TpsFacts] = Paced(pause) if pause is not None else []
    for row in rows(
        sa_select(*TPS_COLUMNS)
        .join(TpsState, col(TpsState.tps_id) == col(Tps.id))
        .where(inside(col(Tps.kabupaten_code)))
    ):
        tps.append(tps_facts(row, heard.get(row[0]), nrp_of))
        if raw is not None:
            raw.tps_ids.append(row[0])
            raw.tps_received[row[0]] = row[7]
            raw.tps_claimed_by[row[0]] = row[11]
    officers: list[OfficerFacts] = Paced(pause) if pause is not None else []
    for oid, nrp, kab, received in rows(
        sa_select(
            col(Officer.id),
            col(Officer.nrp),
            col(Officer.kabupaten_code),
            col(Officer.last_received_at),
        ).where(inside(col(Officer.kabupaten_code)))
    ):
        officers.append(
            OfficerFacts(
                nrp=nrp,
                kabupaten_code=kab,
                last_received_at=received,
                kecamatan_codes=frozenset(kecs.get(oid, ())),
            )
        )
        if raw is not None:
            raw.officer_ids.append(oid)
    if raw is not None:
        raw.nrp_of = nrp_of
    return Facts(
        now=now,
        tps=tps,
        officers=officers,
        incidents=incident_facts(session, inside),
        listening_since=listening_since,
        intake_stalled=intake_stalled,
        custody=_custody_facts(session, now, custody_still, custody_radius_m),
    )


def custody_facts(session: Session, now: datetime, settings: Settings) -> list[CustodyFacts]:
    """Boxes not yet handed over with a BA, as the rules see them (the sweeper's settings)."""
    return _custody_facts(
        session,
        now,
        timedelta(minutes=settings.custody_still_min),
        settings.custody_still_radius_m,
    )


def incident_facts(session: Session, inside: Any = None) -> list[IncidentFacts]:
    """Open incidents (within `inside(kabupaten column)`), with their SOS senders."""
    where = inside(col(Incident.kabupaten_code)) if inside is not None else true()
    rows = [
        (i, code)
        for i, code in session.execute(
            sa_select(Incident, col(Tps.code))
            .outerjoin(Tps, col(Tps.id) == col(Incident.tps_id))
            .where(col(Incident.status).in_(OPEN_STATUSES), where)
        )
        if i.id is not None
    ]
    senders = _sos_senders(session, [i.id for i, _ in rows if i.is_sos])
    return [
        IncidentFacts(
            id=i.id,
            status=i.status,
            severity=i.severity,
            kabupaten_code=i.kabupaten_code,
            kecamatan_code=i.kecamatan_code,
            tps_code=code,
            opened_at=i.opened_at,
            tps_id=i.tps_id,
            sos=replace(
                senders.get(i.id, _NO_SENDER), acknowledged=i.sos_acknowledged_at is not None
            )
            if i.is_sos
            else None,
        )
        for i, code in rows
    ]


_NO_SENDER = SosFacts(None, None, None, None, None, None, None)


def _sos_senders(session: Session, incident_ids: list[int]) -> dict[int, SosFacts]:
    """The first SOS report of each incident: its officer (rank, name, NRP, unit) and position."""
    if not incident_ids:
        return {}
    out: dict[int, SosFacts] = {}
    for iid, nrp, name, rank, unit, at, lat, lon in session.execute(
        sa_select(
            col(IncidentReport.incident_id),
            col(Officer.nrp),
            col(Officer.name),
            col(Officer.rank),
            col(Unit.name),
            col(IncidentReport.device_time),
            col(IncidentReport.lat),
            col(IncidentReport.lon),
        )
        .join(Officer, col(Officer.id) == col(IncidentReport.officer_id))
        .join(Unit, col(Unit.id) == col(Officer.unit_id))
        .where(col(IncidentReport.incident_id).in_(incident_ids), col(IncidentReport.is_sos))
        .order_by(col(IncidentReport.id))
    ):
        if iid is not None and iid not in out:
            out[iid] = SosFacts(nrp, name, rank, unit, at, lat, lon)
    return out


# --- applying the sweeper's diff -----------------------------------------------------------


@dataclass(slots=True)
class _Open:
    id: int
    subject_kind: AlertSubjectKind
    reason: str | None
    detail: str
    parent_id: int | None
    notified: bool
    kabupaten_code: str | None


@dataclass(slots=True)
class SweepChanges:
    """What one sweep changed: alert ids to publish, and whether the outbox got work."""

    raised: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    outbox: int = 0
    # What the open incidents of the same read do to TPS situations: the map and the alerts
    # agree, whichever incident was committed in between (see Sweeper.tick).
    situations: dict[int, Situation] = field(default_factory=dict)
    chunks: int = 0  # transactions committed
    longest_chunk_s: float = 0.0  # the longest of them
    # The longest time one of them held the audit chain's head (from its append to its
    # commit): what intake's writer, which appends to the same chain, may have waited.
    longest_head_s: float = 0.0

    def add(self, other: "SweepChanges", seconds: float, head_s: float = 0.0) -> None:
        """Fold in one chunk's changes, how long its transaction took and held the head."""
        self.raised += other.raised
        self.cleared += other.cleared
        self.updated += other.updated
        self.outbox += other.outbox
        self.chunks += 1
        self.longest_chunk_s = max(self.longest_chunk_s, seconds)
        self.longest_head_s = max(self.longest_head_s, head_s)

    @property
    def alert_ids(self) -> list[int]:
        """Every alert this sweep touched."""
        return sorted({*self.raised, *self.cleared, *self.updated})


def _detail(d: Desired) -> str:
    return orjson.dumps(
        {**d.detail, **({"reason": d.reason} if d.reason else {})}, option=orjson.OPT_SORT_KEYS
    ).decode()


def _open_of(a: Alert) -> _Open:
    assert a.id is not None
    return _Open(
        a.id,
        a.subject_kind,
        orjson.loads(a.detail).get("reason"),
        a.detail,
        a.parent_id,
        a.notified_at is not None,
        a.kabupaten_code,
    )


def _open_alerts(session: Session, keys: Iterable[Key] | None = None) -> dict[Key, _Open]:
    """Open alerts: all, or those of `keys` (down the partial unique index on open ones)."""
    q = select(Alert).where(col(Alert.cleared_at).is_(None))
    if keys is None:
        return {(a.kind, a.subject): _open_of(a) for a in session.exec(q)}
    by_kind: dict[AlertKind, list[str]] = defaultdict(list)
    for kind, subject in keys:
        by_kind[kind].append(subject)
    out: dict[Key, _Open] = {}
    for kind, subjects in by_kind.items():
        for i in range(0, len(subjects), _RAISE_CHUNK):
            part = subjects[i : i + _RAISE_CHUNK]
            for a in session.exec(q.where(col(Alert.kind) == kind, col(Alert.subject).in_(part))):
                out[(a.kind, a.subject)] = _open_of(a)
    return out


def webhook_body(event: str, alert: AlertPublic) -> str:
    """The JSON body of one webhook delivery (fixed when written; every retry sends it again)."""
    return orjson.dumps({"event": event, "alert": alert.model_dump(mode="json")}).decode()


def _audit_alert(
    records: list[AuditRecord],
    now: datetime,
    action: str,
    alert_id: int,
    key: Key,
    subject_kind: AlertSubjectKind,
    kabupaten_code: str | None,
) -> None:
    records.append(
        AuditRecord(
            at=now,
            actor=SYSTEM,
            action=action,
            subject_kind=subject_kind.value,
            subject=key[1],
            data={"alert_id": alert_id, "kind": key[0].value},
            area_code=kabupaten_code,
        )
    )


_RAISE_CHUNK = 500  # alerts per INSERT: 11 columns stay far under every driver's parameter limit


# Alerts per transaction: bounds how long a chunk holds its locks (and intake's writer the
# audit head). 1,000 took ~0.95 s a chunk nationally, 2.1 s at worst (bench/sweep.py's storm).
APPLY_CHUNK = 400


def apply_desired(
    *,
    session: Session,
    desired: dict[Key, Desired],
    now: datetime,
    frozen: frozenset[AlertKind] = frozenset(),
    webhook: bool = False,
    keys: Collection[Key] | None = None,
    chunk: int = APPLY_CHUNK,
) -> SweepChanges:
    """Make the open alerts match `desired`; return what changed.

    Without `keys`, every open alert is compared (the full sweep); with `keys`, only the alerts
    of those keys (the incremental sweep: `desired` then holds what is wanted among them). The
    work is committed in transactions of at most `chunk` alerts, outages first, so that a
    storm (a province goes silent) never holds the database for all of it; each transaction
    carries its own audit, replay history and webhook rows. Kinds in `frozen` are neither
    raised nor cleared (our own intake is stalled).
    """
    current = _open_alerts(session, keys)
    ids = {k: o.id for k, o in current.items()}  # shared by the chunks, as they change it
    if keys is None:
        scope: Collection[Key] = current.keys() | desired.keys()
    else:
        scope = keys
        # The outages that alerts of `keys` may be held under, whether or not they changed.
        ids.update({k: o.id for k, o in _open_alerts_of_kind(session, _OUTAGE).items()})
    session.commit()  # the read's transaction ends: each chunk is a transaction of its own
    # Outages first: an alert raised under one needs its id; clears and raises of a key stay
    # in one chunk (a changed reason is cleared and raised again).
    order = sorted(scope, key=lambda k: (k[0] is not _OUTAGE, k[0].value, k[1]))
    total = SweepChanges()
    for i in range(0, len(order), chunk):
        part = order[i : i + chunk]
        started = time.perf_counter()
        step = _Apply(session, now, frozen, ids)
        mine = {k: current[k] for k in part if k in current}
        wanted = {k: desired[k] for k in part if k in desired}
        # Clear first, so that a changed reason can be raised again within the same sweep.
        step.clear_unwanted(mine, wanted)
        step.raise_missing(wanted)
        step.update_kept(mine, wanted)
        if webhook and step.visible:
            step.queue_webhooks()
        # Replay's history, in this transaction (a cleared alert's end is its own cleared_at),
        # from the rows just written: a copy read back from `alert` cost a storm's chunk more
        # than the rest of it together (its `IN` list planned as a scan of the young table).
        history.record(session, rows=step.versions, at=now)
        # The chain's head last: intake's writer appends to it too, and waits while it is held.
        head = time.perf_counter()
        if step.records:
            append(session=session, records=step.records)
        session.commit()
        done = time.perf_counter()
        total.add(step.changes, done - started, done - head if step.records else 0.0)
    return total


_OUTAGE = AlertKind.NETWORK_OUTAGE
# What a raised alert's version has that its INSERT does not name (a person's acts come later).
_UNSET: dict[str, Any] = {
    c: None for c in history.COLUMNS if c not in ("version", "severity", "detail", "parent_id")
}


def _open_alerts_of_kind(session: Session, kind: AlertKind) -> dict[Key, _Open]:
    q = select(Alert).where(col(Alert.cleared_at).is_(None), col(Alert.kind) == kind)
    return {(a.kind, a.subject): _open_of(a) for a in session.exec(q)}


class _Apply:
    """One transaction of `apply_desired`: its steps share what they changed so far."""

    def __init__(
        self, session: Session, now: datetime, frozen: frozenset[AlertKind], ids: dict[Key, int]
    ) -> None:
        self.session = session
        self.now = now
        self.frozen = frozen
        self.ids = ids  # open alert id by key, as it is now within this transaction
        self.changes = SweepChanges()
        self.records: list[AuditRecord] = []
        self.visible: list[tuple[int, str]] = []  # (alert id, webhook event)
        self.versions: list[dict[str, Any]] = []  # rows raised or updated, as written

    def clear_unwanted(self, current: dict[Key, _Open], desired: dict[Key, Desired]) -> None:
        """Clear open alerts no longer wanted, or wanted for another reason."""
        gone = [
            (key, o)
            for key, o in current.items()
            if key[0] not in self.frozen and (key not in desired or desired[key].reason != o.reason)
        ]
        done: set[int] = set()
        # One UPDATE per few hundred ids (a storm clears thousands): still a compare-and-set,
        # RETURNING names the rows that were open, and only those count as cleared here.
        for i in range(0, len(gone), _RAISE_CHUNK):
            part = [o.id for _, o in gone[i : i + _RAISE_CHUNK]]
            res = self.session.execute(
                update(Alert)
                .where(col(Alert.id).in_(part), col(Alert.cleared_at).is_(None))
                .values(cleared_at=self.now, version=col(Alert.version) + 1)
                .returning(col(Alert.id))
            )
            done.update(r[0] for r in res)
        for key, o in gone:
            if o.id in done:
                self.changes.cleared.append(o.id)
                self._audit("alert.cleared", o.id, key, o.subject_kind, o.kabupaten_code)
                if o.notified:
                    self.visible.append((o.id, "cleared"))
            self.ids.pop(key, None)

    def raise_missing(self, desired: dict[Key, Desired]) -> None:
        """Raise wanted alerts not open yet: the outages first, then what they may hold."""
        # Many rows per statement: after a long silence one sweep may raise hundreds of
        # thousands (measured on the national registry: row by row, a sweep did not finish
        # within two minutes).
        fresh = [d for d in desired.values() if d.key not in self.ids and d.kind not in self.frozen]
        for wave in (
            [d for d in fresh if d.kind is AlertKind.NETWORK_OUTAGE],
            [d for d in fresh if d.kind is not AlertKind.NETWORK_OUTAGE],
        ):
            for i in range(0, len(wave), _RAISE_CHUNK):
                self._raise(wave[i : i + _RAISE_CHUNK])

    def _raise(self, chunk: list[Desired]) -> None:
        ids, now = self.ids, self.now
        rows = [
            {
                "kind": d.kind,
                "subject_kind": d.subject_kind,
                "subject": d.subject,
                "kabupaten_code": d.kabupaten_code,
                "kecamatan_code": d.kecamatan_code,
                "severity": d.severity,
                "detail": _detail(d),
                "raised_at": now,
                "parent_id": ids.get(d.parent) if d.parent else None,
                "notified_at": None if d.parent and d.parent in ids else now,
                "version": 0,
            }
            for d in chunk
        ]
        table: Table = Alert.__table__  # type: ignore[attr-defined]
        dialect = self.session.get_bind().dialect.name
        insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = (
            insert_fn(table)
            .on_conflict_do_nothing(
                index_elements=["kind", "subject"], index_where=text("cleared_at IS NULL")
            )
            .returning(table.c.id, table.c.kind, table.c.subject)
        )
        # Rows that conflict were raised by another sweeper meanwhile: open, as wanted. The rows
        # go as parameters of one statement (batched into multi-row VALUES by SQLAlchemy), not
        # in it: `.values(rows)` compiled a new 5,500-parameter statement for every 500 alerts.
        got = {(AlertKind(k), subj): new_id for new_id, k, subj in self.session.execute(stmt, rows)}
        for d, row in zip(chunk, rows, strict=True):
            new_id = got.get(d.key)
            if new_id is None:
                continue
            ids[d.key] = new_id
            self.versions.append({**_UNSET, **row, "id": new_id})
            self.changes.raised.append(new_id)
            self._audit("alert.raised", new_id, d.key, d.subject_kind, d.kabupaten_code)
            if not (d.parent and d.parent in ids):
                self.visible.append((new_id, "raised"))

    def update_kept(self, current: dict[Key, _Open], desired: dict[Key, Desired]) -> None:
        """Alerts that stay open: move under or out of an outage, refresh their detail."""
        for key, o in current.items():
            d = desired.get(key)
            if d is None or key not in self.ids or self.ids[key] != o.id:
                continue
            parent_id = self.ids.get(d.parent) if d.parent else None
            if d.kind in self.frozen:
                parent_id = o.parent_id
            detail = _detail(d)
            if parent_id == o.parent_id and detail == o.detail:
                continue
            values: dict[str, Any] = {"parent_id": parent_id, "detail": detail}
            released = o.parent_id is not None and parent_id is None and not o.notified
            if released:
                values["notified_at"] = self.now
            row = (
                self.session.execute(
                    update(Alert)
                    .where(col(Alert.id) == o.id, col(Alert.cleared_at).is_(None))
                    .values(**values, version=col(Alert.version) + 1)
                    .returning(*history.RETURNED)
                )
                .mappings()
                .first()
            )
            if row is None:
                continue
            self.versions.append(dict(row))
            self.changes.updated.append(o.id)
            if parent_id != o.parent_id:
                action = "alert.held" if parent_id is not None else "alert.released"
                self._audit(action, o.id, key, o.subject_kind, o.kabupaten_code)
            if released:
                self.visible.append((o.id, "raised"))

    def queue_webhooks(self) -> None:
        """One outbox row per alert the outside world sees raised or cleared."""
        self.session.flush()
        real_now = now_utc()
        wanted = [i for i, _ in self.visible]
        rows = self.session.exec(select(Alert).where(col(Alert.id).in_(wanted)))
        alerts = {a.id: a for a in rows}
        for alert_id, event in self.visible:
            self.session.add(
                AlertOutbox(
                    alert_id=alert_id,
                    event=event,
                    body=webhook_body(event, to_public(alerts[alert_id])),
                    created_at=real_now,
                    next_attempt_at=real_now,
                )
            )
            self.changes.outbox += 1

    def _audit(
        self,
        action: str,
        alert_id: int,
        key: Key,
        subject_kind: AlertSubjectKind,
        kabupaten_code: str | None,
    ) -> None:
        _audit_alert(self.records, self.now, action, alert_id, key, subject_kind, kabupaten_code)


# --- people acting on alerts ---------------------------------------------------------------


def get(*, session: Session, alert_id: int) -> Alert | None:
    """One alert."""
    return session.get(Alert, alert_id)


def list_alerts(
    *,
    session: Session,
    area_code: str | None = None,
    open_only: bool = True,
    kind: AlertKind | None = None,
    subject: str | None = None,
    ids: list[int] | None = None,
    limit: int = 2000,
) -> list[AlertPublic]:
    """Alerts, newest first; by default only open ones."""
    q = select(Alert)
    if area_code is not None:
        # Alerts of the system itself (no kabupaten) concern everyone.
        q = q.where(
            kabupaten_in(col(Alert.kabupaten_code), area_code) | col(Alert.kabupaten_code).is_(None)
        )
    if open_only:
        q = q.where(col(Alert.cleared_at).is_(None))
    if kind is not None:
        q = q.where(col(Alert.kind) == kind)
    if subject is not None:
        q = q.where(col(Alert.subject) == subject)
    if ids is not None:
        q = q.where(col(Alert.id).in_(ids))
    newest = (col(Alert.raised_at).desc(), col(Alert.id).desc())
    # An officer's SOS above everything else, however many alerts are newer. Two reads, each
    # down an index, rather than one sort of every open alert (600k on a national registry).
    sos = q.where(col(Alert.kind) == AlertKind.SOS)
    first = list(session.exec(sos.order_by(*newest).limit(limit)))
    rest = session.exec(
        q.where(col(Alert.kind) != AlertKind.SOS).order_by(*newest).limit(limit - len(first))
    )
    return [to_public(a) for a in [*first, *rest]]


def acknowledge(*, session: Session, alert_id: int, actor: str, now: datetime) -> Alert:
    """Record that someone saw the alert (once; a second acknowledgement is a conflict)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise LookupError(alert_id)
    if alert.acknowledged_at is not None:
        raise AlertConflictError(
            "acknowledged_at", f"already acknowledged by {alert.acknowledged_by}"
        )
    res = session.execute(
        update(Alert)
        .where(col(Alert.id) == alert_id, col(Alert.acknowledged_at).is_(None))
        .values(acknowledged_at=now, acknowledged_by=actor, version=col(Alert.version) + 1)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise AlertConflictError("acknowledged_at", "acknowledged by someone else meanwhile")
    if alert.kind is AlertKind.SOS and alert.subject.isdigit():
        # Kept on the incident, where the rules read it: the next sweep clears the alarm, and a
        # merge or split of the incident carries the acknowledgement along.
        session.execute(
            update(Incident)
            .where(col(Incident.id) == int(alert.subject))
            .where(col(Incident.sos_acknowledged_at).is_(None))
            .values(sos_acknowledged_at=now)
        )
    history.record_versions(session, ids=[alert_id], at=now)
    _audit_person(session, now, actor, "alert.acknowledged", alert)
    session.commit()
    session.refresh(alert)
    return alert


def silence(
    *, session: Session, alert_id: int, actor: str, now: datetime, minutes: float | None
) -> Alert:
    """Silence an open alert for `minutes` (None: until it clears)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise LookupError(alert_id)
    if alert.cleared_at is not None:
        raise AlertConflictError("cleared_at", "the alert has already cleared")
    until = now + timedelta(minutes=minutes) if minutes is not None else None
    res = session.execute(
        update(Alert)
        .where(col(Alert.id) == alert_id, col(Alert.cleared_at).is_(None))
        .values(
            silenced_at=now,
            silenced_by=actor,
            silenced_until=until,
            version=col(Alert.version) + 1,
        )
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise AlertConflictError("cleared_at", "the alert cleared meanwhile")
    history.record_versions(session, ids=[alert_id], at=now)
    _audit_person(session, now, actor, "alert.silenced", alert, minutes=minutes)
    session.commit()
    session.refresh(alert)
    return alert


def _audit_person(
    session: Session, now: datetime, actor: str, action: str, alert: Alert, **extra: Any
) -> None:
    assert alert.id is not None
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action=action,
                subject_kind=alert.subject_kind.value,
                subject=alert.subject,
                data={"alert_id": alert.id, "kind": alert.kind.value, **extra},
                area_code=alert.kabupaten_code,
            )
        ],
    )


def sweep(
    *,
    engine: Engine,
    settings: Settings,
    now: datetime,
    listening_since: datetime,
    intake_stalled: bool,
) -> SweepChanges:
    """Evaluate the rules at `now` and apply the diff (what one sweeper tick does)."""
    with Session(engine) as session:
        facts = load_facts(
            session=session,
            now=now,
            listening_since=listening_since,
            intake_stalled=intake_stalled,
            custody_still=timedelta(minutes=settings.custody_still_min),
            custody_radius_m=settings.custody_still_radius_m,
        )
        desired = evaluate(facts, settings)
        frozen = FIELD_KINDS if intake_stalled else frozenset()
        changes = apply_desired(
            session=session,
            desired=desired,
            now=now,
            frozen=frozen,
            webhook=bool(settings.alert_webhook_url),
        )
    changes.situations = situations_of((i.tps_id, i.severity) for i in facts.incidents)
    return changes
