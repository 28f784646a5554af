"""One group commit: store a batch of field events, merge TPS state, all in one transaction."""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backend.areas import common_area
from backend.audit.service import TransitionFacts, append_raw, batch_record
from backend.config import now_utc
from backend.custody.service import insert_events as insert_custody
from backend.db import RawDb
from backend.incidents.service import IncidentRules, record_reports
from backend.intake.validate import Accepted, Item, Rejected
from backend.positions.service import fixes_of, store_fixes
from backend.tps import rollup
from backend.tps.models import PING_INDEX_KEY
from backend.tps.state import PingFacts, StateRow, TpsChange, merge_all
from schemas.enums import (
    CUSTODY_PHASE,
    FLAG_BITS,
    AckResult,
    EventFlag,
    Phase,
    Situation,
    flags_to_list,
)
from schemas.events import CustodyIn, IncidentIn, PingIn

# Multi-row INSERT keeps a batch to a few statements; 400 rows x 12 columns stays under every
# driver's parameter limit.
_CHUNK = 400

_PING_COLS = (
    "event_id, officer_id, tps_id, phase, situation, device_time, received_at, "
    "lat, lon, note, flags, source"
)
_PING_ROW = "(?,?,?,?,?,?,?,?,?,?,?,?)"
_STATE_COLS = (
    "tps_id, phase_rank, phase_at, postponed_at, situation, situation_at, "
    "last_seen_at, last_received_at, last_officer_id, version, "
    "claimed_rank, claimed_at, claimed_officer_id, corrected_at"
)
_UNASSIGNED = FLAG_BITS[EventFlag.UNASSIGNED]
_BEFORE_CORRECTION = FLAG_BITS[EventFlag.BEFORE_CORRECTION]


@dataclass(slots=True)
class AuthFailureRecord:
    """A refused credential to be recorded."""

    at: datetime
    remote: str | None
    path: str
    reason: str
    prefix: str | None


@dataclass(slots=True)
class BatchOutcome:
    """What a committed batch did: one ack per item, and what changed for the live stream."""

    acks: list[dict[str, Any]]
    tps_changes: list[TpsChange] = field(default_factory=list)
    incident_ids: list[int] = field(default_factory=list)
    sos: bool = False  # an officer's SOS was stored: the sweeper must raise its alarm now
    transitions: list[TransitionFacts] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0  # time the commit took, retries included


def _ack(item: Item, result: AckResult) -> dict[str, Any]:
    if isinstance(item, Rejected):
        return {
            "type": "ack",
            "event_id": item.event_id,
            "result": "rejected",
            "error": {"field": item.field, "reason": item.reason},
        }
    ack: dict[str, Any] = {"type": "ack", "event_id": str(item.event.event_id), "result": result}
    if item.flags:
        ack["flags"] = flags_to_list(item.flags)
    return ack


def _insert_returning_keys(
    db: RawDb, table: str, cols: str, row: str, rows: list[tuple[Any, ...]]
) -> set[Any]:
    """Insert rows, skipping event ids already stored; return the bound keys actually inserted."""
    if (
        db.is_sqlite
        and rows
        and db.insert_all_new(
            f"INSERT INTO {table} ({cols}) VALUES {row} ON CONFLICT (event_id) DO NOTHING", rows
        )
    ):
        return {r[0] for r in rows}  # every row went in: no event id was stored before
    inserted: set[Any] = set()
    cur = db.conn.cursor()
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i : i + _CHUNK]
        sql = db.sql(
            f"INSERT INTO {table} ({cols}) VALUES {','.join([row] * len(chunk))} "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        )
        cur.execute(sql, [v for r in chunk for v in r])
        inserted.update(r[0] for r in cur.fetchall())
    cur.close()
    return inserted


