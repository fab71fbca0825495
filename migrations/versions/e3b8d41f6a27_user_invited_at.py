"""Invitations: when an account's latest invitation link was sent (a new one replaces it).

Revision ID: e3b8d41f6a27
Revises: 9e3b7d1c4a20
Create Date: 2026-12-11 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'e3b8d41f6a27'
down_revision = '9e3b7d1c4a20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invited_at', portal.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    # Links sent before the downgrade keep working until they expire or are used.
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('invited_at')
