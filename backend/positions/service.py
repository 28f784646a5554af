"""Officers' position fixes: check, store (deduplicated), read by area; tracker keys."""

import hashlib
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from backend.areas import kabupaten_in
from backend.audit.service import AuditRecord, append
from backend.db import RawDb
from backend.officers.models import Assignment, Officer, Unit
from backend.positions.models import OfficerLastFix, OfficerPosition, TrackerKey
from backend.tps.models import Tps

if TYPE_CHECKING:
    from backend.intake.validate import Accepted
    from backend.positions.writer import PositionWriter

SOURCES = frozenset({"traccar", "owntracks", "lapor", "whatsapp", "telegram", "ping"})
KEY_MIN_LEN = 12  # a bound Traccar id: its default 8 digits are guessable, so refused
_CHUNK = 400  # rows per multi-row INSERT: 400 x 11 parameters stays under every driver's limit
_POS_COLS = (
    "officer_id, device_time, lat, lon, received_at, accuracy_m, speed_ms, heading, "
    "altitude_m, battery, source"
)
_LAST_COLS = "officer_id, device_time, received_at, lat, lon, accuracy_m, speed_ms, battery, source"


@dataclass(frozen=True, slots=True)
class Fix:
    """One position of one officer, with what the device said about it."""

    officer_id: int
    device_time: datetime
    lat: float
    lon: float
    received_at: datetime
    source: str
    accuracy_m: float | None = None
    speed_ms: float | None = None
    heading: float | None = None
    altitude_m: float | None = None
    battery: float | None = None  # percent


