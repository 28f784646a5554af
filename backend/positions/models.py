"""Officers' position fixes, the latest one per officer, and the keys tracker apps send."""

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime


class OfficerPosition(SQLModel, table=True):
    """One fix of one officer, as the device measured it; never updated.

    The primary key is the dedupe key (officer, device time, position): Traccar has no message
    id and resends what it sent when a 200 is lost. Without a rowid (SQLite) it is also the one
    B-tree written per fix, and the (officer, time) order a trail is read in.
    """

    __tablename__ = "officer_position"
    __table_args__ = {"sqlite_with_rowid": False}

    officer_id: int = Field(foreign_key="officer.id", primary_key=True)
    device_time: datetime = Field(sa_column=Column(UtcDateTime(), primary_key=True))
    lat: float = Field(primary_key=True)
    lon: float = Field(primary_key=True)
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    accuracy_m: float | None = None
    speed_ms: float | None = None
    heading: float | None = None
    altitude_m: float | None = None
    battery: float | None = None  # percent
    source: str = Field(max_length=10)  # traccar | owntracks | lapor | whatsapp | telegram | ping


class OfficerLastFix(SQLModel, table=True):
    """The newest fix of each officer (by device time): what the map's officer layer reads."""

    __tablename__ = "officer_last_fix"

    officer_id: int = Field(foreign_key="officer.id", primary_key=True)
    device_time: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_ms: float | None = None
    battery: float | None = None
    source: str = Field(max_length=10)


class TrackerKey(SQLModel, table=True):
    """The secret a tracker app sends (Traccar's device id, OwnTracks' password); SHA-256 only."""

    __tablename__ = "tracker_key"

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    key_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    created_by: str = Field(max_length=160)
