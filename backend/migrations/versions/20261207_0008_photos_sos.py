"""incident photos and the officer's SOS

`incident_photo` keeps the photos of incident reports (bytes as sent, a JPEG thumbnail, their
sha256), at most one per (report, index), deleted with their report. `is_sos` marks a report
and an incident that hold an officer's SOS; `incident.sos_acknowledged_at` is when someone at
the post acknowledged it (the `sos` alert stands until then, or until the incident is
accepted). Existing rows are no SOS. Columns are added in place (NOT NULL with a default is
allowed on SQLite).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import backend.db
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('incident', sa.Column('is_sos', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('incident', sa.Column('sos_acknowledged_at', backend.db.UtcDateTime(timezone=True), nullable=True))
    op.add_column('incident_report', sa.Column('is_sos', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('incident_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('photo_index', sa.Integer(), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('thumb', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['incident_report.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_id', 'photo_index', name='uq_incident_photo_slot')
    )


def downgrade() -> None:
    op.drop_table('incident_photo')
    with op.batch_alter_table('incident_report', schema=None) as batch_op:
        batch_op.drop_column('is_sos')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('sos_acknowledged_at')
        batch_op.drop_column('is_sos')
