"""Credentials (device tokens, API tokens, kiosk links, sessions) and refused attempts."""

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, enum_column
from schemas.enums import CredentialKind, Role


class Credential(SQLModel, table=True):
    """A revocable secret; only its SHA-256 is stored, the secret is shown once."""

    id: int | None = Field(default=None, primary_key=True)
    kind: CredentialKind = Field(sa_column=enum_column(CredentialKind, index=True))
    token_hash: str = Field(unique=True, max_length=64)
    prefix: str = Field(max_length=12)  # first characters, to recognise it in lists and logs
    name: str = Field(max_length=120)
    role: Role | None = Field(default=None, sa_column=enum_column(Role, nullable=True))
    officer_id: int | None = Field(default=None, foreign_key="officer.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)  # sessions
    area_code: str | None = Field(default=None, max_length=13)  # None = national
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class AuthFailure(SQLModel, table=True):
    """A refused credential: missing, wrong, revoked, expired, bad signature or replay."""

    __tablename__ = "auth_failure"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    remote: str | None = Field(default=None, max_length=64)
    path: str = Field(max_length=200)
    reason: str = Field(max_length=200)
    prefix: str | None = Field(default=None, max_length=12)
