"""Alerts, the outbox of their webhook deliveries, and the sweeper's lease."""

from datetime import datetime

from sqlalchemy import Column, Index, Text, text
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, enum_column
from schemas.ops import AlertKind, AlertSeverity, AlertSubjectKind


class Alert(SQLModel, table=True):
    """Something that needs attention, open from `raised_at` until `cleared_at`.

    At most one open alert per (kind, subject): the partial unique index enforces it in the
    database, so two sweepers (a lease handover, a second process) can never both raise it.
    """

    __table_args__ = (
        Index(
            "uq_alert_open",
            "kind",
            "subject",
            unique=True,
            sqlite_where=text("cleared_at IS NULL"),
            postgresql_where=text("cleared_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: AlertKind = Field(sa_column=enum_column(AlertKind, index=True))
    subject_kind: AlertSubjectKind = Field(sa_column=enum_column(AlertSubjectKind))
    subject: str = Field(max_length=40)
    kabupaten_code: str | None = Field(default=None, max_length=13, index=True)
    kecamatan_code: str | None = Field(default=None, max_length=13)
    severity: AlertSeverity = Field(sa_column=enum_column(AlertSeverity))
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON object
    raised_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    cleared_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), index=True))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    acknowledged_by: str | None = Field(default=None, max_length=160)
    silenced_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    silenced_by: str | None = Field(default=None, max_length=160)
    silenced_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    # The network outage this alert is held under: suppressed while set.
    parent_id: int | None = Field(default=None, foreign_key="alert.id", index=True)
    # When the outside world was told (webhook outbox); a suppressed alert may never be.
    notified_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    version: int = 0


class AlertOutbox(SQLModel, table=True):
    """A webhook delivery, written in the alert change's transaction and sent after it.

    Times here are real time (delivery is a real-world matter), never the exercise clock.
    """

    __tablename__ = "alert_outbox"

    id: int | None = Field(default=None, primary_key=True)
    # None for the audit chain's checkpoints (backend/audit/anchor.py), sent through the same
    # signed, retried channel; they wait behind nothing and nothing waits behind them.
    alert_id: int | None = Field(default=None, foreign_key="alert.id", index=True)
    event: str = Field(max_length=16)  # raised | cleared | checkpoint
    body: str = Field(sa_column=Column(Text, nullable=False))  # exactly what is sent, every try
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    attempts: int = 0
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), index=True))
    failed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    last_error: str | None = Field(default=None, max_length=500)


class AlertVersion(SQLModel, table=True):
    """An alert's changing columns after each change (raised, held, released, acknowledged,
    silenced, detail refreshed): replay reads the one in force at a moment.
    """

    __tablename__ = "alert_version"
    __table_args__ = (Index("ix_alert_version_alert_at", "alert_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id")
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    version: int
    severity: AlertSeverity = Field(sa_column=enum_column(AlertSeverity))
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    parent_id: int | None = None
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    acknowledged_by: str | None = Field(default=None, max_length=160)
    silenced_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    silenced_by: str | None = Field(default=None, max_length=160)
    silenced_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
