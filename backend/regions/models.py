"""Administrative regions by Kemendagri code, and their imported outlines."""

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, enum_column
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


class Boundary(SQLModel, table=True):
    """A region's outline imported from GeoJSON (`posko registry boundaries import`)."""

    # No foreign key to region: outlines are reference data that may arrive before the TPS
    # list, and replacing the registry (`registry seed --erase-election-data`) must not have to
    # delete them.
    code: str = Field(primary_key=True, max_length=13)
    level: RegionLevel = Field(sa_column=enum_column(RegionLevel, index=True))
    name: str | None = Field(default=None, max_length=120)
    geometry: str = Field(sa_column=Column(Text, nullable=False))  # GeoJSON geometry, compact
    imported_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