def _read_states(
    db: RawDb, tps_ids: list[int], cache: dict[int, StateRow] | None
) -> dict[int, StateRow]:
    out: dict[int, StateRow] = {}
    if cache is not None:
        # The single SQLite writer remembers what it last wrote; the compare-and-set in
        # _write_states still catches anyone else who changed a row since.
        out = {t: cache[t] for t in tps_ids if t in cache}
        tps_ids = [t for t in tps_ids if t not in out]
    cur = db.conn.cursor()
    for i in range(0, len(tps_ids), 900):
        ids = tps_ids[i : i + 900]
        # FOR UPDATE: nodes writing the same TPS at once queue here instead of losing a merge.
        lock = "" if db.is_sqlite else " ORDER BY tps_id FOR UPDATE"
        cur.execute(
            db.sql(
                f"SELECT {_STATE_COLS} FROM tps_state "
                f"WHERE tps_id IN ({','.join('?' * len(ids))}){lock}"
            ),
            ids,
        )
        for r in cur.fetchall():
            out[r[0]] = StateRow(
                tps_id=r[0],
                phase_rank=r[1],
                phase_at=db.read_time(r[2]),
                postponed_at=db.read_time(r[3]),
                situation=Situation(r[4]) if r[4] is not None else None,
                situation_at=db.read_time(r[5]),
                last_seen_at=db.read_time(r[6]),
                last_received_at=db.read_time(r[7]),
                last_officer_id=r[8],
                version=r[9],
                claimed_rank=r[10],
                claimed_at=db.read_time(r[11]),
                claimed_officer_id=r[12],
                corrected_at=db.read_time(r[13]),
            )
    missing = [t for t in tps_ids if t not in out]
    if missing:
        # Registry writes create every state row; this only heals a TPS added by hand.
        cur.executemany(
            db.sql(
                "INSERT INTO tps_state (tps_id, phase_rank, claimed_rank, version) "
                "VALUES (?, -1, -1, 0) "
                "ON CONFLICT (tps_id) DO NOTHING"
            ),
            [(t,) for t in missing],
        )
        out.update({t: StateRow(tps_id=t) for t in missing})
    cur.close()
    return out


class StaleStateError(RuntimeError):
    """A compare-and-set on tps_state found another version: the batch is retried."""


def _write_states(db: RawDb, changes: list[TpsChange]) -> None:
    if not changes:
        return
    params = []
    marked = db.time(now_utc())  # the alert sweeper's change mark (real time)
    for c in changes:
        a = c.after
        phase = a.phase
        params.append(
            (
                phase.value if phase is not None else None,
                a.phase_rank,
                db.time(a.phase_at),
                db.time(a.postponed_at),
                a.situation.value if a.situation is not None else None,
                db.time(a.situation_at),
                db.time(a.last_seen_at),
                db.time(a.last_received_at),
                a.last_officer_id,
                a.claimed_rank,
                db.time(a.claimed_at),
                a.claimed_officer_id,
                db.time(a.corrected_at),
                a.version,
                marked,
                a.tps_id,
                c.before.version,
            )
        )
    cur = db.conn.cursor()
    # Compare-and-set: the WHERE names the version we merged into, so a concurrent writer's
    # merge is never overwritten; a mismatch aborts the batch and it is merged again.
    cur.executemany(
        db.sql(
            "UPDATE tps_state SET phase=?, phase_rank=?, phase_at=?, postponed_at=?, situation=?, "
            "situation_at=?, last_seen_at=?, last_received_at=?, last_officer_id=?, "
            "claimed_rank=?, claimed_at=?, claimed_officer_id=?, corrected_at=?, version=?, "
            "changed_at=? WHERE tps_id=? AND version=?"
        ),
        params,
    )
    if cur.rowcount != len(params):
        raise StaleStateError(f"{len(params) - cur.rowcount} TPS states changed underneath")
    cur.close()
    # The counts per kecamatan x phase x situation move in the same transaction as the states.
    rollup.apply(
        db,
        rollup.rollup_deltas(
            (
                c.kecamatan_code,
                _rollup_key(c.kecamatan_code, c.before),
                _rollup_key(c.kecamatan_code, c.after),
            )
            for c in changes
            if c.kecamatan_code
        ),
    )


