"""The registry as records: what a build or an import produces and `registry.service` stores."""

from collections.abc import Sequence
from dataclasses import dataclass

from schemas.enums import RegionLevel, RiskRating, UnitKind


@dataclass(frozen=True, slots=True)
class RegionRecord:
    """A region row to be stored."""

    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    is_kelurahan: bool
    lat: float | None
    lon: float | None


@dataclass(frozen=True, slots=True)
class UnitRecord:
    """A unit and the kecamatan it covers (the Polres covers its kabupaten, no rows)."""

    code: str
    name: str
    kind: UnitKind
    parent_code: str | None
    kabupaten_code: str
    kecamatan_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TpsRecord:
    """A TPS row to be stored."""

    code: str
    number: int
    desa_code: str
    kecamatan_code: str
    kabupaten_code: str
    province_code: str
    lat: float
    lon: float
    voters: int
    risk: RiskRating


@dataclass(frozen=True, slots=True)
class OfficerRecord:
    """An officer row to be stored."""

    nrp: str
    name: str
    rank: str
    unit_code: str
    kabupaten_code: str


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    """One officer assigned to one TPS."""

    nrp: str
    tps_code: str


@dataclass(frozen=True)
class Registry:
    """A complete registry, ready to be written."""

    regions: tuple[RegionRecord, ...]
    units: tuple[UnitRecord, ...]
    tps: tuple[TpsRecord, ...]
    officers: tuple[OfficerRecord, ...]
    assignments: tuple[AssignmentRecord, ...]


def merge_registries(parts: Sequence[Registry]) -> Registry:
    """Concatenate per-kabupaten registries, keeping each region only once."""
    regions: dict[str, RegionRecord] = {}
    for part in parts:
        for region in part.regions:
            regions.setdefault(region.code, region)
    return Registry(
        regions=tuple(regions.values()),
        units=tuple(u for p in parts for u in p.units),
        tps=tuple(t for p in parts for t in p.tps),
        officers=tuple(o for p in parts for o in p.officers),
        assignments=tuple(a for p in parts for a in p.assignments),
    )
