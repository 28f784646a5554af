"""Append to the audit chain, verify it, read it.

Each entry's hash is HMAC-SHA256, with a key the database does not hold (backend/audit/keys.py),
over the previous entry's hash and a canonical encoding of the entry (a JSON array of its
fields, its area included, in a fixed order): whoever can write the database but lacks the key
can neither edit an entry nor re-hash the rest behind it. Entries written before the upgrade to
keyed chaining (seq below `audit_head.keyed_from`) keep their plain SHA-256 and verify as such;
the first keyed entry's MAC covers the last of them, so they cannot be rewritten either.
Deleting the newest entries and rolling the head back leaves a shorter chain that is valid in
itself: signed checkpoints kept outside the database (backend/audit/anchor.py) catch that.

Appends take the chain's head row with an UPDATE first, in the caller's transaction: on
PostgreSQL that row lock queues every other appender (any process, any node) until commit; on
SQLite the UPDATE takes the database's single write lock. Either way two appenders can never
both build on the same head, so the chain never forks. Call `append` last in a transaction: it
holds the head until the commit. The same UPDATE returns the fingerprint of the chain's key, so
a process with another key refuses to append without a query more.

Intake batches are chained as one entry per committed batch that changed a TPS or stored an
incident report; the entry carries a digest of the batch's `tps_transition` rows, which
`verify` recomputes from the rows themselves. A signed situation report's entry carries the
sha256 of what was signed, which `verify` recomputes from the stored report
(backend/reports/seal.py).
"""

import hashlib
import hmac
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, insert, or_, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from backend.areas import contains
from backend.audit.anchor import AnchorSet, Checkpoint
from backend.audit.keys import NO_KEY, AuditKey, AuditKeyError, check_key_id, key_from_options
from backend.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from backend.auth.service import Principal
from backend.db import RawDb
from backend.incidents.models import IncidentReport
from backend.reports.seal import SIGN_ACTION as REPORT_SIGN_ACTION
from backend.reports.seal import check_signed
from backend.tps.models import TpsTransition
from schemas.ops import AuditEntryPublic

SYSTEM = "system"
# The first entry of a chain started over by an erase of the election data (backend/audit/epoch.py).
EPOCH_ACTION = "audit.epoch"
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
    # The narrowest area of the subject (an incident's or TPS's kabupaten, a user's or
    # credential's area, an officer's kabupaten); None: system-wide, national readers only.
    area_code: str | None = None


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
    """SHA-256 over the previous hash and one entry: how entries before keyed chaining were made."""
    body = orjson.dumps([seq, _iso(at), actor, action, subject_kind, subject, data])
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


