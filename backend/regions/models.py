"""Administrative regions by Kemendagri code."""

from sqlmodel import Field, SQLModel

from backend.db import enum_column
from schemas.enums import RegionLevel


class Region(SQLModel, table=True):
    """A province, kabupaten, kecamatan or desa/kelurahan."""

    code: str = Field(primary_key=True, max_length=13)
    name: str = Field(max_length=120)
    level: RegionLevel = Field(sa_column=enum_column(RegionLevel, index=True))
    parent_code: str | None = Field(default=None, foreign_key="region.code", index=True)
    is_kelurahan: bool = False
    lat: float | None = None
    lon: float | None = None
