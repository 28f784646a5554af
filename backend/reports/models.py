"""The situation report table: drafts, and signed reports that are never changed again."""

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, enum_column
from schemas.reports import ReportKind, ReportStatus


class SituationReport(SQLModel, table=True):
    """One version of a laporan situasi of a kabupaten for a period.

    A draft is re-drafted and edited in place; signing freezes it (`status` = signed, the
    sha256 of what was signed kept here and in the audit chain). A change after that is a new
    row with the next `version` for the same area, kind and period.
    """

    __tablename__ = "situation_report"
    __table_args__ = (
        Index(
            "uq_situation_report_version",
            "area_code",
            "kind",
            "period_start",
            "period_end",
            "version",
            unique=True,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    area_code: str = Field(max_length=13, index=True)
    kind: ReportKind = Field(sa_column=enum_column(ReportKind))
    period_start: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    period_end: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    version: int = 1
    content: str = Field(sa_column=Column(Text, nullable=False))  # ReportContent as JSON
    remarks: str = Field(default="", sa_column=Column(Text, nullable=False))
    plan_next: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: ReportStatus = Field(default=ReportStatus.DRAFT, sa_column=enum_column(ReportStatus))
    signer_name: str | None = Field(default=None, max_length=120)
    signer_rank: str | None = Field(default=None, max_length=40)
    signer_nrp: str | None = Field(default=None, max_length=18)
    signed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    content_sha256: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    # Compare-and-set on every edit: two commanders editing one draft never lose a change.
    row_version: int = 0
