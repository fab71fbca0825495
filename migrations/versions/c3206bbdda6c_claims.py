"""claims: JKK/JKM benefit events of covered workers, tied to the month's coverage

Revision ID: c3206bbdda6c
Revises: 4ed992ed351a
Create Date: 2026-11-21 12:54:35.639281

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c3206bbdda6c'
down_revision = '4ed992ed351a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('coverage_id', sa.Integer(), nullable=False),
    sa.Column('funder', sa.String(length=8), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=True),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('story', sa.Text(), server_default='', nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(funder = 'pledge') = (pledge_id IS NOT NULL)", name=op.f('ck_claim_pledge_funder')),
    sa.CheckConstraint("funder IN ('apbd', 'dbhcht', 'pledge')", name=op.f('ck_claim_funder_valid')),
    sa.CheckConstraint("kind IN ('jkk', 'jkm')", name=op.f('ck_claim_kind_valid')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_claim_amount_positive')),
    sa.CheckConstraint('length(story) <= 500', name=op.f('ck_claim_story_length')),
    sa.ForeignKeyConstraint(['coverage_id'], ['coverage.id'], name=op.f('fk_claim_coverage_id_coverage')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledge.id'], name=op.f('fk_claim_pledge_id_pledge')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_claim_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_claim_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim')),
    sa.UniqueConstraint('worker_id', 'kind', 'event_date', name='uq_claim_worker_kind_date')
    )
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_coverage_id'), ['coverage_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_pledge_id'), ['pledge_id'], unique=False)


def downgrade():
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_pledge_id'))
        batch_op.drop_index(batch_op.f('ix_claim_month'))
        batch_op.drop_index(batch_op.f('ix_claim_coverage_id'))

    op.drop_table('claim')
