"""audit: keyed chain from here on, an area per entry, checkpoints through the outbox

Existing entries keep their SHA-256 hashes and verify as before: `audit_head.keyed_from` is set
to the next seq, and only entries from there on are HMAC-chained with the audit key. Their
area stays empty (national readers only): their hashes cannot cover an area added now, and an
area that nothing protects could be edited to show an entry to another kabupaten.
`alert_outbox.alert_id` becomes nullable for checkpoint deliveries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('area_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=True)
        )
        batch_op.create_index(batch_op.f('ix_audit_entry_area_code'), ['area_code'], unique=False)
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('keyed_from', sa.Integer(), nullable=False, server_default='1')
        )
        batch_op.add_column(
            sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    op.execute("UPDATE audit_head SET keyed_from = seq + 1")
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.alter_column('keyed_from', server_default=None)
    with op.batch_alter_table('alert_outbox', schema=None) as batch_op:
        batch_op.alter_column('alert_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM alert_outbox WHERE alert_id IS NULL")
    with op.batch_alter_table('alert_outbox', schema=None) as batch_op:
        batch_op.alter_column('alert_id', existing_type=sa.Integer(), nullable=False)
    # Keyed entries cannot be turned back into SHA-256 ones: an older Posko reports them as
    # edited. Downgrade only to go back to a copy taken before the upgrade.
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('key_id')
        batch_op.drop_column('keyed_from')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_area_code'))
        batch_op.drop_column('area_code')
