"""Photos of incident reports and custody seals, kept in the database so every node serves them."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime


class IncidentPhoto(SQLModel, table=True):
    """One photo an officer sent, exactly as sent, with its thumbnail.

    Its owner is either an incident report (`report_id`) or a custody step (`custody_event_id`,
    a `segel`'s seals): exactly one of the two, the check says. At most one per (owner, index):
    the unique constraints make two uploads of the same photo (a retry racing its original, on
    any node) one row (NULLs are distinct, so each constraint only binds its own owner's rows).
    Never updated; deleted with its owner (ON DELETE CASCADE: only an erase of the election data
    deletes them). A photo follows its report when a merge or split moves the report to another
    incident. The table keeps its first name (incident photos came first).
    """

    __tablename__ = "incident_photo"
    __table_args__ = (
        UniqueConstraint("report_id", "photo_index", name="uq_incident_photo_slot"),
        UniqueConstraint("custody_event_id", "photo_index", name="uq_custody_photo_slot"),
        CheckConstraint(
            "(report_id IS NULL) <> (custody_event_id IS NULL)", name="ck_photo_one_owner"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("incident_report.id", ondelete="CASCADE"), nullable=True
        ),
    )
    custody_event_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("custody_event.id", ondelete="CASCADE"), nullable=True
        ),
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
