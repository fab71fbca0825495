"""Worker erasure (UU 27/2022): when a worker's personal data was replaced by a pseudonym.

Revision ID: 7c4e2a9f1b63
Revises: 5d1f0c2e9a41
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = '7c4e2a9f1b63'
down_revision = '5d1f0c2e9a41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            'erased_is_inactive', "erased_at IS NULL OR status = 'inactive'"
        )


def downgrade():
    # The pseudonyms stay: an erasure cannot be undone, only its date is forgotten.
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_worker_erased_is_inactive'), type_='check')
        batch_op.drop_column('erased_at')