class FixRefused(ValueError):
    """A fix that is not stored: the field at fault and why (kept as a dead letter)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _finite(value: float | None) -> bool:
    return value is None or math.isfinite(value)


def check_fix(fix: Fix, *, now: datetime, max_future_s: float, max_age_s: float) -> None:
    """Raise FixRefused unless the fix is a plausible position at a plausible time."""
    if fix.source not in SOURCES:
        raise FixRefused("source", f"unknown source {fix.source!r}")
    if not (math.isfinite(fix.lat) and -90 <= fix.lat <= 90):
        raise FixRefused("lat", "must be a number from -90 to 90")
    if not (math.isfinite(fix.lon) and -180 <= fix.lon <= 180):
        raise FixRefused("lon", "must be a number from -180 to 180")
    if fix.lat == 0 and fix.lon == 0:
        raise FixRefused("lat", "0,0 is a phone without a fix, not a position")
    if (fix.device_time - now).total_seconds() > max_future_s:
        raise FixRefused("timestamp", "more than the allowed limit in the future")
    if (now - fix.device_time).total_seconds() > max_age_s:
        raise FixRefused("timestamp", "older than the allowed limit")
    for name in ("accuracy_m", "speed_ms", "heading", "altitude_m"):
        if not _finite(getattr(fix, name)):
            raise FixRefused(name, "must be a finite number")
    if fix.battery is not None and not (math.isfinite(fix.battery) and 0 <= fix.battery <= 100):
        raise FixRefused("batt", "must be a percentage from 0 to 100")


async def record_fix(
    writer: "PositionWriter",
    *,
    officer_id: int,
    device_time: datetime,
    lat: float,
    lon: float,
    received_at: datetime,
    source: str,
    accuracy_m: float | None = None,
    speed_ms: float | None = None,
    battery: float | None = None,
) -> bool:
    """Store one fix of an officer and wait for its commit; True if new, False if a duplicate.

    Raises FixRefused (field, reason) for an implausible fix and intake's StorageUnavailable
    when it could not be committed (nothing stored: the sender may retry).
    """
    fix = Fix(
        officer_id=officer_id,
        device_time=device_time,
        lat=lat,
        lon=lon,
        received_at=received_at,
        source=source,
        accuracy_m=accuracy_m,
        speed_ms=speed_ms,
        battery=battery,
    )
    writer.check(fix, now=received_at)
    return (await writer.submit([fix]))[0]


def fixes_of(events: Iterable["Accepted"]) -> list[Fix]:
    """The newest located event of each officer in an intake batch, as fixes.

    One per officer per commit keeps intake's hot path lean however fast a phone sends; the
    phone app pings every few minutes, so in practice every located ping is kept.
    """
    newest: dict[int, Accepted] = {}
    for a in events:
        e = a.event
        if e.lat is None or e.lon is None or (e.lat == 0 and e.lon == 0):
            continue
        best = newest.get(a.officer_id)
        if best is None or e.device_time > best.event.device_time:
            newest[a.officer_id] = a
    out = []
    for a in newest.values():
        e = a.event
        assert e.lat is not None and e.lon is not None
        out.append(
            Fix(
                officer_id=a.officer_id,
                device_time=e.device_time,
                lat=e.lat,
                lon=e.lon,
                received_at=a.received_at,
                source="ping" if e.type == "ping" else "lapor",
            )
        )
    return out


def _key(db: RawDb, f: Fix) -> tuple[Any, ...]:
    return (f.officer_id, db.time(f.device_time), f.lat, f.lon)


def store_fixes(db: RawDb, fixes: Sequence[Fix]) -> list[bool]:
    """Insert fixes, skipping ones already stored; move each officer's latest fix forward.

    Returns, per fix, whether it was new. Runs inside the caller's transaction.
    """
    if not fixes:
        return []
    keys = [_key(db, f) for f in fixes]
    first: dict[tuple[Any, ...], Fix] = {}
    for k, f in zip(keys, fixes, strict=True):
        first.setdefault(k, f)
    # Officer-then-time order: PostgreSQL nodes lock the same keys in the same order.
    rows = sorted(first.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3]))
    inserted: set[tuple[Any, ...]] = set()
    cur = db.conn.cursor()
    fmt = db.time
    params = [
        (
            f.officer_id,
            k[1],
            f.lat,
            f.lon,
            fmt(f.received_at),
            f.accuracy_m,
            f.speed_ms,
            f.heading,
            f.altitude_m,
            f.battery,
            f.source,
        )
        for k, f in rows
    ]
    if db.is_sqlite and db.insert_all_new(
        f"INSERT INTO officer_position ({_POS_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT DO NOTHING",
        params,
    ):
        inserted = {k for k, _ in rows}  # every fix went in (keys as bound: as RETURNING says)
    else:
        for i in range(0, len(params), _CHUNK):
            chunk = params[i : i + _CHUNK]
            cur.execute(
                db.sql(
                    f"INSERT INTO officer_position ({_POS_COLS}) VALUES "
                    f"{','.join(['(?,?,?,?,?,?,?,?,?,?,?)'] * len(chunk))} "
                    "ON CONFLICT DO NOTHING RETURNING officer_id, device_time, lat, lon"
                ),
                [v for r in chunk for v in r],
            )
            inserted.update((r[0], r[1], r[2], r[3]) for r in cur.fetchall())
    newest: dict[int, Fix] = {}
    for k, f in rows:
        if k in inserted:
            best = newest.get(f.officer_id)
            if best is None or f.device_time > best.device_time:
                newest[f.officer_id] = f
    if newest:
        # Merge by max of device time, like TPS state: a queue drained late (Traccar sends its
        # oldest first) never moves an officer back on the map.
        cur.executemany(
            db.sql(
                f"INSERT INTO officer_last_fix ({_LAST_COLS}) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (officer_id) DO UPDATE SET device_time = excluded.device_time, "
                "received_at = excluded.received_at, lat = excluded.lat, lon = excluded.lon, "
                "accuracy_m = excluded.accuracy_m, speed_ms = excluded.speed_ms, "
                "battery = excluded.battery, source = excluded.source "
                "WHERE excluded.device_time > officer_last_fix.device_time"
            ),
            [
                (
                    f.officer_id,
                    fmt(f.device_time),
                    fmt(f.received_at),
                    f.lat,
                    f.lon,
                    f.accuracy_m,
                    f.speed_ms,
                    f.battery,
                    f.source,
                )
                for _, f in sorted(newest.items())
            ],
        )
    cur.close()
    seen: set[tuple[Any, ...]] = set()
    out = []
    for k in keys:
        out.append(k in inserted and k not in seen)
        seen.add(k)
    return out


# --- tracker keys -------------------------------------------------------------------------


def hash_key(key: str) -> str:
    """SHA-256 of a tracker key (keys carry 120 random bits: nothing to brute-force)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh tracker key: 24 characters a person can type into an app's settings."""
    # Lower-case letters and digits only: typed on a phone keyboard, no symbol page needed.
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(24))


