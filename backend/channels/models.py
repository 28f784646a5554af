"""Who is behind a phone number or a Telegram chat, which messages were handled, what to send."""

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime


class ChannelSender(SQLModel, table=True):
    """A phone number (WhatsApp and SMS) or a Telegram chat bound to one officer."""

    __tablename__ = "channel_sender"
    __table_args__ = (UniqueConstraint("kind", "address", name="uq_channel_sender_address"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # phone | telegram
    address: str = Field(max_length=64)  # digits with country code, or the Telegram chat id
    officer_id: int = Field(foreign_key="officer.id", index=True)
    bound_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    bound_by: str = Field(max_length=160)  # an actor, or "daftar:<enrolment id>"


class ChannelMessage(SQLModel, table=True):
    """One provider message handled once: its key is the provider's dedupe id."""

    __tablename__ = "channel_message"
    __table_args__ = (UniqueConstraint("channel", "key", name="uq_channel_message_key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    key: str = Field(max_length=128)
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    address: str = Field(max_length=64, index=True)  # what one sender sent lately (DAFTAR tries)
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    outcome: str = Field(max_length=32)  # stored | refused | answered | location | ignored
    kind: str = Field(max_length=32)  # the command's kind, or the refusal's reason
    event_id: str | None = Field(default=None, max_length=36)


class ChannelOutbox(SQLModel, table=True):
    """A reply to send through a provider, retried with backoff until sent or given up."""

    __tablename__ = "channel_outbox"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16, index=True)
    address: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    message_id: int | None = Field(default=None, foreign_key="channel_message.id")
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    # WhatsApp: free text only until then (24 h after the officer's message), a template after.
    window_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    next_attempt_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    attempts: int = 0
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    failed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    last_error: str | None = Field(default=None, max_length=500)
