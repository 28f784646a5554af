"""One-time enrolment links: a QR on a printed sheet that becomes an officer's device credential."""

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime


class Enrolment(SQLModel, table=True):
    """A link that works once, until it expires or is revoked; only its code's SHA-256 is kept."""

    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    code_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    credential_id: int | None = Field(default=None, foreign_key="credential.id")
    created_by: str = Field(max_length=160)
    # The six digits printed beside the QR for `DAFTAR 482913` by chat or SMS (HMAC-SHA256 with
    # the server's key: six digits alone are guessed offline in a moment). Used once.
    chat_code_hash: str | None = Field(default=None, unique=True, max_length=64)
    chat_used_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
