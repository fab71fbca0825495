"""Matching: an approval asked for from a page runs as a job.

Revision ID: 522052c197b9
Revises: b1a5cbedf1f1
Create Date: 2026-12-04 15:30:44.477984

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = '522052c197b9'
down_revision = 'b1a5cbedf1f1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('match_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_requested_at', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approval_requested_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_match_run_approval_requested_by_id_user_account'), 'user_account', ['approval_requested_by_id'], ['id'])



def downgrade():
    with op.batch_alter_table('match_run', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_match_run_approval_requested_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('approval_requested_by_id')
        batch_op.drop_column('approval_requested_at')

