"""replay: the history of incidents and alerts

A replay of a moment (backend/replay) needs each incident and alert as it was then, but those
rows are updated in place. `incident_version` keeps an incident's changing columns and its
reports after every change; `alert_version` an alert's after every change (raised, held,
released, acknowledged, silenced). Both are written in the change's own transaction. New
tables only; rows changed before this revision replay as they are now (best effort).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import backend.db
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    op.create_table('incident_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('baru', 'diterima', 'ditangani', 'selesai', 'ditutup', name='incidentstatus', native_enum=False, length=24), nullable=False),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('opened_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('is_sos', sa.Boolean(), nullable=False),
    sa.Column('report_ids', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_incident_version_incident_at', 'incident_version', ['incident_id', 'at'], unique=False)
    op.create_index(op.f('ix_incident_version_at'), 'incident_version', ['at'], unique=False)
    op.create_table('alert_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('severity', sa.Enum('warning', 'critical', name='alertseverity', native_enum=False, length=24), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True),
    sa.Column('silenced_at', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('silenced_by', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True),
    sa.Column('silenced_until', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_alert_version_alert_at', 'alert_version', ['alert_id', 'at'], unique=False)
    op.create_index(op.f('ix_alert_version_at'), 'alert_version', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_alert_version_at'), table_name='alert_version')
    op.drop_index('ix_alert_version_alert_at', table_name='alert_version')
    op.drop_table('alert_version')
    op.drop_index(op.f('ix_incident_version_at'), table_name='incident_version')
    op.drop_index('ix_incident_version_incident_at', table_name='incident_version')
    op.drop_table('incident_version')
