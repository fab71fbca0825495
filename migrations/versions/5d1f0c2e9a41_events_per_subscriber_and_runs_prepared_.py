"""Events: one row per subscriber, with a subject; match runs prepared by a job; the
ledger finds a payment's lines by index.

Revision ID: 5d1f0c2e9a41
Revises: 522052c197b9
Create Date: 2026-12-04 16:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d1f0c2e9a41'
down_revision = '522052c197b9'
branch_labels = None
depends_on = None

RUN_STATUS = "status IN ({}'proposed', 'approved', 'stale', 'discarded')"


def upgrade():
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handler', sa.String(length=60), server_default='', nullable=False))
        batch_op.add_column(sa.Column('subject', sa.String(length=60), server_default='', nullable=False))
        batch_op.create_index('ix_outbox_event_subject_kind', ['subject', 'kind'], unique=False)
    with op.batch_alter_table('match_run', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_match_run_status_valid'), type_='check')
        batch_op.create_check_constraint('status_valid', RUN_STATUS.format("'preparing', "))
    with op.batch_alter_table('ledger_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_line_payment_id'), ['payment_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ledger_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_line_payment_id'))
    op.execute("UPDATE match_run SET status = 'discarded' WHERE status = 'preparing'")
    with op.batch_alter_table('match_run', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_match_run_status_valid'), type_='check')
        batch_op.create_check_constraint('status_valid', RUN_STATUS.format(''))
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_event_subject_kind')
        batch_op.drop_column('subject')
        batch_op.drop_column('handler')
