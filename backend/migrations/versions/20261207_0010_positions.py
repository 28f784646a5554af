"""officers' positions: every fix, the latest per officer, the keys tracker apps send

`officer_position` holds each fix once: its primary key (officer, device time, lat, lon) is the
dedupe key (Traccar has no message id) and, without a rowid on SQLite, the only B-tree written.
`officer_last_fix` is the newest fix per officer (the map's officer layer); `tracker_key` keeps
the SHA-256 of each Traccar device id / OwnTracks password bound to an officer. New tables only.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import backend.db
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('officer_position',
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('device_time', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('received_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('speed_ms', sa.Float(), nullable=True),
    sa.Column('heading', sa.Float(), nullable=True),
    sa.Column('altitude_m', sa.Float(), nullable=True),
    sa.Column('battery', sa.Float(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('officer_id', 'device_time', 'lat', 'lon'),
    sqlite_with_rowid=False
    )
    op.create_table('officer_last_fix',
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('device_time', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('speed_ms', sa.Float(), nullable=True),
    sa.Column('battery', sa.Float(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('officer_id')
    )
    op.create_table('tracker_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('tracker_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracker_key_officer_id'), ['officer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tracker_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracker_key_officer_id'))
    op.drop_table('tracker_key')
    op.drop_table('officer_last_fix')
    op.drop_table('officer_position')