_rollup_key = rollup.state_key


def _write_transitions(db: RawDb, changes: list[TpsChange]) -> list[TransitionFacts]:
    """Insert the phase and situation changes; return them with their ids (for the audit)."""
    rows: list[tuple[int, str, str | None, str, datetime, datetime, int | None]] = []
    for c in changes:
        b, a = c.before, c.after
        received = a.last_received_at
        assert received is not None
        if a.phase != b.phase and a.phase is not None:
            at = a.postponed_at if a.phase is Phase.DITUNDA else a.phase_at
            assert at is not None
            rows.append(
                (
                    a.tps_id,
                    "phase",
                    b.phase.value if b.phase else None,
                    a.phase.value,
                    at,
                    received,
                    a.last_officer_id,
                )
            )
        if a.situation != b.situation and a.situation is not None:
            assert a.situation_at is not None
            rows.append(
                (
                    a.tps_id,
                    "situation",
                    b.situation.value if b.situation else None,
                    a.situation.value,
                    a.situation_at,
                    received,
                    a.last_officer_id,
                )
            )
    if not rows:
        return []
    out: list[TransitionFacts] = []
    by_key = {(r[0], r[1]): r for r in rows}
    cur = db.conn.cursor()
    fmt = db.time
    # Multi-row INSERT ... RETURNING: each row's id comes back with its (tps, kind), which is
    # unique within a batch, so the audit digest can name exactly these rows.
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i : i + _CHUNK]
        cur.execute(
            db.sql(
                "INSERT INTO tps_transition (tps_id, kind, before, after, at, received_at, "
                f"officer_id) VALUES {','.join(['(?,?,?,?,?,?,?)'] * len(chunk))} "
                "RETURNING id, tps_id, kind"
            ),
            [v for r in chunk for v in (r[0], r[1], r[2], r[3], fmt(r[4]), fmt(r[5]), r[6])],
        )
        for tid, tps_id, kind in cur.fetchall():
            r = by_key[(tps_id, kind)]
            out.append((tid, *r))
    cur.close()
    return out


def _touch_officers(db: RawDb, events: list[Accepted]) -> None:
    latest: dict[int, Accepted] = {}
    for a in events:
        cur_best = latest.get(a.officer_id)
        if cur_best is None or a.effective_at > cur_best.effective_at:
            latest[a.officer_id] = a
    if not latest:
        return
    params = []
    marked = db.time(now_utc())  # the alert sweeper's change mark (real time)
    for oid, a in sorted(latest.items()):  # officer rows locked in id order on every node
        offset = (a.event.device_time - a.received_at).total_seconds()
        t, r = db.time(a.effective_at), db.time(a.received_at)
        params.append((t, t, r, r, round(offset, 3), marked, oid))
    cur = db.conn.cursor()
    # Merge by max, like TPS state: a late replay never makes an officer look quieter.
    cur.executemany(
        db.sql(
            "UPDATE officer SET "
            "last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at < ? "
            "THEN ? ELSE last_seen_at END, "
            "last_received_at = CASE WHEN last_received_at IS NULL OR last_received_at < ? "
            "THEN ? ELSE last_received_at END, "
            "clock_offset_s = ?, changed_at = ? WHERE id = ?"
        ),
        params,
    )
    cur.close()


def _dead_letters(db: RawDb, rejected: list[Rejected]) -> None:
    if not rejected:
        return
    cur = db.conn.cursor()
    cur.executemany(
        db.sql(
            "INSERT INTO dead_letter (received_at, source, officer_id, remote, event_id, field, "
            "reason, size, payload) VALUES (?,?,?,?,?,?,?,?,?)"
        ),
        [
            (
                db.time(r.received_at),
                r.source,
                r.officer_id,
                r.remote,
                r.event_id,
                r.field[:64],
                r.reason[:500],
                r.size,
                r.payload,
            )
            for r in rejected
        ],
    )
    cur.close()


