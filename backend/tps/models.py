"""Polling stations, their current state, and the pings it is merged from."""

import uuid
from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, enum_column
from schemas.enums import Phase, RiskRating, Situation


class Tps(SQLModel, table=True):
    """A polling station as registered; never changed by intake."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=17)
    number: int
    desa_code: str = Field(foreign_key="region.code", index=True)
    kecamatan_code: str = Field(foreign_key="region.code", index=True)
    kabupaten_code: str = Field(foreign_key="region.code", index=True)
    province_code: str = Field(foreign_key="region.code", index=True)
    lat: float
    lon: float
    voters: int
    risk: RiskRating = Field(sa_column=enum_column(RiskRating, index=True))


class TpsState(SQLModel, table=True):
    """Current state of a TPS, a merge of every ping ever stored for it.

    Each column is a join (max by device time) of the pings, so applying pings in any order, on any
    node, twice or late, gives the same row: that is what makes "never roll back" hold.
    """

    __tablename__ = "tps_state"

    tps_id: int = Field(foreign_key="tps.id", primary_key=True)
    phase: Phase | None = Field(
        default=None, sa_column=enum_column(Phase, nullable=True, index=True)
    )
    # Highest ordered phase reached and the newest device time it was reported at.
    phase_rank: int = -1
    phase_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    postponed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    situation: Situation | None = Field(
        default=None, sa_column=enum_column(Situation, nullable=True, index=True)
    )
    situation_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    last_received_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    last_officer_id: int | None = Field(default=None, foreign_key="officer.id")
    # The highest phase claimed by officers not assigned to the TPS (pending while ahead of
    # phase_rank, until a commander confirms it), by whom and at what device time.
    claimed_rank: int = Field(default=-1, sa_column_kwargs={"server_default": "-1"})
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    claimed_officer_id: int | None = Field(default=None, foreign_key="officer.id")
    # A commander's correction: pings with an earlier device time no longer count.
    corrected_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    version: int = 0
    # Real time of the last write by intake or a commander: the alert sweeper reads the rows
    # changed since its last tick down this index (backend/alerts/incremental.py).
    changed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), index=True))


class TpsTransition(SQLModel, table=True):
    """A change of a TPS's phase or situation, written with the batch that caused it.

    It is what the command post saw happen, in order: the source of the timeline and the log.
    """

    __tablename__ = "tps_transition"
    __table_args__ = (Index("ix_tps_transition_tps_at", "tps_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    tps_id: int = Field(foreign_key="tps.id")
    kind: str = Field(max_length=12)  # phase | situation
    before: str | None = Field(default=None, max_length=24)
    after: str = Field(max_length=24)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    officer_id: int | None = Field(default=None, foreign_key="officer.id")


class TpsRollup(SQLModel, table=True):
    """How many TPS of a kecamatan are in each (phase, situation): the summaries' source.

    Maintained in the writer's transaction from each TPS change (minus one where it was, plus
    one where it is), rebuilt whole by every registry write and checked against tps_state by a
    leased periodic job (backend.tps.rollup). "" stands for "not reported yet" (primary keys
    cannot hold NULL). A national summary then reads ~70k rows instead of joining 435k TPS.
    """

    __tablename__ = "tps_rollup"

    kecamatan_code: str = Field(primary_key=True, max_length=13)
    phase: str = Field(primary_key=True, max_length=24)
    situation: str = Field(primary_key=True, max_length=24)
    kabupaten_code: str = Field(max_length=13, index=True)
    province_code: str = Field(max_length=2, index=True)
    n: int = 0


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
    flags: int = 0  # bit set of EventFlag, see schemas.enums.FLAG_BITS
    source: str = Field(max_length=8)  # ws | http


PING_INDEX_KEY = "ping_indexed_upto"  # meta key: the highest ping id in ping_by_tps (SQLite)


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
