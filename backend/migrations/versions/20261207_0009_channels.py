"""chat and SMS channels: senders bound to officers, handled messages, the reply outbox

`channel_sender` binds a phone number or a Telegram chat to an officer; `channel_message` keeps
each provider message once (unique per channel and provider id: deliveries are at least once);
`channel_outbox` holds the replies until a provider took them. `enrolment` gains the six-digit
code for `DAFTAR` (its HMAC) and when it was used. Existing rows are untouched.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 20:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import backend.db
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('channel_sender',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('bound_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('bound_by', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'address', name='uq_channel_sender_address')
    )
    op.create_index(op.f('ix_channel_sender_officer_id'), 'channel_sender', ['officer_id'], unique=False)
    op.create_table('channel_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('received_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'key', name='uq_channel_message_key')
    )
    op.create_index(op.f('ix_channel_message_address'), 'channel_message', ['address'], unique=False)
    op.create_index(op.f('ix_channel_message_received_at'), 'channel_message', ['received_at'], unique=False)
    op.create_table('channel_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('window_until', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_until', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('failed_at', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['channel_message.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_channel_outbox_channel'), 'channel_outbox', ['channel'], unique=False)
    op.create_index(op.f('ix_channel_outbox_next_attempt_at'), 'channel_outbox', ['next_attempt_at'], unique=False)
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat_code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('chat_used_at', backend.db.UtcDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_enrolment_chat_code_hash', ['chat_code_hash'])


def downgrade() -> None:
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_enrolment_chat_code_hash', type_='unique')
        batch_op.drop_column('chat_used_at')
        batch_op.drop_column('chat_code_hash')
    op.drop_index(op.f('ix_channel_outbox_next_attempt_at'), table_name='channel_outbox')
    op.drop_index(op.f('ix_channel_outbox_channel'), table_name='channel_outbox')
    op.drop_table('channel_outbox')
    op.drop_index(op.f('ix_channel_message_received_at'), table_name='channel_message')
    op.drop_index(op.f('ix_channel_message_address'), table_name='channel_message')
    op.drop_table('channel_message')
    op.drop_index(op.f('ix_channel_sender_officer_id'), table_name='channel_sender')
    op.drop_table('channel_sender')
