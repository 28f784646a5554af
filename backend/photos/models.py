"""Photos of incident reports, kept in the database so that every node serves them."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime


class IncidentPhoto(SQLModel, table=True):
    """One photo of an officer's incident report, exactly as sent, with its thumbnail.

    At most one per (report, index): the unique constraint makes two uploads of the same photo
    (a retry racing its original, on any node) one row. Never updated; deleted with its report
    (ON DELETE CASCADE: only an erase of the election data deletes reports). A photo follows its
    report when a merge or split moves the report to another incident.
    """

    __tablename__ = "incident_photo"
    __table_args__ = (UniqueConstraint("report_id", "photo_index", name="uq_incident_photo_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("incident_report.id", ondelete="CASCADE"), nullable=False
        )
    )
    photo_index: int  # 0, 1 or 2 (the wire calls it "index", a keyword in SQL)
    content_type: str = Field(max_length=16)  # decided by the bytes: image/jpeg|png|webp
    size: int
    width: int  # as shown: EXIF orientation applied
    height: int
    sha256: str = Field(max_length=64)  # hex, of the bytes as sent
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    thumb: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # JPEG, longest side 320
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