def _auth_failures(db: RawDb, failures: list[AuthFailureRecord]) -> None:
    if not failures:
        return
    cur = db.conn.cursor()
    cur.executemany(
        db.sql("INSERT INTO auth_failure (at, remote, path, reason, prefix) VALUES (?,?,?,?,?)"),
        [(db.time(f.at), f.remote, f.path[:200], f.reason[:200], f.prefix) for f in failures],
    )
    cur.close()


def _index_new_pings(db: RawDb, keys: list[Any]) -> None:
    if not keys:
        return
    cur = db.conn.cursor()
    cur.execute(
        db.sql(
            "INSERT INTO ping_by_tps (tps_id, device_time, ping_id) "
            "SELECT tps_id, device_time, id FROM ping WHERE event_id = ANY(?) "
            "ON CONFLICT DO NOTHING"
        ),
        (keys,),
    )
    cur.close()


def index_pings(db: RawDb, limit: int) -> int:
    """Append up to `limit` not yet indexed pings to ping_by_tps, sorted; return how many.

    SQLite rewrites every B-tree page an insert touches; a per-TPS index fed ping by ping
    dirties up to one page per TPS per commit. Fed in sorted bulk once a second, each page is
    written once for hundreds of pings. Runs on the writer's connection (one writer).
    """
    cur = db.conn.cursor()
    cur.execute("SELECT value FROM meta WHERE key = ?", (PING_INDEX_KEY,))
    row = cur.fetchone()
    upto = int(row[0]) if row else 0
    cur.execute("SELECT max(id) FROM ping WHERE id <= ?", (upto + limit,))
    top = cur.fetchone()[0]
    if top is None or top <= upto:
        cur.close()
        return 0
    cur.execute(
        "INSERT INTO ping_by_tps (tps_id, device_time, ping_id) "
        "SELECT tps_id, device_time, id FROM ping WHERE id > ? AND id <= ? "
        "ORDER BY tps_id, device_time, id",
        (upto, top),
    )
    n = cur.rowcount
    cur.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (PING_INDEX_KEY, str(top)),
    )
    cur.close()
    return int(n)


def _flag_before_correction(
    db: RawDb,
    pings: list[tuple[int, Accepted]],
    keys: list[Any],
    inserted: set[Any],
    corrected: dict[int, datetime],
    table: str = "ping",
) -> None:
    """Flag stored events older than their TPS's correction (rare: only corrected TPS pay)."""
    rows = []
    for (_, a), k in zip(pings, keys, strict=True):
        at = corrected.get(a.tps.id) if a.tps is not None else None
        if at is not None and k in inserted and a.effective_at < at:
            a.flags |= _BEFORE_CORRECTION  # the ack says so too
            rows.append((a.flags, k))
    if rows:
        cur = db.conn.cursor()
        cur.executemany(db.sql(f"UPDATE {table} SET flags = ? WHERE event_id = ?"), rows)
        cur.close()


@dataclass(slots=True)
class _NewPings:
    """What inserting a batch's pings found: which were new, and their facts per TPS."""

    keys: list[Any]  # each ping's event id as bound, in the batch's order
    inserted: set[Any]  # the keys stored now (the rest were duplicates)
    facts: dict[int, list[PingFacts]]  # TPS id -> the new pings' (and custody steps') facts
    kecamatan_of: dict[int, str]
    custody: list[tuple[int, Accepted]] = field(default_factory=list)
    custody_keys: list[Any] = field(default_factory=list)
    custody_inserted: set[Any] = field(default_factory=set)


