"""change marks: when a TPS state or an officer's liveness last changed (server time)

The alert sweeper reads only the rows changed since its last tick (backend/alerts/incremental):
every writer of `tps_state` and of an officer's liveness sets `changed_at` to the real time of
the write, and the index finds them. NULL on rows not changed since this revision: the sweeper's
full reconcile reads those.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa

import backend.db
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tps_state') as batch:
        batch.add_column(sa.Column('changed_at', backend.db.UtcDateTime(timezone=True), nullable=True))
        batch.create_index(batch.f('ix_tps_state_changed_at'), ['changed_at'], unique=False)
    with op.batch_alter_table('officer') as batch:
        batch.add_column(sa.Column('changed_at', backend.db.UtcDateTime(timezone=True), nullable=True))
        batch.create_index(batch.f('ix_officer_changed_at'), ['changed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('officer') as batch:
        batch.drop_index(batch.f('ix_officer_changed_at'))
        batch.drop_column('changed_at')
    with op.batch_alter_table('tps_state') as batch:
        batch.drop_index(batch.f('ix_tps_state_changed_at'))
        batch.drop_column('changed_at')
