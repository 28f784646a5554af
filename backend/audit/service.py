"""Append to the audit chain, verify it, read it.

Each entry's hash is SHA-256 over the previous entry's hash and a canonical encoding of the
entry (a JSON array of its fields in a fixed order). Appends take the chain's head row with an
UPDATE first, in the caller's transaction: on PostgreSQL that row lock queues every other
appender (any process, any node) until commit; on SQLite the UPDATE takes the database's single
write lock. Either way two appenders can never both build on the same head, so the chain never
forks. Call `append` last in a transaction: it holds the head until the commit.

Intake batches are chained as one entry per committed batch that changed a TPS or stored an
incident report; the entry carries a digest of the batch's `tps_transition` rows, which
`verify` recomputes from the rows themselves.
"""

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, insert, or_, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from backend.auth.service import Principal
from backend.db import RawDb
from backend.incidents.models import IncidentReport
from backend.tps.models import TpsTransition
from schemas.ops import AuditEntryPublic

SYSTEM = "system"
BATCH_ACTION = "intake.batch"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What to append: who did what to which subject, when (server clock), with what data."""

    at: datetime
    actor: str
    action: str
    subject_kind: str | None = None
    subject: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def actor_of(principal: Principal) -> str:
    """How a caller is named in the audit trail and on the things it changed."""
    return f"{principal.kind.value}:{principal.name}#{principal.credential_id}"


def cli_actor() -> str:
    """The actor of a command run on the server itself."""
    return f"cli:{os.environ.get('USER') or os.environ.get('LOGNAME') or 'unknown'}"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def encode_data(data: Mapping[str, Any]) -> str:
    """Canonical JSON of an entry's data (sorted keys, no whitespace)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


def entry_hash(
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_kind: str | None,
    subject: str | None,
    data: str,
) -> str:
    """SHA-256 over the previous hash and the canonical encoding of one entry."""
    body = orjson.dumps([seq, _iso(at), actor, action, subject_kind, subject, data])
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


def _link(head_seq: int, head_hash: str, records: Sequence[AuditRecord]) -> list[dict[str, Any]]:
    """Number and hash records after a head whose seq has already been advanced."""
    first = head_seq - len(records) + 1
    prev = head_hash
    rows = []
    for i, r in enumerate(records):
        data = encode_data(r.data)
        h = entry_hash(
            prev,
            seq=first + i,
            at=r.at,
            actor=r.actor,
            action=r.action,
            subject_kind=r.subject_kind,
            subject=r.subject,
            data=data,
        )
        rows.append(
            {
                "seq": first + i,
                "at": r.at,
                "actor": r.actor[:160],
                "action": r.action,
                "subject_kind": r.subject_kind,
                "subject": r.subject,
                "data": data,
                "prev_hash": prev,
                "hash": h,
            }
        )
        prev = h
    return rows


def append(*, session: Session, records: Sequence[AuditRecord]) -> None:
    """Append records to the chain in the session's transaction (the caller commits)."""
    if not records:
        return
    conn = session.connection()
    # Taking the head with an UPDATE is the serialization point: see the module docstring.
    head_seq, head_hash = conn.execute(
        text("UPDATE audit_head SET seq = seq + :n WHERE id = 1 RETURNING seq, hash"),
        {"n": len(records)},
    ).one()
    rows = _link(head_seq, head_hash, records)
    conn.execute(insert(AuditEntry), rows)
    conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": rows[-1]["hash"]})


def append_raw(db: RawDb, records: Sequence[AuditRecord]) -> None:
    """Append records on the intake writer's connection, inside its batch transaction."""
    if not records:
        return
    cur = db.conn.cursor()
    cur.execute(
        db.sql("UPDATE audit_head SET seq = seq + ? WHERE id = 1 RETURNING seq, hash"),
        (len(records),),
    )
    head_seq, head_hash = cur.fetchone()
    rows = _link(head_seq, head_hash, records)
    cur.executemany(
        db.sql(
            "INSERT INTO audit_entry (seq, at, actor, action, subject_kind, subject, data, "
            "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)"
        ),
        [
            (
                r["seq"],
                db.time(r["at"]),
                r["actor"],
                r["action"],
                r["subject_kind"],
                r["subject"],
                r["data"],
                r["prev_hash"],
                r["hash"],
            )
            for r in rows
        ],
    )
    cur.execute(db.sql("UPDATE audit_head SET hash = ? WHERE id = 1"), (rows[-1]["hash"],))
    cur.close()


# --- intake batches ------------------------------------------------------------------------

# One transition as the digest sees it: id, tps_id, kind, before, after, at, received_at, officer.
TransitionFacts = tuple[int, int, str, str | None, str, datetime, datetime, int | None]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _canonical_transition(t: TransitionFacts) -> list[Any]:
    # Times as integer microseconds since the epoch: exact, independent of the zone the device
    # wrote and of how the database hands them back, and cheap (the 07:00 surge is one batch
    # with a transition for nearly every TPS).
    return [
        t[0],
        t[1],
        t[2],
        t[3],
        t[4],
        (t[5] - _EPOCH) // _MICROSECOND,
        (t[6] - _EPOCH) // _MICROSECOND,
        t[7],
    ]


def transitions_digest(rows: Sequence[TransitionFacts]) -> str:
    """SHA-256 of transition rows in id order."""
    ordered = sorted(rows, key=lambda t: t[0])
    return hashlib.sha256(orjson.dumps([_canonical_transition(t) for t in ordered])).hexdigest()