class TrackerError(ValueError):
    """A tracker key that cannot be bound (field, reason)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def bind_key(
    *, session: Session, nrp: str, key: str | None, actor: str, now: datetime
) -> tuple[Officer, str]:
    """Bind a tracker key (given, or made here) to an officer, revoking his earlier ones.

    Returns the officer and the key (shown once; only its hash is kept). Audited.
    """
    officer = session.exec(select(Officer).where(col(Officer.nrp) == nrp)).first()
    if officer is None or officer.id is None:
        raise TrackerError("nrp", f"no officer with NRP {nrp}")
    if key is None:
        key = new_key()
    elif len(key) < KEY_MIN_LEN or not key.isascii() or not key.isprintable() or " " in key:
        raise TrackerError(
            "traccar",
            f"a tracker id needs at least {KEY_MIN_LEN} printable ASCII characters without "
            "spaces (the app's default 8 digits can be guessed): leave it out to get one",
        )
    digest = hash_key(key)
    if session.exec(select(TrackerKey).where(col(TrackerKey.key_hash) == digest)).first():
        raise TrackerError("traccar", "this tracker id is already in use")
    revoked = []
    for old in session.exec(
        select(TrackerKey).where(
            col(TrackerKey.officer_id) == officer.id, col(TrackerKey.revoked_at).is_(None)
        )
    ):
        old.revoked_at = now
        session.add(old)
        revoked.append(old.id)
    row = TrackerKey(officer_id=officer.id, key_hash=digest, created_at=now, created_by=actor)
    session.add(row)
    session.flush()
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action="tracker.bind",
                subject_kind="officer",
                subject=officer.nrp,
                data={"tracker_key_id": row.id, "revoked": revoked, "sha256": digest},
                area_code=officer.kabupaten_code,
            )
        ],
    )
    session.commit()
    return officer, key


@dataclass(frozen=True, slots=True)
class TrackerOwner:
    """Whom a tracker key belongs to."""

    officer_id: int
    nrp: str
    kabupaten_code: str


def officer_for_key(*, session: Session, key: str) -> TrackerOwner | None:
    """The officer a live tracker key belongs to, or None."""
    row = session.exec(
        select(Officer.id, Officer.nrp, Officer.kabupaten_code)
        .join(TrackerKey, col(TrackerKey.officer_id) == col(Officer.id))
        .where(col(TrackerKey.key_hash) == hash_key(key), col(TrackerKey.revoked_at).is_(None))
    ).first()
    if row is None or row[0] is None:
        return None
    return TrackerOwner(row[0], row[1], row[2])


# --- reads --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfficerFix:
    """An officer's latest fix as the map shows it."""

    nrp: str
    name: str
    rank: str
    unit: str
    lat: float
    lon: float
    at: datetime
    received_at: datetime
    age_s: float
    battery: float | None
    accuracy_m: float | None
    speed_ms: float | None
    source: str
    is_stale: bool


def latest_in_area(
    *, session: Session, area_code: str | None, now: datetime, stale_s: float
) -> list[OfficerFix]:
    """The latest fix of every officer of an area (None: all) that has one, by NRP."""
    q = (
        select(OfficerLastFix, Officer, col(Unit.name))
        .join(Officer, col(Officer.id) == col(OfficerLastFix.officer_id))
        .join(Unit, col(Unit.id) == col(Officer.unit_id))
    )
    if area_code is not None:
        q = q.where(kabupaten_in(col(Officer.kabupaten_code), area_code))
    return [
        officer_fix(f, o, unit, now=now, stale_s=stale_s)
        for f, o, unit in session.exec(q.order_by(col(Officer.nrp)))
    ]


def officer_fix(
    f: OfficerLastFix | OfficerPosition, o: Officer, unit: str, *, now: datetime, stale_s: float
) -> OfficerFix:
    """One officer's fix as the map shows it, aged as of `now` (stale past `stale_s`)."""
    age = max(0.0, (now - f.device_time).total_seconds())
    return OfficerFix(
        nrp=o.nrp,
        name=o.name,
        rank=o.rank,
        unit=unit,
        lat=f.lat,
        lon=f.lon,
        at=f.device_time,
        received_at=f.received_at,
        age_s=age,
        battery=f.battery,
        accuracy_m=f.accuracy_m,
        speed_ms=f.speed_ms,
        source=f.source,
        is_stale=age > stale_s,
    )


def officer_in_area(*, session: Session, nrp: str, area_code: str | None) -> Officer | None:
    """An officer by NRP if he belongs to the area (None: any), else None."""
    q = select(Officer).where(col(Officer.nrp) == nrp)
    if area_code is not None:
        q = q.where(kabupaten_in(col(Officer.kabupaten_code), area_code))
    return session.exec(q).first()


def trail(
    *, session: Session, officer_id: int, since: datetime, until: datetime, limit: int
) -> list[OfficerPosition]:
    """An officer's fixes between two times in device-time order (the newest `limit`)."""
    rows = session.exec(
        select(OfficerPosition)
        .where(
            col(OfficerPosition.officer_id) == officer_id,
            col(OfficerPosition.device_time) >= since,
            col(OfficerPosition.device_time) < until,
        )
        .order_by(col(OfficerPosition.device_time).desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def fresh_per_kecamatan(
    *, session: Session, area_code: str | None, now: datetime, stale_s: float
) -> dict[str, int]:
    """Officers with a fresh fix, counted in each kecamatan they hold an assigned TPS in."""
    q = (
        select(Tps.kecamatan_code, Assignment.officer_id)
        .join(Assignment, col(Assignment.tps_id) == col(Tps.id))
        .join(OfficerLastFix, col(OfficerLastFix.officer_id) == col(Assignment.officer_id))
        .where(col(OfficerLastFix.device_time) >= now - timedelta(seconds=stale_s))
        .distinct()
    )
    if area_code is not None:
        q = q.where(kabupaten_in(col(Tps.kabupaten_code), area_code))
    counts: dict[str, int] = {}
    for kec, _ in session.exec(q):
        counts[kec] = counts.get(kec, 0) + 1
    return counts


def last_fix_at(*, session: Session, officer_id: int) -> datetime | None:
    """When (device time) an officer's newest fix was taken, or None."""
    row = session.get(OfficerLastFix, officer_id)
    return None if row is None else row.device_time
