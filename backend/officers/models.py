"""Police units, officers and their roving TPS assignments."""

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, enum_column
from schemas.enums import UnitKind


class Unit(SQLModel, table=True):
    """The Polres or one of its Polsek."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=120)
    kind: UnitKind = Field(sa_column=enum_column(UnitKind))
    parent_id: int | None = Field(default=None, foreign_key="unit.id")
    kabupaten_code: str = Field(foreign_key="region.code", index=True)


class UnitKecamatan(SQLModel, table=True):
    """Which kecamatan a unit covers."""

    __tablename__ = "unit_kecamatan"

    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    kecamatan_code: str = Field(foreign_key="region.code", primary_key=True)


class Officer(SQLModel, table=True):
    """An officer on election duty; liveness columns are kept by the intake writer."""

    id: int | None = Field(default=None, primary_key=True)
    nrp: str = Field(unique=True, max_length=18)
    name: str = Field(max_length=120)
    rank: str = Field(max_length=40)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    kabupaten_code: str = Field(foreign_key="region.code", index=True)
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    last_received_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    clock_offset_s: float | None = None
    # Real time of the last liveness write: the alert sweeper reads changed officers by it.
    changed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), index=True))


class Assignment(SQLModel, table=True):
    """An officer's roving assignment to one TPS."""

    officer_id: int = Field(foreign_key="officer.id", primary_key=True)
    tps_id: int = Field(foreign_key="tps.id", primary_key=True, index=True)
