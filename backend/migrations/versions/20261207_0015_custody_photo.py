"""custody seal photos in the photo store

A photo's owner is an incident report or, now, a custody step (the seals of a `segel`):
`incident_photo.custody_event_id` (deleted with its step), `report_id` becomes nullable, a check
keeps exactly one owner, and one photo per (step, index) as per (report, index). Existing rows
are incident photos and keep their report. Batch mode: SQLite rebuilds the table to relax the
NOT NULL; PostgreSQL alters it in place.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 14:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incident_photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('custody_event_id', sa.Integer(), nullable=True))
        batch_op.alter_column('report_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            'fk_incident_photo_custody_event', 'custody_event', ['custody_event_id'], ['id'],
            ondelete='CASCADE',
        )
        batch_op.create_unique_constraint(
            'uq_custody_photo_slot', ['custody_event_id', 'photo_index']
        )
        batch_op.create_check_constraint(
            'ck_photo_one_owner', '(report_id IS NULL) <> (custody_event_id IS NULL)'
        )


def downgrade() -> None:
    op.execute("DELETE FROM incident_photo WHERE custody_event_id IS NOT NULL")
    with op.batch_alter_table('incident_photo', schema=None) as batch_op:
        batch_op.drop_constraint('ck_photo_one_owner', type_='check')
        batch_op.drop_constraint('uq_custody_photo_slot', type_='unique')
        batch_op.drop_constraint('fk_incident_photo_custody_event', type_='foreignkey')
        batch_op.alter_column('report_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('custody_event_id')
