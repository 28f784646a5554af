"""Public views of the registry: regions, units, TPS and officers."""

from datetime import datetime

from pydantic import BaseModel

from schemas.enums import RegionLevel, RiskRating, UnitKind


class RegionPublic(BaseModel):
    """A province, kabupaten, kecamatan or desa by its Kemendagri code."""

    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    lat: float | None
    lon: float | None


class UnitPublic(BaseModel):
    """The Polres or one of its Polsek, with the kecamatan it covers."""

    code: str
    name: str
    kind: UnitKind
    kecamatan_codes: list[str]


class TpsPublic(BaseModel):
    """A polling station as registered."""

    code: str
    number: int
    name: str
    desa_code: str
    desa: str
    kecamatan_code: str
    kecamatan: str
    kabupaten_code: str
    lat: float
    lon: float
    voters: int
    risk: RiskRating
    officers: list[str]  # NRP of assigned officers


class OfficerPublic(BaseModel):
    """A police officer on duty, with unit and assigned TPS."""

    nrp: str
    name: str
    rank: str
    unit: str
    unit_code: str
    tps: list[str]
    last_seen_at: datetime | None
    last_received_at: datetime | None
    clock_offset_s: float | None  # device time minus server time on the last event


class OfficersPublic(BaseModel):
    """All officers."""

    data: list[OfficerPublic]
    count: int
