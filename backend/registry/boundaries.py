"""Region outlines imported from GeoJSON, stored in the database and served to the map.

A Polres outside OKU Timur brings its own kabupaten, kecamatan and desa outlines as a GeoJSON
FeatureCollection (`posko registry boundaries import FILE.geojson`). The whole file is validated
before anything is written; every problem names the feature (`features[3]`, with its code when
known) and the field. Outlines are stored in the `boundary` table rather than as files: every node
of a cluster then serves the same map without copying files to each machine, and the import is one
transaction, audited like every other change a person makes.

What /api/v1/geo serves: when the database holds any outline, the stored layers (and only those:
another kabupaten's shipped files must never be drawn under this one's TPS); otherwise the files in
Settings.region_data_dir (by default the OKU Timur data shipped in backend/registry/data).
"""

import hashlib
import math
import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, insert, text
from sqlmodel import Session, col, select

from backend.audit.service import AuditRecord, append
from backend.meta import get_value, set_value
from backend.regions.models import Boundary, Region
from backend.registry.geometry import BBox, bbox_of, shape_from_geojson
from backend.registry.service import new_stamp
from schemas.enums import RegionLevel

BOUNDARY_STAMP = "boundary_stamp"  # Meta key: changes with every import
AUDIT_ACTION = "boundaries.imported"
# Dotted Kemendagri codes by length; the level follows from the length alone.
LEVEL_BY_LENGTH = {5: RegionLevel.KABUPATEN, 8: RegionLevel.KECAMATAN, 13: RegionLevel.DESA}
DRAWN_LEVELS = (RegionLevel.KABUPATEN, RegionLevel.KECAMATAN, RegionLevel.DESA)
DOTTED_CODE_RE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
PLAIN_CODE_RE = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{10})$")
CODE_FORMS = "like 16.08 (kabupaten), 16.08.01 (kecamatan) or 16.08.01.1007 (desa), dots optional"
CHUNK = 500  # codes per IN (...) list


@dataclass(frozen=True, slots=True)
class BoundaryProblem:
    """One problem in a GeoJSON file: which feature, which field, why."""

    file: str
    feature: int | None  # index into `features`; None: about the file as a whole
    code: str | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.feature is not None:
            where += f": features[{self.feature}]"
            if self.code:
                where += f" ({self.code})"
        return f"{where}: {self.field}: {self.reason}"


