"""scale-out: the cluster lease and the TPS rollup

The rollup is filled from the current tps_state, so an existing Polres database upgrades in
place with correct counts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 18:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import backend.db
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lease',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('expires_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('fence', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('tps_rollup',
    sa.Column('kecamatan_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('phase', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('situation', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('kabupaten_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('province_code', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kecamatan_code', 'phase', 'situation')
    )
    with op.batch_alter_table('tps_rollup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tps_rollup_kabupaten_code'), ['kabupaten_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_tps_rollup_province_code'), ['province_code'], unique=False)
    op.execute(
        "INSERT INTO tps_rollup "
        "(kecamatan_code, phase, situation, kabupaten_code, province_code, n) "
        "SELECT t.kecamatan_code, COALESCE(s.phase, ''), COALESCE(s.situation, ''), "
        "min(t.kabupaten_code), min(t.province_code), count(*) "
        "FROM tps t JOIN tps_state s ON s.tps_id = t.id GROUP BY 1, 2, 3"
    )


def downgrade() -> None:
    with op.batch_alter_table('tps_rollup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tps_rollup_province_code'))
        batch_op.drop_index(batch_op.f('ix_tps_rollup_kabupaten_code'))
    op.drop_table('tps_rollup')
    op.drop_table('lease')
