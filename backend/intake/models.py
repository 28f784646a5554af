"""Stored field pings and the dead letters of what was rejected."""

import uuid
from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, enum_column
from schemas.enums import Phase, Situation


class Ping(SQLModel, table=True):
    """A status ping exactly as the device sent it, plus when it arrived; never updated.

    Only two B-trees are written per ping (the table and the event id), both appended at their
    right edge when event ids are time-ordered: a per-TPS index here cut SQLite's insert rate
    5.5x (measured), so that lookup lives in PingByTps, filled in bulk.
    """

    id: int | None = Field(default=None, primary_key=True)
    event_id: uuid.UUID = Field(unique=True)
    officer_id: int = Field(foreign_key="officer.id")
    tps_id: int = Field(foreign_key="tps.id")
    phase: Phase = Field(sa_column=enum_column(Phase))
    situation: Situation = Field(sa_column=enum_column(Situation))
    device_time: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    lat: float | None = None
    lon: float | None = None
    note: str | None = Field(default=None, max_length=500)
    flags: int = 0  # bit set of EventFlag, see backend.intake.validate.FLAG_BITS
    source: str = Field(max_length=8)  # ws | http


class DeadLetter(SQLModel, table=True):
    """A payload that was refused, kept with its reason for audit."""

    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    source: str = Field(max_length=8)
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    remote: str | None = Field(default=None, max_length=64)
    event_id: str | None = Field(default=None, max_length=64)
    field: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    size: int
    payload: str = Field(sa_column=Column(Text, nullable=False))


class PingByTps(SQLModel, table=True):
    """Pings of one TPS in device-time order: the drill-down's index, written in bulk.

    On SQLite the writer appends to it every second or so from the ping table's tail (see
    backend.intake.service.index_pings); PostgreSQL writes it in each batch's transaction.
    """

    __tablename__ = "ping_by_tps"
    __table_args__ = {"sqlite_with_rowid": False}

    tps_id: int = Field(primary_key=True)
    device_time: datetime = Field(sa_column=Column(UtcDateTime(), primary_key=True))
    ping_id: int = Field(primary_key=True)