class BoundariesRejected(ValueError):
    """The file cannot be imported; nothing was written."""

    def __init__(self, problems: Sequence[BoundaryProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class BoundaryFeature:
    """A validated outline."""

    code: str
    level: RegionLevel
    name: str | None
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BoundaryImportResult:
    """What an import stored."""

    levels: dict[RegionLevel, int]
    created: int
    updated: int
    removed: int
    not_in_registry: list[str]
    stamp: str


# --- validation --------------------------------------------------------------------------------


class _Invalid(ValueError):
    """A problem in one field of one feature."""

    def __init__(self, field: str, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.code = code  # the feature's code, once it was read


def normalise_code(value: Any, field: str) -> str:
    """A Kemendagri code in dotted form (`1608011007` -> `16.08.01.1007`), or _Invalid."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Invalid(field, f"{value!r} is not a Kemendagri code, {CODE_FORMS}")
    raw = str(value).strip()
    if PLAIN_CODE_RE.match(raw):
        parts = [raw[:2], raw[2:4], raw[4:6], raw[6:]]
        raw = ".".join(p for p in parts if p)
    if not DOTTED_CODE_RE.match(raw):
        raise _Invalid(field, f"{value!r} is not a Kemendagri code, {CODE_FORMS}")
    if len(raw) == 2:
        raise _Invalid(field, f"{raw} is a province; import its kabupaten, kecamatan or desa")
    return raw


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_ring(ring: Any, path: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise _Invalid(path, "a linear ring needs at least 4 positions (first = last)")
    for i, position in enumerate(ring):
        where = f"{path}[{i}]"
        if not isinstance(position, list) or len(position) not in (2, 3):
            raise _Invalid(where, f"{position!r} is not a position [lon, lat]")
        if not all(_number(v) for v in position):
            raise _Invalid(where, f"{position!r} holds something other than finite numbers")
        lon, lat = position[0], position[1]
        if not -180 <= lon <= 180:
            raise _Invalid(where, f"longitude {lon} is outside -180..180")
        if not -90 <= lat <= 90:
            raise _Invalid(
                where, f"latitude {lat} is outside -90..90 (GeoJSON is [lon, lat]: swapped?)"
            )
    if ring[0][:2] != ring[-1][:2]:
        raise _Invalid(path, "the ring is not closed (its last position must equal its first)")


def _check_polygon(polygon: Any, path: str) -> None:
    if not isinstance(polygon, list) or not polygon:
        raise _Invalid(path, "a polygon is a non-empty list of rings")
    for i, ring in enumerate(polygon):
        _check_ring(ring, f"{path}[{i}]")


def check_geometry(geometry: Any) -> dict[str, Any]:
    """Return the geometry if it is a valid GeoJSON Polygon or MultiPolygon, else _Invalid."""
    if not isinstance(geometry, dict):
        raise _Invalid("geometry", "missing (a Polygon or MultiPolygon is needed)")
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        _check_polygon(coordinates, "geometry.coordinates")
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise _Invalid("geometry.coordinates", "a MultiPolygon is a non-empty list of polygons")
        for i, polygon in enumerate(coordinates):
            _check_polygon(polygon, f"geometry.coordinates[{i}]")
    else:
        raise _Invalid("geometry.type", f"{kind!r} is not Polygon or MultiPolygon")
    return {"type": kind, "coordinates": coordinates}


def _feature_code(feature: Mapping[str, Any], properties: Mapping[str, Any]) -> str:
    fid, kode = feature.get("id"), properties.get("kode")
    if fid is None and kode is None:
        raise _Invalid("id", "no Kemendagri code: give it as the feature's id or properties.kode")
    code = normalise_code(fid, "id") if fid is not None else None
    from_kode = normalise_code(kode, "properties.kode") if kode is not None else None
    if code and from_kode and code != from_kode:
        reason = f"{from_kode} differs from the feature's id {code}"
        raise _Invalid("properties.kode", reason, code)
    result = code or from_kode
    assert result is not None
    return result


def _feature_name(properties: Mapping[str, Any]) -> str | None:
    for key in ("nama", "name"):
        value = properties.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > 120:
            raise _Invalid(f"properties.{key}", "must be text of 1 to 120 characters")
        return value.strip()
    return None


def _parse_feature(feature: Any) -> BoundaryFeature:
    """Validate one feature; on a problem raise _Invalid carrying the code if it was readable."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise _Invalid("type", "not a GeoJSON Feature object")
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise _Invalid("properties", "must be an object")
    code = _feature_code(feature, properties)
    try:
        return BoundaryFeature(
            code=code,
            level=LEVEL_BY_LENGTH[len(code)],
            name=_feature_name(properties),
            geometry=check_geometry(feature.get("geometry")),
        )
    except _Invalid as exc:
        exc.code = code
        raise


def parse_boundaries(data: bytes, *, source: str) -> list[BoundaryFeature]:
    """Validate a GeoJSON FeatureCollection of outlines; BoundariesRejected lists every problem."""

    def whole(field: str, reason: str) -> BoundariesRejected:
        return BoundariesRejected([BoundaryProblem(source, None, None, field, reason)])

    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise whole("file", f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        kind = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise whole("type", f"{kind!r} is not a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise whole("features", "no features: nothing to import")
    problems: list[BoundaryProblem] = []
    parsed: list[BoundaryFeature] = []
    first_index: dict[str, int] = {}
    for index, feature in enumerate(features):
        try:
            item = _parse_feature(feature)
        except _Invalid as exc:
            problems.append(BoundaryProblem(source, index, exc.code, exc.field, exc.reason))
            continue
        code = item.code
        if code in first_index:
            reason = f"{code} duplicates features[{first_index[code]}]"
            problems.append(BoundaryProblem(source, index, code, "id", reason))
            continue
        first_index[code] = index
        parsed.append(item)
    if problems:
        raise BoundariesRejected(problems)
    return parsed


def read_boundaries_file(path: Path) -> tuple[list[BoundaryFeature], str]:
    """Validate a GeoJSON file; return its outlines and the SHA-256 of its bytes."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BoundariesRejected(
            [BoundaryProblem(path.name, None, None, "file", exc.strerror or str(exc))]
        ) from None
    return parse_boundaries(data, source=path.name), hashlib.sha256(data).hexdigest()


# --- storing -----------------------------------------------------------------------------------


def _lock_boundaries(session: Session) -> None:
    """Take the boundary table for this transaction, before reading anything from it."""
    # Two imports at once would both read "code not stored", both insert it, and one would die
    # on the primary key (or both on the stamp's Meta row). PostgreSQL: SHARE ROW EXCLUSIVE
    # conflicts with itself but not with readers. SQLite: the first write takes the database's
    # single RESERVED lock (waiting busy_timeout for it), and taking it before any read keeps
    # the transaction from running on a snapshot another import has since overtaken.
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("LOCK TABLE boundary IN SHARE ROW EXCLUSIVE MODE"))
    else:
        session.connection().execute(text("DELETE FROM boundary WHERE 1 = 0"))


def store_boundaries(
    *,
    session: Session,
    features: Sequence[BoundaryFeature],
    replace: bool,
    at: datetime,
    actor: str,
    source: str,
    digest: str,
) -> BoundaryImportResult:
    """Upsert outlines by code (with `replace`, drop every other stored one), audit, commit."""
    _lock_boundaries(session)
    codes = [f.code for f in features]
    stored = set(session.exec(select(Boundary.code)).all())
    removed = len(stored - set(codes)) if replace else 0
    if replace:
        session.exec(delete(Boundary))
    else:
        for start in range(0, len(codes), CHUNK):
            chunk = codes[start : start + CHUNK]
            session.exec(delete(Boundary).where(col(Boundary.code).in_(chunk)))
    session.exec(
        insert(Boundary),
        params=[
            {
                "code": f.code,
                "level": f.level,
                "name": f.name,
                "geometry": orjson.dumps(f.geometry).decode(),
                "imported_at": at,
            }
            for f in features
        ],
    )
    known = set(session.exec(select(Region.code)).all())
    stamp = new_stamp()
    set_value(session=session, key=BOUNDARY_STAMP, value=stamp)
    levels = Counter(f.level for f in features)
    created = len(set(codes) - stored)
    result = BoundaryImportResult(
        levels={level: levels[level] for level in DRAWN_LEVELS if levels[level]},
        created=created,
        updated=len(codes) - created,
        removed=removed,
        not_in_registry=sorted(set(codes) - known),
        stamp=stamp,
    )
    append(
        session=session,
        records=[
            AuditRecord(
                at=at,
                actor=actor,
                action=AUDIT_ACTION,
                subject_kind="boundaries",
                subject=source[:40],
                data={
                    "file": source,
                    "sha256": digest,
                    "levels": {level.value: n for level, n in result.levels.items()},
                    "created": result.created,
                    "updated": result.updated,
                    "removed": result.removed,
                    "replace": replace,
                    "stamp": stamp,
                },
            )
        ],
    )
    session.commit()
    return result


# --- serving -----------------------------------------------------------------------------------


def boundary_stamp(*, session: Session) -> str | None:
    """The stamp of the last import, or None when no outline was ever imported."""
    return get_value(session=session, key=BOUNDARY_STAMP)


def layer_geojson(*, session: Session, level: RegionLevel) -> bytes:
    """The stored outlines of one level as a GeoJSON FeatureCollection (maybe empty)."""
    rows = session.exec(
        select(Boundary.code, Boundary.name, Boundary.geometry)
        .where(Boundary.level == level)
        .order_by(col(Boundary.code))
    ).all()
    # The geometry is stored as JSON text already: splice it in rather than parse 0.5 MB again.
    parts = [
        b'{"type":"Feature","id":%s,"properties":%s,"geometry":%s}'
        % (
            orjson.dumps(code),
            orjson.dumps({"kode": code, "nama": name, "level": level.value}),
            geometry.encode(),
        )
        for code, name, geometry in rows
    ]
    return b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]}"


def stored_extent(*, session: Session) -> tuple[float, float, float, float] | None:
    """[west, south, east, north] of every stored outline, or None when none is stored."""
    box: BBox | None = None
    for geometry in session.exec(select(Boundary.geometry)).all():
        shape_box = bbox_of(shape_from_geojson(orjson.loads(geometry)))
        box = shape_box if box is None else box.union(shape_box)
    return (box.min_lon, box.min_lat, box.max_lon, box.max_lat) if box else None


class StampedCache:
    """Values computed from the stored outlines, kept per stamp (a stamp is never reused).

    Keys carry the stamp, so an import on any node makes every node compute afresh on its next
    request; a stamp is unique across databases too, so one process-wide cache is safe.
    """

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str], Any] = {}

    def get(self, key: tuple[str, str]) -> Any | None:
        """The cached value, or None."""
        with self._lock:
            return self._values.get(key)

    def put(self, key: tuple[str, str], value: Any) -> None:
        """Keep a value, dropping the oldest beyond the size."""
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                self._values.pop(next(iter(self._values)))


_CACHE = StampedCache()


def cached_layer(*, session: Session, level: RegionLevel) -> bytes | None:
    """A stored layer as GeoJSON bytes, or None when no outline is stored at all."""
    stamp = boundary_stamp(session=session)
    if stamp is None:
        return None
    key = (stamp, level.value)
    body: bytes | None = _CACHE.get(key)
    if body is None:
        body = layer_geojson(session=session, level=level)
        _CACHE.put(key, body)
    return body


def cached_extent(*, session: Session) -> tuple[str, tuple[float, float, float, float]] | None:
    """(stamp, extent) of the stored outlines, or None when none is stored."""
    stamp = boundary_stamp(session=session)
    if stamp is None:
        return None
    key = (stamp, "extent")
    extent: tuple[float, float, float, float] | None = _CACHE.get(key)
    if extent is None:
        extent = stored_extent(session=session)
        if extent is None:
            return None  # stamped but emptied: cannot happen through the CLI
        _CACHE.put(key, extent)
    return stamp, extent