def _insert_pings(
    db: RawDb,
    pings: list[tuple[int, Accepted]],
    results: list[AckResult],
    stored_events: list[Accepted],
) -> _NewPings:
    """Insert pings (unique event id: stored or duplicate) and gather the new ones' facts."""
    fmt = db.time
    key = db.uuid
    rows = []
    keys = []
    last_received: datetime | None = None
    received_s: Any = None
    for _, a in pings:
        e = a.event
        assert isinstance(e, PingIn) and a.tps is not None
        if a.received_at is not last_received:  # one frame's events share one receive time
            last_received, received_s = a.received_at, fmt(a.received_at)
        k = key(e.event_id)
        keys.append(k)
        # StrEnum members bind as their string value; no .value lookups on the hot path.
        rows.append(
            (
                k,
                a.officer_id,
                a.tps.id,
                e.phase,
                e.situation,
                fmt(e.device_time),
                received_s,
                e.lat,
                e.lon,
                e.note,
                a.flags,
                a.source,
            )
        )
    if not db.is_sqlite:
        # Rows locked in event-id order on every node: two nodes storing the same events in
        # different orders would otherwise each wait for the other's uncommitted insert.
        rows.sort(key=lambda r: r[0])
    inserted = _insert_returning_keys(db, "ping", _PING_COLS, _PING_ROW, rows)
    new = _NewPings(keys, inserted, defaultdict(list), {})
    for (i, a), k in zip(pings, keys, strict=True):
        if k in inserted:
            e = a.event
            assert isinstance(e, PingIn) and a.tps is not None
            results[i] = AckResult.STORED
            stored_events.append(a)
            # Not assigned to this TPS: the phase it reports is a claim (see tps/state.py).
            new.facts[a.tps.id].append(
                PingFacts(
                    a.effective_at,
                    a.received_at,
                    e.phase,
                    e.situation,
                    a.officer_id,
                    bool(a.flags & _UNASSIGNED),
                )
            )
            new.kecamatan_of[a.tps.id] = a.tps.kecamatan_code
        else:
            results[i] = AckResult.DUPLICATE
    return new


def _insert_custody(
    db: RawDb,
    steps: list[tuple[int, Accepted]],
    results: list[AckResult],
    stored_events: list[Accepted],
    new: _NewPings,
) -> None:
    """Insert custody steps (once by event id) and fold the new ones into the TPS merge.

    A step proves the phase its TPS has reached at least (`CUSTODY_PHASE`): sealed boxes mean
    counting is over, and so on. It joins the pings' merge as a ping with that phase and no
    situation, so the same rules hold: never back, any order, claims for the unassigned.
    """
    keys, inserted = insert_custody(db, [a for _, a in steps])
    new.custody, new.custody_keys, new.custody_inserted = steps, keys, inserted
    for (i, a), k in zip(steps, keys, strict=True):
        if k not in inserted:
            results[i] = AckResult.DUPLICATE
            continue
        e = a.event
        assert isinstance(e, CustodyIn) and a.tps is not None
        results[i] = AckResult.STORED
        stored_events.append(a)
        new.facts[a.tps.id].append(
            PingFacts(
                a.effective_at,
                a.received_at,
                CUSTODY_PHASE[e.step],
                None,
                a.officer_id,
                bool(a.flags & _UNASSIGNED),
            )
        )
        new.kecamatan_of[a.tps.id] = a.tps.kecamatan_code


def _pings_to_states(
    db: RawDb,
    pings: list[tuple[int, Accepted]],
    new: _NewPings,
    outcome: BatchOutcome,
    cache: dict[int, StateRow] | None,
) -> None:
    """Where a ping becomes a TPS state change: merge, compare-and-set, transitions, rollup."""
    before = _read_states(db, sorted(new.facts), cache)
    corrected: dict[int, datetime] = {}
    for tps_id, facts in new.facts.items():
        old = before.get(tps_id) or StateRow(tps_id=tps_id)
        if old.corrected_at is not None:
            corrected[tps_id] = old.corrected_at
        merged = merge_all(old, facts)
        if merged != old:
            outcome.tps_changes.append(TpsChange(old, merged, new.kecamatan_of[tps_id]))
    if corrected:
        _flag_before_correction(db, pings, new.keys, new.inserted, corrected)
        if new.custody:
            _flag_before_correction(
                db, new.custody, new.custody_keys, new.custody_inserted, corrected, "custody_event"
            )
    _write_states(db, outcome.tps_changes)  # and their counts in tps_rollup
    outcome.transitions = _write_transitions(db, outcome.tps_changes)


