"""enrolment: one-time links that put an officer's device credential on a phone

Only the SHA-256 of each link's code is stored; the link itself is shown once (the printed
sheet). A new table, nothing existing changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 18:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import backend.db
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('enrolment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', backend.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', backend.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('credential_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credential.id'], ),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_officer_id'), ['officer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_officer_id'))
    op.drop_table('enrolment')