def keyed_hash(
    key: AuditKey,
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_kind: str | None,
    subject: str | None,
    area_code: str | None,
    data: str,
) -> str:
    """HMAC-SHA256 over the previous hash and one entry, its area included."""
    body = orjson.dumps([seq, _iso(at), actor, action, subject_kind, subject, area_code, data])
    return hmac.new(key.chain, prev_hash.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def _link(
    key: AuditKey, head_seq: int, head_hash: str, records: Sequence[AuditRecord]
) -> list[dict[str, Any]]:
    """Number and hash records after a head whose seq has already been advanced."""
    first = head_seq - len(records) + 1
    prev = head_hash
    rows = []
    for i, r in enumerate(records):
        data = encode_data(r.data)
        actor = r.actor[:160]  # hashed as stored, or a long actor would never verify
        h = keyed_hash(
            key,
            prev,
            seq=first + i,
            at=r.at,
            actor=actor,
            action=r.action,
            subject_kind=r.subject_kind,
            subject=r.subject,
            area_code=r.area_code,
            data=data,
        )
        rows.append(
            {
                "seq": first + i,
                "at": r.at,
                "actor": actor,
                "action": r.action,
                "subject_kind": r.subject_kind,
                "subject": r.subject,
                "area_code": r.area_code,
                "data": data,
                "prev_hash": prev,
                "hash": h,
            }
        )
        prev = h
    return rows


# Advance the head and say which key the chain is on (the first keyed append claims it).
_TAKE_HEAD_RAW = (
    "UPDATE audit_head SET seq = seq + ?, key_id = COALESCE(key_id, ?) WHERE id = 1 "
    "RETURNING seq, hash, key_id"
)
_TAKE_HEAD = text(
    "UPDATE audit_head SET seq = seq + :n, key_id = COALESCE(key_id, :kid) WHERE id = 1 "
    "RETURNING seq, hash, key_id"
)


def append(*, session: Session, records: Sequence[AuditRecord]) -> None:
    """Append records to the chain in the session's transaction (the caller commits)."""
    if not records:
        return
    conn = session.connection()
    key = key_from_options(conn.get_execution_options())
    # Taking the head with an UPDATE is the serialization point: see the module docstring.
    head_seq, head_hash, key_id = conn.execute(
        _TAKE_HEAD, {"n": len(records), "kid": key.key_id}
    ).one()
    check_key_id(key_id, key)
    rows = _link(key, head_seq, head_hash, records)
    conn.execute(insert(AuditEntry), rows)
    conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": rows[-1]["hash"]})


def append_raw(db: RawDb, records: Sequence[AuditRecord]) -> None:
    """Append records on the intake writer's connection, inside its batch transaction."""
    if not records:
        return
    key = db.audit_key
    if key is None:
        raise AuditKeyError(NO_KEY)
    cur = db.conn.cursor()
    cur.execute(db.sql(_TAKE_HEAD_RAW), (len(records), key.key_id))
    head_seq, head_hash, key_id = cur.fetchone()
    check_key_id(key_id, key)
    rows = _link(key, head_seq, head_hash, records)
    cur.executemany(
        db.sql(
            "INSERT INTO audit_entry (seq, at, actor, action, subject_kind, subject, area_code, "
            "data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)"
        ),
        [
            (
                r["seq"],
                db.time(r["at"]),
                r["actor"],
                r["action"],
                r["subject_kind"],
                r["subject"],
                r["area_code"],
                r["data"],
                r["prev_hash"],
                r["hash"],
            )
            for r in rows
        ],
    )
    cur.execute(db.sql("UPDATE audit_head SET hash = ? WHERE id = 1"), (rows[-1]["hash"],))
    cur.close()


def claim_key(*, session: Session) -> None:
    """Bind the chain to this process's key if it has none yet, or refuse another key (start)."""
    conn = session.connection()
    key = key_from_options(conn.get_execution_options())
    kid = conn.execute(
        text("UPDATE audit_head SET key_id = COALESCE(key_id, :kid) WHERE id = 1 RETURNING key_id"),
        {"kid": key.key_id},
    ).scalar_one_or_none()
    session.commit()
    check_key_id(kid, key)


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
    area_code: str | None = None,
) -> AuditRecord:
    """The entry for one committed intake batch: its transitions by digest, its reports listed.

    `reports` holds (report id, event id hex, incident id, whether it opened the incident).
    `area_code` is the narrowest area holding everything the batch stored (see
    `backend.areas.common_area`): a batch that touched two kabupaten belongs to their province.
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
    return AuditRecord(at=at, actor=SYSTEM, action=BATCH_ACTION, data=data, area_code=area_code)


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of a chain check: how far it got, the first bad row, and what anchored it."""

    checked: int
    bad_seq: int | None = None
    reason: str | None = None
    keyed_from: int = 1  # entries before it predate keyed chaining (plain SHA-256)
    anchors: int = 0  # checkpoints that matched an entry of the chain
    anchored_seq: int = 0  # the newest entry a matching checkpoint vouches for
    anchor_problems: tuple[str, ...] = ()  # anchor lines that cannot be trusted (forged ...)
    superseded: int = 0  # checkpoints of a chain that an erase of the election data ended

    @property
    def ok(self) -> bool:
        """Whether the whole chain holds and every anchor line is genuine."""
        return self.bad_seq is None and not self.anchor_problems


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


