"""boundaries: region outlines imported from GeoJSON

`posko registry boundaries import` stores outlines here so that every node of a cluster serves
the same map from the database; without rows, /api/v1/geo reads POSKO_REGION_DATA_DIR's files.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import backend.db
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('boundary',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('level', sa.Enum('provinsi', 'kabupaten', 'kecamatan', 'desa', name='regionlevel', native_enum=False, length=24), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('geometry', sa.Text(), nullable=False),
    sa.Column('imported_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('boundary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_boundary_level'), ['level'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('boundary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_boundary_level'))
    op.drop_table('boundary')