def store_batch(
    db: RawDb,
    items: list[Item],
    *,
    rules: IncidentRules,
    auth_failures: list[AuthFailureRecord] | None = None,
    state_cache: dict[int, StateRow] | None = None,
) -> BatchOutcome:
    """Store a batch in one transaction and return one ack per item (the caller commits).

    `state_cache` (single writer only) holds TPS states as last committed; the caller
    updates it after the commit and clears it after any failure.
    """
    results: list[AckResult] = [AckResult.REJECTED] * len(items)
    first_seen: dict[uuid.UUID, int] = {}
    pings: list[tuple[int, Accepted]] = []
    reports: list[tuple[int, Accepted]] = []
    custody: list[tuple[int, Accepted]] = []
    rejected: list[Rejected] = []
    for i, item in enumerate(items):
        if isinstance(item, Rejected):
            rejected.append(item)
            continue
        eid = item.event.event_id
        if eid in first_seen:
            results[i] = AckResult.DUPLICATE  # repeated inside this very batch
            continue
        first_seen[eid] = i
        e = item.event
        kind = pings if isinstance(e, PingIn) else custody if isinstance(e, CustodyIn) else reports
        kind.append((i, item))

    outcome = BatchOutcome(acks=[])
    stored_events: list[Accepted] = []

    if pings or custody:
        new = _insert_pings(db, pings, results, stored_events)
        if custody:  # the boxes' custody steps move the TPS in the same merge
            _insert_custody(db, custody, results, stored_events, new)
        if new.facts:
            _pings_to_states(db, pings, new, outcome, state_cache)
            if not db.is_sqlite and new.inserted:
                # PostgreSQL maintains the per-TPS lookup in the same transaction (its index
                # inserts are cheap); SQLite's is written in bulk by index_pings, see there.
                _index_new_pings(db, list(new.inserted))

    recorded: list[tuple[int, str, int, bool]] = []
    if reports:
        new_ids, incident_ids = record_reports(
            db, [a for _, a in reports], rules=rules, recorded=recorded
        )
        outcome.incident_ids = incident_ids
        for i, a in reports:
            assert isinstance(a.event, IncidentIn)
            if a.event.event_id in new_ids:
                results[i] = AckResult.STORED
                stored_events.append(a)
                outcome.sos = outcome.sos or a.event.sos
            else:
                results[i] = AckResult.DUPLICATE

    _touch_officers(db, stored_events)
    store_fixes(db, fixes_of(stored_events))  # located pings and reports: the officers' map
    _dead_letters(db, rejected)
    _auth_failures(db, auth_failures or [])
    if outcome.transitions or recorded:
        # Last in the transaction: the audit append holds the chain's head until the commit.
        at = max(a.received_at for a in stored_events)
        # The batch's area: the narrowest one holding every kabupaten it stored events of.
        area = common_area(a.kabupaten_code for a in stored_events)
        record = batch_record(
            at=at, transitions=outcome.transitions, reports=recorded, area_code=area
        )
        append_raw(db, [record])

    outcome.acks = [_ack(item, res) for item, res in zip(items, results, strict=True)]
    outcome.stored = sum(1 for r in results if r is AckResult.STORED)
    outcome.duplicates = sum(1 for r in results if r is AckResult.DUPLICATE)
    outcome.rejected = len(rejected)
    return outcome
