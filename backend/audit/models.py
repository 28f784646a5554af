"""The audit chain: entries that are only ever appended, each hash covering the one before."""

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime

GENESIS_HASH = "0" * 64


class AuditEntry(SQLModel, table=True):
    """One action or state change; `hash` = SHA-256(prev_hash, canonical encoding of the row)."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_subject", "subject_kind", "subject"),)

    # Position in the chain, handed out by audit_head: a gap means a deleted row.
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=160)  # "system", "<kind>:<name>#<credential id>", "cli:<user>"
    action: str = Field(max_length=40, index=True)
    subject_kind: str | None = Field(default=None, max_length=16)
    subject: str | None = Field(default=None, max_length=40)
    data: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON object
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's single head row (id 1): appenders lock it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    hash: str = Field(default=GENESIS_HASH, max_length=64)
