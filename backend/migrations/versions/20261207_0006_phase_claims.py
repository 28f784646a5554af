"""phase claims and commander corrections on tps_state

A ping from an officer not assigned to the TPS no longer moves its phase: the highest phase
such officers claimed is kept beside it (`claimed_*`) until a commander confirms it; a
commander's correction is remembered (`corrected_at`), and pings older than it no longer
count. Existing rows start with no claim and no correction. Columns are added in place (a
batch rebuild of tps_state is not needed: ADD COLUMN ... REFERENCES is allowed on SQLite
while the default is NULL).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa

import backend.db
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('tps_state', sa.Column('claimed_rank', sa.Integer(), nullable=False, server_default='-1'))
    op.add_column('tps_state', sa.Column('claimed_at', backend.db.UtcDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE tps_state ADD COLUMN claimed_officer_id INTEGER REFERENCES officer (id)')
    else:
        op.add_column('tps_state', sa.Column('claimed_officer_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            'fk_tps_state_claimed_officer_id', 'tps_state', 'officer', ['claimed_officer_id'], ['id']
        )
    op.add_column('tps_state', sa.Column('corrected_at', backend.db.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_tps_state_claimed_officer_id', 'tps_state', type_='foreignkey')
    # SQLite >= 3.35 drops a column in place unless it carries a constraint: rebuild for that one.
    with op.batch_alter_table('tps_state', schema=None) as batch_op:
        batch_op.drop_column('corrected_at')
        batch_op.drop_column('claimed_officer_id')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_rank')
