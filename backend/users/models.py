"""People who sign in with a password: their role, area and wrong-password state."""

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, enum_column
from schemas.enums import Role


class User(SQLModel, table=True):
    """A person of the command post; the password is kept only as an argon2id hash."""

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=40)
    full_name: str = Field(max_length=120)
    role: Role = Field(sa_column=enum_column(Role))
    area_code: str | None = Field(default=None, max_length=13)  # None = national
    password_hash: str = Field(max_length=200)
    is_active: bool = True
    failed_logins: int = 0  # consecutive wrong passwords since the last success or unlock
    # No sign-in attempt before this (the wait after too many wrong passwords; never a lockout).
    locked_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    last_login_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    version: int = 0
