"""Custody steps as the officers sent them, and each kecamatan's PPK place."""

import uuid
from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, enum_column
from schemas.enums import CustodyStep


class CustodyEvent(SQLModel, table=True):
    """One custody step of one TPS's boxes, exactly as the device sent it; never updated.

    Written in intake's one transaction with the pings (`intake/service.py: store_batch`); the
    TPS's phase moves through the same merge (`tps/state.py`).
    """

    __tablename__ = "custody_event"
    # A TPS's steps in time order: the timeline, the escorts of its departure.
    __table_args__ = (Index("ix_custody_event_tps_time", "tps_id", "device_time"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: uuid.UUID = Field(unique=True)
    tps_id: int = Field(foreign_key="tps.id")
    tps_code: str = Field(max_length=17)
    kecamatan_code: str = Field(max_length=13, index=True)
    kabupaten_code: str = Field(max_length=13, index=True)
    step: CustodyStep = Field(sa_column=enum_column(CustodyStep))
    device_time: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    officer_id: int = Field(foreign_key="officer.id")
    seal_numbers: str | None = Field(default=None, sa_column=Column(Text))  # JSON list
    escort_nrps: str | None = Field(default=None, sa_column=Column(Text))  # JSON list
    vehicle: str | None = Field(default=None, max_length=80)
    ba_number: str | None = Field(default=None, max_length=80)
    receiver_name: str | None = Field(default=None, max_length=120)
    lat: float | None = None
    lon: float | None = None
    note: str | None = Field(default=None, max_length=500)
    flags: int = 0  # bit set of EventFlag (schemas.enums.FLAG_BITS)
    source: str = Field(max_length=8)  # ws | http | whatsapp | telegram | smsgate | smssync


class PpkPlace(SQLModel, table=True):
    """Where a kecamatan's PPK receives the boxes, as an admin set it.

    Only set places are rows: without one, the place is the kecamatan's office from the registry
    (its point in `region`, else the middle of its TPS): `service.ppk_places`.
    """

    __tablename__ = "ppk_place"

    kecamatan_code: str = Field(primary_key=True, foreign_key="region.code", max_length=13)
    name: str = Field(max_length=120)
    lat: float
    lon: float
    updated_by: str = Field(max_length=160)
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
