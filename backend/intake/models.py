"""The dead letters of what intake refused (the stored pings: backend.tps.models)."""

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime
from backend.tps.models import Ping, PingByTps

__all__ = ["DeadLetter", "Ping", "PingByTps"]  # pings are read here too (dashboard, registry)


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
