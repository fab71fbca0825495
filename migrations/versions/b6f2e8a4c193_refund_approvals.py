"""Payments: a staff refund above the rules' amount waits for a second staff member.

Revision ID: b6f2e8a4c193
Revises: 8a41c7d2e5f0
Create Date: 2026-12-04 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'b6f2e8a4c193'
down_revision = '8a41c7d2e5f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('refund_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('bank_reference', sa.String(length=100), server_default='', nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("status IN ('waiting', 'approved', 'declined')", name=op.f('ck_refund_approval_status_valid')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refund_approval_amount_positive')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_refund_approval_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledge.id'], name=op.f('fk_refund_approval_pledge_id_pledge')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_refund_approval_requested_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_approval'))
    )
    with op.batch_alter_table('refund_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_approval_pledge_id'), ['pledge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_approval_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('refund_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_approval_status'))
        batch_op.drop_index(batch_op.f('ix_refund_approval_pledge_id'))
    op.drop_table('refund_approval')
