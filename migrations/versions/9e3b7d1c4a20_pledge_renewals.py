"""Pledges: renewals and automatic renewal; approvals inside the company.

Revision ID: 9e3b7d1c4a20
Revises: 7c4e2a9f1b63
Create Date: 2026-12-04 17:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = '9e3b7d1c4a20'
down_revision = '7c4e2a9f1b63'
branch_labels = None
depends_on = None


STATUS = (
    "status IN ('draft', {}'awaiting_payment', 'paid', 'active', 'completed', 'cancelled', "
    "'refunded')"
)


def upgrade():
    op.create_table('pledge_policy',
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('approval_required', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('second_approval_above', sa.BigInteger(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('second_approval_above IS NULL OR second_approval_above >= 0', name=op.f('ck_pledge_policy_above')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_pledge_policy_company_id_company')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_pledge_policy_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('company_id', name=op.f('pk_pledge_policy'))
    )
    op.create_table('pledge_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=False),
    sa.Column('approved_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approver_id'], ['user_account.id'], name=op.f('fk_pledge_approval_approver_id_user_account')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledge.id'], name=op.f('fk_pledge_approval_pledge_id_pledge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge_approval')),
    sa.UniqueConstraint('pledge_id', 'approver_id', name='once_per_owner')
    )
    with op.batch_alter_table('pledge_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledge_approval_pledge_id'), ['pledge_id'], unique=False)
    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_pledge_status_valid'), type_='check')
        batch_op.create_check_constraint('status_valid', STATUS.format("'awaiting_approval', "))
        batch_op.add_column(sa.Column('renews_pledge_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('auto_renew', sa.Boolean(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_pledge_renews_pledge_id'), ['renews_pledge_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_pledge_renews_pledge_id_pledge'), 'pledge', ['renews_pledge_id'], ['id'])


def downgrade():
    op.execute("UPDATE pledge SET status = 'draft' WHERE status = 'awaiting_approval'")
    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_pledge_status_valid'), type_='check')
        batch_op.create_check_constraint('status_valid', STATUS.format(''))
    with op.batch_alter_table('pledge_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledge_approval_pledge_id'))
    op.drop_table('pledge_approval')
    op.drop_table('pledge_policy')
    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_pledge_renews_pledge_id_pledge'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_pledge_renews_pledge_id'))
        batch_op.drop_column('auto_renew')
        batch_op.drop_column('renews_pledge_id')