def _expected_hash(key: AuditKey, keyed_from: int, prev: str, e: AuditEntry) -> str | None:
    """What an entry's hash must be, by the rule of its time; None if it cannot be right."""
    if e.seq >= keyed_from:
        return keyed_hash(
            key,
            prev,
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            subject_kind=e.subject_kind,
            subject=e.subject,
            area_code=e.area_code,
            data=e.data,
        )
    if e.area_code is not None:
        return None  # older entries had no area, and their hash could not cover one
    return entry_hash(
        prev,
        seq=e.seq,
        at=e.at,
        actor=e.actor,
        action=e.action,
        subject_kind=e.subject_kind,
        subject=e.subject,
        data=e.data,
    )


def _downgraded(anchors: AnchorSet, keyed_from: int) -> str | None:
    """Whether a checkpoint knew another first keyed entry than the head says now."""
    for cp in anchors.checkpoints:
        if cp.keyed_from != keyed_from:
            return (
                f"the chain says it is keyed from entry {keyed_from}, the checkpoint of "
                f"{cp.at_text} says {cp.keyed_from} (keyed entries passed off as older ones?)"
            )
    return None


def verify(
    *,
    session: Session,
    anchors: AnchorSet | None = None,
    key: AuditKey | None = None,
    chunk: int = 5000,
) -> VerifyResult:
    """Walk the chain up to its head: sequence, links, hashes, batch digests, checkpoints.

    With `anchors`, a checkpoint that names an entry beyond the head (truncated), a hash that
    differs from the entry at its seq (rewritten), or another `keyed_from` (downgraded) is
    reported, and so is every anchor line that is not genuinely signed.
    """
    key = key or key_from_options(session.connection().get_execution_options())
    anchors = anchors or AnchorSet()
    head = session.get(AuditHead, 1)
    if head is None:
        return VerifyResult(0, 0, "chain head row missing", anchor_problems=anchors.problems)
    # The head is read first: entries appended while we walk lie beyond it, left for next time.
    head_seq, head_hash, keyed_from, key_id = head.seq, head.hash, head.keyed_from, head.key_id
    matched = anchored = 0
    problems = anchors.problems

    def bad(checked: int, seq: int, reason: str) -> VerifyResult:
        return VerifyResult(
            checked, seq, reason, keyed_from, matched, anchored, anchor_problems=problems
        )

    try:
        check_key_id(key_id, key)
    except AuditKeyError as err:
        return bad(0, keyed_from, str(err))
    first = session.get(AuditEntry, 1) if head_seq else None
    current = [cp for cp in anchors.checkpoints if first is not None and cp.first == first.hash]
    superseded = len(anchors.checkpoints) - len(current)
    if superseded and (first is None or first.action != EPOCH_ACTION):
        # Only a deliberate erase (its keyed `audit.epoch` entry first, checked in the walk
        # below) starts a new chain; anything else that replaced the chain is tampering.
        cp = next(cp for cp in anchors.checkpoints if cp not in current)
        return bad(
            0,
            1,
            f"the checkpoint of {cp.at_text} belongs to another chain: this one was replaced "
            "(emptied or rebuilt) without an erase of the election data",
        )
    anchors = AnchorSet(current, anchors.problems, anchors.files)
    downgrade = _downgraded(anchors, keyed_from)
    if downgrade:
        return bad(0, min(keyed_from, *(cp.keyed_from for cp in anchors.checkpoints)), downgrade)
    by_seq: dict[int, list[Checkpoint]] = {}
    for cp in anchors.checkpoints:
        by_seq.setdefault(cp.seq, []).append(cp)
    prev = GENESIS_HASH
    expected = 1
    while expected <= head_seq:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.seq) >= expected, col(AuditEntry.seq) <= head_seq)
            .order_by(col(AuditEntry.seq))
            .limit(chunk)
        ).all()
        if not rows:
            break
        for e in rows:
            if e.seq != expected:
                return bad(expected - 1, expected, "entry missing (deleted?)")
            if e.prev_hash != prev:
                return bad(expected - 1, e.seq, "previous hash does not match the chain")
            h = _expected_hash(key, keyed_from, prev, e)
            if h is None:
                return bad(expected - 1, e.seq, "an area on an entry from before keyed chaining")
            if not hmac.compare_digest(h, e.hash):
                return bad(expected - 1, e.seq, "hash does not match the entry (edited?)")
            if e.action == BATCH_ACTION:
                problem = _check_batch(session, orjson.loads(e.data))
                if problem:
                    return bad(expected - 1, e.seq, problem)
            elif e.action == REPORT_SIGN_ACTION and e.subject is not None:
                # A signed report's stored copy must still hash to what its signature recorded.
                problem = check_signed(
                    session=session, report_id=int(e.subject), sha256=orjson.loads(e.data)["sha256"]
                )
                if problem:
                    return bad(expected - 1, e.seq, problem)
            for cp in by_seq.get(e.seq, ()):
                if cp.hash != e.hash:
                    return bad(
                        expected - 1,
                        e.seq,
                        f"entry differs from the checkpoint of {cp.at_text} (rewritten)",
                    )
                matched += 1
                anchored = e.seq
            prev = e.hash
            expected += 1
        session.expunge_all()
    checked = expected - 1
    if checked != head_seq:
        gone = f"chain head says {head_seq} entries; entries after {checked} are gone"
        return bad(checked, checked + 1, gone)
    if prev != head_hash:
        return bad(checked, checked, "chain head's hash does not match its last entry")
    beyond = [cp for cp in anchors.checkpoints if cp.seq > head_seq]
    if beyond:
        cp = max(beyond, key=lambda c: c.seq)
        return bad(
            checked,
            head_seq + 1,
            f"the checkpoint of {cp.at_text} names entry {cp.seq}, the chain ends at {head_seq}: "
            "its newest entries were removed (truncated)",
        )
    return VerifyResult(
        checked,
        None,
        None,
        keyed_from,
        matched,
        anchored,
        anchor_problems=anchors.problems,
        superseded=superseded,
    )


