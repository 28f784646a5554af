"""Store a registry (replace it whole, in one transaction) and count what is stored.

Replacing is refused while election data exists: pings, incident reports, the incidents they
make up (with their steps) and the TPS transitions they caused point at TPS and officers, and
losing them on election day would be a disaster. With `erase_election_data=True` they are
deleted first, so that every foreign key still holds afterwards, and the audit chain starts over
(backend/audit/epoch.py): its intake entries vouch for exactly those rows, so it could never
verify again; the new chain's first entry records what was erased and the old chain's head.
Whether erasing or not, a replacement also:

- deletes credentials that belong to officers (device tokens): the new registry has new officers,
  and a token must never silently start speaking for a different person; person, kiosk and
  session credentials stay;
- detaches dead letters from officers (officer_id set to NULL); the refused payloads stay;
- appends a `registry.replaced` audit entry saying who did it and what was written.

Every write bumps `REGISTRY_STAMP` so running servers reload their caches.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import delete, func, insert, text, update
from sqlmodel import Session, col, select

from backend.audit.epoch import start_new_chain
from backend.audit.models import AuditEntry
from backend.audit.service import SYSTEM, AuditRecord, append
from backend.auth.models import Credential
from backend.channels.models import ChannelMessage, ChannelSender
from backend.config import now_utc
from backend.custody.models import CustodyEvent, PpkPlace
from backend.incidents.models import Incident, IncidentReport, IncidentStepRow
from backend.intake.models import DeadLetter, Ping, PingByTps
from backend.meta import REGISTRY_STAMP, set_value
from backend.officers.models import Assignment, Officer, Unit, UnitKecamatan
from backend.positions.models import OfficerLastFix, OfficerPosition, TrackerKey
from backend.regions.models import Region
from backend.registry.records import (
    AssignmentRecord,
    OfficerRecord,
    RegionRecord,
    Registry,
    TpsRecord,
    UnitRecord,
)
from backend.reports.models import SituationReport
from backend.tps.models import Tps, TpsState, TpsTransition
from backend.tps.rollup import rebuild as rebuild_rollup
from schemas.enums import RegionLevel, RiskRating, UnitKind

# Rows per executemany call: bounded memory at national scale, still few round trips.
CHUNK = 5000


class RegistryInUseError(RuntimeError):
    """Election data refers to the registry: it may not be replaced without erasing that data."""

    def __init__(self, election_data: dict[str, int], audit_entries: int) -> None:
        rows = ", ".join(f"{n} {table}" for table, n in election_data.items())
        super().__init__(
            f"the database holds election data ({rows} rows) that refers to the current "
            f"registry; replacing it would erase that data and the audit chain "
            f"({audit_entries} entries)"
        )
        self.election_data = election_data
        self.audit_entries = audit_entries


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a registry write stored and removed."""

    regions: int
    units: int
    tps: int
    officers: int
    assignments: int
    erased: dict[str, int]  # election data rows erased, by table (empty unless erasing)
    removed_credentials: int
    stamp: str
    previous_chain: int | None  # entries of the audit chain that ended, if it started over


@dataclass(frozen=True)
class RegistrySummary:
    """Counts of the stored registry, for the CLI and health pages."""

    regions: dict[RegionLevel, int]
    tps_by_risk: dict[RiskRating, int]
    officers_by_unit: list[tuple[str, int]]
    units: dict[UnitKind, int]
    assignments: int

    @property
    def tps(self) -> int:
        """Total TPS."""
        return sum(self.tps_by_risk.values())

    @property
    def officers(self) -> int:
        """Total officers."""
        return sum(n for _, n in self.officers_by_unit)


def new_stamp() -> str:
    """A fresh, never-repeating registry stamp (time for people, random suffix for uniqueness)."""
    return f"{now_utc():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"


def bump_stamp(*, session: Session) -> str:
    """Set a new REGISTRY_STAMP (caller commits) and return it."""
    stamp = new_stamp()
    set_value(session=session, key=REGISTRY_STAMP, value=stamp)
    session.flush()
    return stamp


def lock_for_registry_change(*, session: Session) -> None:
    """Hold off intake writers until this transaction ends, so event counts stay true."""
    # Without the lock an event could be stored between "no events exist" and the deletes.
    # SQLite: the first write takes the database's single RESERVED lock; PostgreSQL: SHARE
    # mode conflicts with the ROW EXCLUSIVE lock every INSERT takes.
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(
            text("LOCK TABLE ping, incident_report, incident IN SHARE MODE")
        )
    else:
        bump_stamp(session=session)


