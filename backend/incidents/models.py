"""Incidents and the officers' reports that make them up."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, Text, false
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, enum_column
from schemas.enums import IncidentCategory, IncidentStatus
from schemas.ops import IncidentStepKind


class Incident(SQLModel, table=True):
    """One trouble on the ground, made of one or more reports."""

    id: int | None = Field(default=None, primary_key=True)
    status: IncidentStatus = Field(
        default=IncidentStatus.BARU, sa_column=enum_column(IncidentStatus, index=True)
    )
    category: IncidentCategory = Field(sa_column=enum_column(IncidentCategory))
    severity: int
    tps_id: int | None = Field(default=None, foreign_key="tps.id", index=True)
    kecamatan_code: str | None = Field(default=None, foreign_key="region.code", index=True)
    kabupaten_code: str = Field(foreign_key="region.code", index=True)
    lat: float | None = None
    lon: float | None = None
    description: str = Field(sa_column=Column(Text, nullable=False))
    opened_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    version: int = 0
    # Who handles it once dispatched: "officer:<NRP>" or "unit:<code>".
    assignee: str | None = Field(default=None, max_length=60)
    merged_into_id: int | None = Field(default=None, foreign_key="incident.id")
    # Holds an officer's SOS: raises the `sos` alert while baru and not acknowledged. The
    # acknowledgement is kept here, not only on the alert, so that the pure rules see it and a
    # merge or split carries it (acknowledging the alert, merging or splitting sets it).
    is_sos: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    sos_acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class IncidentStepRow(SQLModel, table=True):
    """One step in an incident's life: a status change, a dispatch, a note, a merge or split.

    Deleted with its incident (ON DELETE CASCADE: only a forced registry replacement deletes
    incidents), never updated.
    """

    __tablename__ = "incident_step"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("incident.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    kind: IncidentStepKind = Field(sa_column=enum_column(IncidentStepKind))
    actor: str = Field(max_length=160)
    from_status: IncidentStatus | None = Field(
        default=None, sa_column=enum_column(IncidentStatus, nullable=True)
    )
    to_status: IncidentStatus | None = Field(
        default=None, sa_column=enum_column(IncidentStatus, nullable=True)
    )
    note: str | None = Field(default=None, sa_column=Column(Text))
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON object


class IncidentReport(SQLModel, table=True):
    """An officer's incident event as sent; never updated except for its incident link."""

    __tablename__ = "incident_report"

    id: int | None = Field(default=None, primary_key=True)
    event_id: uuid.UUID = Field(unique=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    category: IncidentCategory = Field(sa_column=enum_column(IncidentCategory))
    severity: int
    tps_id: int | None = Field(default=None, foreign_key="tps.id", index=True)
    lat: float | None = None
    lon: float | None = None
    description: str = Field(sa_column=Column(Text, nullable=False))
    device_time: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    flags: int = 0
    source: str = Field(max_length=8)
    is_sos: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


class IncidentVersion(SQLModel, table=True):
    """An incident's changing columns after each change, and its reports then: for replay.

    Written in the transaction of every change (intake's report, each commander step, a merge,
    a split); `report_ids` is a JSON list, since merges and splits move reports between
    incidents and the report row keeps only where it is now.
    """

    __tablename__ = "incident_version"
    __table_args__ = (Index("ix_incident_version_incident_at", "incident_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(
        sa_column=Column(Integer, ForeignKey("incident.id", ondelete="CASCADE"), nullable=False)
    )
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    version: int
    status: IncidentStatus = Field(sa_column=enum_column(IncidentStatus))
    severity: int
    opened_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    assignee: str | None = Field(default=None, max_length=60)
    merged_into_id: int | None = None
    is_sos: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    report_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False))
