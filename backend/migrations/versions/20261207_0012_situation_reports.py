"""situation reports: drafts and signed, frozen versions (laporan situasi)

One row per version of a kabupaten's report for a period; a signed row is never changed (its
sha256 is in the audit chain). New table only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import backend.db
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('situation_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('kind', sa.Enum('hourly', 'on_demand', 'daily', name='reportkind', native_enum=False, length=24), nullable=False),
    sa.Column('period_start', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('period_end', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.Column('plan_next', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'signed', name='reportstatus', native_enum=False, length=24), nullable=False),
    sa.Column('signer_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('signer_rank', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('signer_nrp', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
    sa.Column('signed_at', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('content_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('situation_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_situation_report_area_code'), ['area_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_situation_report_period_end'), ['period_end'], unique=False)
        batch_op.create_index('uq_situation_report_version', ['area_code', 'kind', 'period_start', 'period_end', 'version'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('situation_report', schema=None) as batch_op:
        batch_op.drop_index('uq_situation_report_version')
        batch_op.drop_index(batch_op.f('ix_situation_report_period_end'))
        batch_op.drop_index(batch_op.f('ix_situation_report_area_code'))
    op.drop_table('situation_report')