# Tables of election-day data, in the order people think of them; incident steps go with their
# incidents (ON DELETE CASCADE), ping_by_tps is only an index of the pings.
ELECTION_DATA: tuple[Any, ...] = (
    Ping,
    IncidentReport,
    Incident,
    IncidentStepRow,
    TpsTransition,
    CustodyEvent,
    OfficerPosition,
)


def count_election_data(*, session: Session) -> dict[str, int]:
    """Rows of election-day data by table, only the tables that hold any."""
    counts = {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in ELECTION_DATA
    }
    return {table: n for table, n in counts.items() if n}


def count_audit_entries(*, session: Session) -> int:
    """Entries in the audit chain."""
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _copy_value(value: Any) -> Any:
    # Enums go in as the value the ORM stores (psycopg would dump an Enum's name).
    return value.value if isinstance(value, Enum) else value


def _insert(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows: COPY on PostgreSQL (~100k rows/s), executemany in chunks on SQLite."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        # Measured: the ORM's executemany ~750 rows/s per row round trip, COPY 70-100k rows/s;
        # a national registry is 1.6 million rows.
        cols = list(rows[0])
        # COPY skips the ORM's client-side defaults (phase_rank=-1, version=0 ...): add them.
        defaults = {
            c.name: c.default.arg
            for c in model.__table__.columns
            if c.name not in cols and c.default is not None and c.default.is_scalar
        }
        cols += list(defaults)
        rows = [{**defaults, **r} for r in rows] if defaults else rows
        table = model.__tablename__
        dbapi = session.connection().connection.driver_connection
        assert dbapi is not None
        with (
            dbapi.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row([_copy_value(row[c]) for c in cols])
        return
    for chunk in _chunks(rows):
        session.exec(insert(model), params=chunk)


def _region_row(r: RegionRecord) -> dict[str, Any]:
    return {
        "code": r.code,
        "name": r.name,
        "level": r.level,
        "parent_code": r.parent_code,
        "is_kelurahan": r.is_kelurahan,
        "lat": r.lat,
        "lon": r.lon,
    }


def tps_row(t: TpsRecord) -> dict[str, Any]:
    """Column values of a TPS record (without id)."""
    return {
        "code": t.code,
        "number": t.number,
        "desa_code": t.desa_code,
        "kecamatan_code": t.kecamatan_code,
        "kabupaten_code": t.kabupaten_code,
        "province_code": t.province_code,
        "lat": t.lat,
        "lon": t.lon,
        "voters": t.voters,
        "risk": t.risk,
    }


def _index_foreign_keys(*, session: Session, tables: Sequence[str]) -> list[str]:
    """PostgreSQL: index, for this transaction, every unindexed column referencing `tables`.

    Deleting a row runs one foreign-key check per referencing table; without an index each is a
    sequential scan, dead rows of this very transaction included. Replacing a national registry
    (128k officers checked against tps_state.last_officer_id, 435k rows) took over ten minutes;
    indexed, the checks are lookups. Returns the indexes to drop before the commit.
    """
    rows = session.execute(
        text(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 "
            "AND c.confrelid::regclass::text = ANY(:tables) AND NOT EXISTS ("
            "  SELECT 1 FROM pg_index i "
            "  WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])"
        ),
        {"tables": list(tables)},
    ).all()
    names = []
    for n, (table, column) in enumerate(sorted(set(rows))):
        name = f"posko_tmp_fk_{n}"
        session.execute(text(f'CREATE INDEX {name} ON {table} ("{column}")'))
        names.append(name)
    return names


def _delete_registry(*, session: Session, erase_election_data: bool) -> int:
    """Delete every registry row in foreign-key order; return the device credentials removed."""
    temporary: list[str] = []
    if session.get_bind().dialect.name == "postgresql":
        temporary = _index_foreign_keys(
            session=session, tables=["region", "unit", "officer", "tps", "incident"]
        )
    if erase_election_data:
        # Incident steps go with their incidents (ON DELETE CASCADE); ping_by_tps and the
        # transitions are what the pings made.
        for event_model in (
            IncidentReport,
            Ping,
            Incident,
            PingByTps,
            TpsTransition,
            CustodyEvent,
            OfficerPosition,
            OfficerLastFix,
        ):
            session.exec(delete(event_model))
        # Reports of that data go with it: their signatures' audit entries end with the chain.
        session.exec(delete(SituationReport))
    session.exec(
        update(DeadLetter).where(col(DeadLetter.officer_id).is_not(None)).values(officer_id=None)
    )
    # Chat messages stay for audit, unbound; a sender's phone number and a tracker's key were
    # bound to an officer of the old registry, so they go like the device credentials do.
    session.exec(
        update(ChannelMessage)
        .where(col(ChannelMessage.officer_id).is_not(None))
        .values(officer_id=None)
    )
    session.exec(delete(ChannelSender))
    session.exec(delete(TrackerKey))
    # A PPK place belongs to its kecamatan: write_registry puts back those still in the registry.
    session.exec(delete(PpkPlace))
    removed_credentials = (
        session.exec(delete(Credential).where(col(Credential.officer_id).is_not(None))).rowcount
        or 0
    )
    for model in (TpsState, Assignment, Officer, UnitKecamatan, Unit, Tps, Region):
        # Self-references (unit.parent_id, region.parent_code) are fine: one statement deletes
        # parent and child together, and constraints are checked at the statement's end.
        session.exec(delete(model))
    for name in temporary:
        session.execute(text(f"DROP INDEX {name}"))
    return removed_credentials


def insert_regions(*, session: Session, regions: Sequence[RegionRecord]) -> None:
    """Insert regions, parents before children."""
    order = {
        RegionLevel.PROVINSI: 0,
        RegionLevel.KABUPATEN: 1,
        RegionLevel.KECAMATAN: 2,
        RegionLevel.DESA: 3,
    }
    rows = [_region_row(r) for r in sorted(regions, key=lambda r: (order[r.level], r.code))]
    _insert(session, Region, rows)


def insert_units(*, session: Session, units: Sequence[UnitRecord]) -> dict[str, int]:
    """Insert units (parents first) and their kecamatan; return the id of every unit by code."""
    ids = unit_ids(session=session)
    pending = [u for u in units if u.code not in ids]
    while pending:
        ready = [u for u in pending if u.parent_code is None or u.parent_code in ids]
        if not ready:
            raise ValueError(
                f"unit parents missing: {sorted(u.parent_code or '' for u in pending)}"
            )
        _insert(
            session,
            Unit,
            [
                {
                    "code": u.code,
                    "name": u.name,
                    "kind": u.kind,
                    "parent_id": ids[u.parent_code] if u.parent_code else None,
                    "kabupaten_code": u.kabupaten_code,
                }
                for u in ready
            ],
        )
        ids = unit_ids(session=session)
        _insert(
            session,
            UnitKecamatan,
            [
                {"unit_id": ids[u.code], "kecamatan_code": k}
                for u in ready
                for k in u.kecamatan_codes
            ],
        )
        pending = [u for u in pending if u.code not in ids]
    return ids


def unit_ids(*, session: Session) -> dict[str, int]:
    """Unit id by unit code."""
    return {
        code: id_ for code, id_ in session.exec(select(col(Unit.code), col(Unit.id))).all() if id_
    }


def tps_ids(*, session: Session) -> dict[str, int]:
    """TPS id by TPS code."""
    return {
        code: id_ for code, id_ in session.exec(select(col(Tps.code), col(Tps.id))).all() if id_
    }


def officer_ids(*, session: Session) -> dict[str, int]:
    """Officer id by NRP."""
    rows = session.exec(select(col(Officer.nrp), col(Officer.id))).all()
    return {nrp: id_ for nrp, id_ in rows if id_ is not None}


def insert_tps(*, session: Session, tps: Sequence[TpsRecord]) -> dict[str, int]:
    """Insert TPS with one empty state row each; return the id of every TPS by code."""
    _insert(session, Tps, [tps_row(t) for t in tps])
    ids = tps_ids(session=session)
    _insert(session, TpsState, [{"tps_id": ids[t.code]} for t in tps])
    return ids


def insert_officers(
    *, session: Session, officers: Sequence[OfficerRecord], units: dict[str, int]
) -> dict[str, int]:
    """Insert officers; return the id of every officer by NRP."""
    _insert(
        session,
        Officer,
        [
            {
                "nrp": o.nrp,
                "name": o.name,
                "rank": o.rank,
                "unit_id": units[o.unit_code],
                "kabupaten_code": o.kabupaten_code,
            }
            for o in officers
        ],
    )
    return officer_ids(session=session)


def insert_assignments(
    *,
    session: Session,
    assignments: Sequence[AssignmentRecord],
    officers: dict[str, int],
    tps: dict[str, int],
) -> None:
    """Insert assignments given NRP and TPS code."""
    _insert(
        session,
        Assignment,
        [{"officer_id": officers[a.nrp], "tps_id": tps[a.tps_code]} for a in assignments],
    )


def write_registry(
    *,
    session: Session,
    registry: Registry,
    erase_election_data: bool = False,
    actor: str = SYSTEM,
    now: datetime | None = None,
) -> WriteResult:
    """Replace the stored registry with `registry` in one transaction (audited), and commit.

    Raises RegistryInUseError (and changes nothing) when election data exists and
    `erase_election_data` is off; with it, that data is erased and the audit chain starts over.
    """
    at = now or now_utc()
    try:
        lock_for_registry_change(session=session)
        erased = count_election_data(session=session)
        if erased and not erase_election_data:
            raise RegistryInUseError(erased, count_audit_entries(session=session))
        places = [p.model_dump() for p in session.exec(select(PpkPlace)).all()]
        removed_credentials = _delete_registry(session=session, erase_election_data=bool(erased))
        insert_regions(session=session, regions=registry.regions)
        codes = {r.code for r in registry.regions}
        _insert(session, PpkPlace, [p for p in places if p["kecamatan_code"] in codes])
        units = insert_units(session=session, units=registry.units)
        tps = insert_tps(session=session, tps=registry.tps)
        officers = insert_officers(session=session, officers=registry.officers, units=units)
        insert_assignments(
            session=session, assignments=registry.assignments, officers=officers, tps=tps
        )
        rebuild_rollup(session=session)
        stamp = bump_stamp(session=session)
        # The audit last: appending holds the chain's head until the commit.
        previous_chain = None
        if erased:
            previous_chain, _ = start_new_chain(
                session=session,
                at=at,
                actor=actor,
                reason="registry replaced with its election data erased",
                erased=erased,
            )
        written = {
            "regions": len(registry.regions),
            "units": len(registry.units),
            "tps": len(registry.tps),
            "officers": len(registry.officers),
            "assignments": len(registry.assignments),
        }
        append(
            session=session,
            records=[
                AuditRecord(
                    at=at,
                    actor=actor,
                    action="registry.replaced",
                    subject_kind="registry",
                    subject=stamp[:40],
                    data={**written, "device_credentials_removed": removed_credentials},
                )
            ],
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics now, not when autovacuum gets round to it: the planner's first
        # summaries over 435k TPS would otherwise guess from an empty table.
        session.execute(
            text("ANALYZE region, unit, tps, tps_state, tps_rollup, officer, assignment")
        )
        session.commit()
    return WriteResult(
        **written,
        erased=erased,
        removed_credentials=removed_credentials,
        stamp=stamp,
        previous_chain=previous_chain,
    )


def count_regions_by_level(*, session: Session) -> dict[RegionLevel, int]:
    """Number of regions per level (every level present, zero if none)."""
    rows = session.exec(select(col(Region.level), func.count()).group_by(col(Region.level))).all()
    found = {RegionLevel(level): n for level, n in rows}
    return {level: found.get(level, 0) for level in RegionLevel}


def count_tps_by_risk(*, session: Session) -> dict[RiskRating, int]:
    """Number of TPS per risk rating (every rating present, zero if none)."""
    rows = session.exec(select(col(Tps.risk), func.count()).group_by(col(Tps.risk))).all()
    found = {RiskRating(risk): n for risk, n in rows}
    return {risk: found.get(risk, 0) for risk in RiskRating}


def count_officers_by_unit(*, session: Session) -> list[tuple[str, int]]:
    """(unit name, officers) for every unit, the Polres first, then Polsek by name."""
    rows = session.exec(
        select(col(Unit.name), col(Unit.kind), func.count(col(Officer.id)))
        .select_from(Unit)
        .outerjoin(Officer, col(Officer.unit_id) == col(Unit.id))
        .group_by(col(Unit.id), col(Unit.name), col(Unit.kind))
    ).all()
    ordered = sorted(rows, key=lambda r: (r[1] != UnitKind.POLRES, r[0]))
    return [(name, n) for name, _, n in ordered]


def registry_summary(*, session: Session) -> RegistrySummary:
    """All registry counts at once."""
    units = session.exec(select(col(Unit.kind), func.count()).group_by(col(Unit.kind))).all()
    found_units = {UnitKind(kind): n for kind, n in units}
    return RegistrySummary(
        regions=count_regions_by_level(session=session),
        tps_by_risk=count_tps_by_risk(session=session),
        officers_by_unit=count_officers_by_unit(session=session),
        units={kind: found_units.get(kind, 0) for kind in UnitKind},
        assignments=session.scalar(select(func.count()).select_from(Assignment)) or 0,
    )
