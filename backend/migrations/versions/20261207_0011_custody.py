"""custody: the chain of custody of ballot boxes, and each kecamatan's PPK place

`custody_event` holds each custody step once (unique event id), written in intake's transaction;
`ppk_place` holds the PPK places an admin set (without a row: the registry's kecamatan point).
New tables only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import backend.db
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ppk_place',
    sa.Column('kecamatan_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('updated_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_code'], ['region.code'], ),
    sa.PrimaryKeyConstraint('kecamatan_code')
    )
    op.create_table('custody_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('tps_id', sa.Integer(), nullable=False),
    sa.Column('tps_code', sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
    sa.Column('kecamatan_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('kabupaten_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('step', sa.Enum('segel', 'berangkat', 'tiba', 'serah_terima', name='custodystep', native_enum=False, length=24), nullable=False),
    sa.Column('device_time', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('seal_numbers', sa.Text(), nullable=True),
    sa.Column('escort_nrps', sa.Text(), nullable=True),
    sa.Column('vehicle', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('ba_number', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('receiver_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('flags', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.ForeignKeyConstraint(['tps_id'], ['tps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('custody_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custody_event_kabupaten_code'), ['kabupaten_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_custody_event_kecamatan_code'), ['kecamatan_code'], unique=False)
        batch_op.create_index('ix_custody_event_tps_time', ['tps_id', 'device_time'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('custody_event', schema=None) as batch_op:
        batch_op.drop_index('ix_custody_event_tps_time')
        batch_op.drop_index(batch_op.f('ix_custody_event_kecamatan_code'))
        batch_op.drop_index(batch_op.f('ix_custody_event_kabupaten_code'))

    op.drop_table('custody_event')
    op.drop_table('ppk_place')
