"""The audit chain: entries that are only ever appended, each hash covering the one before."""

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime

GENESIS_HASH = "0" * 64


class AuditEntry(SQLModel, table=True):
    """One action or state change, chained to the one before (see backend/audit/service.py).

    From `AuditHead.keyed_from` on, `hash` = HMAC-SHA256(key, prev_hash, the row with its area);
    entries before it were written by an older Posko as SHA-256(prev_hash, the row).
    """

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_subject", "subject_kind", "subject"),)

    # Position in the chain, handed out by audit_head: a gap means a deleted row.
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    actor: str = Field(max_length=160)  # "system", "<kind>:<name>#<credential id>", "cli:<user>"
    action: str = Field(max_length=40, index=True)
    subject_kind: str | None = Field(default=None, max_length=16)
    subject: str | None = Field(default=None, max_length=40)
    # The narrowest area of what it is about ("16.08", "16"); None: national readers only.
    area_code: str | None = Field(default=None, max_length=13, index=True)
    data: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON object
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's single head row (id 1): appenders lock it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    hash: str = Field(default=GENESIS_HASH, max_length=64)
    # The first entry written with the key (the upgrade to keyed chaining set it); every
    # checkpoint signs it, so moving it to pass keyed entries off as old ones is detected.
    keyed_from: int = 1
    # Fingerprint of the key the chain was started with (never the key): set by the first
    # keyed append or server start; a process with another key refuses to append.
    key_id: str | None = Field(default=None, max_length=16)