def to_public(e: AuditEntry) -> AuditEntryPublic:
    """The wire form of an entry."""
    return AuditEntryPublic(
        seq=e.seq,
        at=e.at,
        actor=e.actor,
        action=e.action,
        subject_kind=e.subject_kind,
        subject=e.subject,
        area_code=e.area_code,
        data=orjson.loads(e.data),
        hash=e.hash,
    )


def list_entries(
    *,
    session: Session,
    subject_kind: str | None = None,
    subject: str | None = None,
    action_prefix: str | None = None,
    area_code: str | None = None,
    limit: int = 500,
) -> list[AuditEntryPublic]:
    """Entries, newest first, optionally about one subject or of one family of actions.

    With `area_code`, only entries whose area lies inside it: entries without an area
    (system-wide ones, and every entry from before keyed chaining) are for national readers.
    """
    q = select(AuditEntry)
    if area_code is not None:
        q = q.where(
            (col(AuditEntry.area_code) == area_code)
            | col(AuditEntry.area_code).startswith(area_code + ".")
        )
    if subject_kind is not None:
        q = q.where(col(AuditEntry.subject_kind) == subject_kind)
    if subject is not None:
        q = q.where(col(AuditEntry.subject) == subject)
    if action_prefix is not None:
        q = q.where(col(AuditEntry.action).startswith(action_prefix, autoescape=True))
    rows = session.exec(q.order_by(col(AuditEntry.seq).desc()).limit(limit)).all()
    return [to_public(e) for e in rows]


def is_visible(area_code: str | None, entry_area: str | None) -> bool:
    """Whether a reader scoped to `area_code` may see an entry of `entry_area`."""
    return area_code is None or (entry_area is not None and contains(area_code, entry_area))


def iter_all(*, session: Session) -> Iterator[AuditEntry]:
    """Every entry in chain order."""
    yield from session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))