def id_runs(ids: Sequence[int]) -> list[list[int]]:
    """Compress ids into [first, last] runs of consecutive numbers."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and runs[-1][1] + 1 == i:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def batch_record(
    *,
    at: datetime,
    transitions: Sequence[TransitionFacts],
    reports: Sequence[tuple[int, str, int, bool]],
) -> AuditRecord:
    """The entry for one committed intake batch: its transitions by digest, its reports listed.

    `reports` holds (report id, event id hex, incident id, whether it opened the incident).
    """
    data: dict[str, Any] = {}
    if transitions:
        data["transitions"] = {
            "count": len(transitions),
            "runs": id_runs([t[0] for t in transitions]),
            "digest": transitions_digest(transitions),
        }
    if reports:
        data["reports"] = [[r[0], r[1]] for r in reports]
        data["incidents_opened"] = sorted({r[2] for r in reports if r[3]})
        data["incidents_joined"] = sorted({r[2] for r in reports if not r[3]})
    return AuditRecord(at=at, actor=SYSTEM, action=BATCH_ACTION, data=data)


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of a chain check: how far it got and the first bad row, if any."""

    checked: int
    bad_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the whole chain holds."""
        return self.bad_seq is None


def _transitions_in(session: Session, runs: list[list[int]]) -> list[TransitionFacts]:
    t = TpsTransition
    conds = [and_(col(t.id) >= a, col(t.id) <= b) for a, b in runs]
    out: list[TransitionFacts] = []
    for i in range(0, len(conds), 200):
        q = sa_select(
            col(t.id),
            col(t.tps_id),
            col(t.kind),
            col(t.before),
            col(t.after),
            col(t.at),
            col(t.received_at),
            col(t.officer_id),
        ).where(or_(*conds[i : i + 200]))
        out.extend(tuple(r) for r in session.execute(q))
    return out


def _check_batch(session: Session, data: dict[str, Any]) -> str | None:
    tr = data.get("transitions")
    if tr:
        rows = _transitions_in(session, tr["runs"])
        if len(rows) != tr["count"]:
            return f"batch names {tr['count']} transitions, {len(rows)} found"
        if transitions_digest(rows) != tr["digest"]:
            return "batch's transitions differ from their digest (edited?)"
    reports = data.get("reports") or []
    if reports:
        found = dict(
            session.execute(
                sa_select(col(IncidentReport.id), col(IncidentReport.event_id)).where(
                    col(IncidentReport.id).in_([r[0] for r in reports])
                )
            ).all()
        )
        for rid, event_hex in reports:
            if rid not in found or found[rid].hex != event_hex:
                return f"incident report {rid} missing or changed"
    return None


def verify(*, session: Session, chunk: int = 5000) -> VerifyResult:
    """Walk the whole chain: sequence, links, hashes, batch digests, and the head."""
    prev = GENESIS_HASH
    expected = 1
    while True:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.seq) >= expected)
            .order_by(col(AuditEntry.seq))
            .limit(chunk)
        ).all()
        for e in rows:
            if e.seq != expected:
                return VerifyResult(expected - 1, expected, "entry missing (deleted?)")
            if e.prev_hash != prev:
                return VerifyResult(expected - 1, e.seq, "previous hash does not match the chain")
            h = entry_hash(
                prev,
                seq=e.seq,
                at=e.at,
                actor=e.actor,
                action=e.action,
                subject_kind=e.subject_kind,
                subject=e.subject,
                data=e.data,
            )
            if h != e.hash:
                return VerifyResult(expected - 1, e.seq, "hash does not match the entry (edited?)")
            if e.action == BATCH_ACTION:
                problem = _check_batch(session, orjson.loads(e.data))
                if problem:
                    return VerifyResult(expected - 1, e.seq, problem)
            prev = e.hash
            expected += 1
        session.expunge_all()
        if len(rows) < chunk:
            break
    head = session.get(AuditHead, 1)
    checked = expected - 1
    if head is None:
        return VerifyResult(checked, 0, "chain head row missing")
    if head.seq != checked or head.hash != prev:
        return VerifyResult(
            checked,
            checked + 1,
            f"chain head says {head.seq} entries; entries after {checked} are gone",
        )
    return VerifyResult(checked)


def to_public(e: AuditEntry) -> AuditEntryPublic:
    """The wire form of an entry."""
    return AuditEntryPublic(
        seq=e.seq,
        at=e.at,
        actor=e.actor,
        action=e.action,
        subject_kind=e.subject_kind,
        subject=e.subject,
        data=orjson.loads(e.data),
        hash=e.hash,
    )


def list_entries(
    *,
    session: Session,
    subject_kind: str | None = None,
    subject: str | None = None,
    action_prefix: str | None = None,
    limit: int = 500,
) -> list[AuditEntryPublic]:
    """Entries, newest first, optionally about one subject or of one family of actions."""
    q = select(AuditEntry)
    if subject_kind is not None:
        q = q.where(col(AuditEntry.subject_kind) == subject_kind)
    if subject is not None:
        q = q.where(col(AuditEntry.subject) == subject)
    if action_prefix is not None:
        q = q.where(col(AuditEntry.action).startswith(action_prefix, autoescape=True))
    rows = session.exec(q.order_by(col(AuditEntry.seq).desc()).limit(limit)).all()
    return [to_public(e) for e in rows]


def iter_all(*, session: Session) -> Iterator[AuditEntry]:
    """Every entry in chain order."""
    yield from session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))
