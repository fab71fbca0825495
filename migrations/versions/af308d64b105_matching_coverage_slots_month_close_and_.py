"""matching, coverage slots, month close and remittance

Revision ID: af308d64b105
Revises: 2b933b04caf1
Create Date: 2026-11-21 12:17:27.402758

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'af308d64b105'
down_revision = '2b933b04caf1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('month_close',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'], name=op.f('fk_month_close_closed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_month_close')),
    sa.UniqueConstraint('month', name=op.f('uq_month_close_month'))
    )
    op.create_table('remittance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('funder', sa.String(length=8), nullable=False),
    sa.Column('workers', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('remitted_by_id', sa.Integer(), nullable=True),
    sa.Column('remitted_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("funder IN ('apbd', 'dbhcht', 'csr')", name=op.f('ck_remittance_funder_valid')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_remittance_amount_non_negative')),
    sa.ForeignKeyConstraint(['remitted_by_id'], ['user_account.id'], name=op.f('fk_remittance_remitted_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remittance')),
    sa.UniqueConstraint('month', 'funder', name='uq_remittance_month_funder')
    )
    op.create_table('rule_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_rule_version_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_version'))
    )
    op.create_table('match_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('placed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('coverage_rows', sa.Integer(), server_default='0', nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('failure', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'stale', 'discarded')", name=op.f('ck_match_run_status_valid')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user_account.id'], name=op.f('fk_match_run_approved_by_id_user_account')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], name=op.f('fk_match_run_proposed_by_id_user_account')),
    sa.ForeignKeyConstraint(['rule_version'], ['rule_version.id'], name=op.f('fk_match_run_rule_version_rule_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_run'))
    )
    with op.batch_alter_table('match_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_run_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_run_status'), ['status'], unique=False)

    op.create_table('match_placement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('funder', sa.String(length=8), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=True),
    sa.Column('slot', sa.Integer(), nullable=True),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.CheckConstraint("(funder = 'pledge') = (pledge_id IS NOT NULL)", name=op.f('ck_match_placement_pledge_funder')),
    sa.CheckConstraint('months > 0', name=op.f('ck_match_placement_months_positive')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledge.id'], name=op.f('fk_match_placement_pledge_id_pledge')),
    sa.ForeignKeyConstraint(['run_id'], ['match_run.id'], name=op.f('fk_match_placement_run_id_match_run')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_match_placement_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_placement'))
    )
    with op.batch_alter_table('match_placement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_placement_run_id'), ['run_id'], unique=False)

    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pledge_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('slot', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_coverage_pledge_id'), ['pledge_id'], unique=False)
        batch_op.create_unique_constraint('uq_coverage_pledge_slot_month', ['pledge_id', 'slot', 'month'])
        batch_op.create_foreign_key(batch_op.f('fk_coverage_run_id_match_run'), 'match_run', ['run_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_coverage_pledge_id_pledge'), 'pledge', ['pledge_id'], ['id'])
        batch_op.create_check_constraint(
            'pledge_funder', "(funder = 'pledge') = (pledge_id IS NOT NULL AND slot IS NOT NULL)")

    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coverage_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('renewal_offered_at', portal.db.UTCDateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.drop_column('renewal_offered_at')
        batch_op.drop_column('coverage_start')

    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_coverage_pledge_funder'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_coverage_pledge_id_pledge'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_coverage_run_id_match_run'), type_='foreignkey')
        batch_op.drop_constraint('uq_coverage_pledge_slot_month', type_='unique')
        batch_op.drop_index(batch_op.f('ix_coverage_pledge_id'))
        batch_op.drop_column('run_id')
        batch_op.drop_column('slot')
        batch_op.drop_column('pledge_id')

    with op.batch_alter_table('match_placement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_placement_run_id'))

    op.drop_table('match_placement')
    with op.batch_alter_table('match_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_run_status'))
        batch_op.drop_index(batch_op.f('ix_match_run_month'))

    op.drop_table('match_run')
    op.drop_table('rule_version')
    op.drop_table('remittance')
    op.drop_table('month_close')
