"""Claim stories approved by staff before sponsors read them; TJSL statements (bukti
realisasi TJSL) with a serial per company, year and figures.

Revision ID: 70035263c146
Revises: e3b8d41f6a27
Create Date: 2026-12-04 17:07:16.782034

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = '70035263c146'
down_revision = 'e3b8d41f6a27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tjsl_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('company_name', sa.String(length=200), nullable=False),
    sa.Column('plan_amount', sa.BigInteger(), nullable=False),
    sa.Column('realised_amount', sa.BigInteger(), nullable=False),
    sa.Column('realised_through', sa.Date(), nullable=False),
    sa.Column('pledge_ids', sa.JSON(), nullable=False),
    sa.Column('receipts', sa.JSON(), nullable=False),
    sa.Column('issued_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('plan_amount >= 0', name=op.f('ck_tjsl_statement_plan_not_negative')),
    sa.CheckConstraint('realised_amount > 0', name=op.f('ck_tjsl_statement_realised_positive')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2999', name=op.f('ck_tjsl_statement_year_valid')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_tjsl_statement_company_id_company')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user_account.id'], name=op.f('fk_tjsl_statement_issued_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tjsl_statement')),
    sa.UniqueConstraint('company_id', 'year', 'plan_amount', 'realised_amount', name='uq_tjsl_statement_figures'),
    sa.UniqueConstraint('serial', name=op.f('uq_tjsl_statement_serial'))
    )
    with op.batch_alter_table('tjsl_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tjsl_statement_company_id'), ['company_id'], unique=False)

    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('story_approved_at', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('story_approved_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_claim_story_approved_by_id_user_account'), 'user_account', ['story_approved_by_id'], ['id'])
        batch_op.create_check_constraint(
            'story_approved_text', "story_approved_at IS NULL OR story <> ''"
        )


def downgrade():
    # Approvals are forgotten: every story goes back to unapproved (sponsors stop seeing it).
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_claim_story_approved_text'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_claim_story_approved_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('story_approved_by_id')
        batch_op.drop_column('story_approved_at')

    with op.batch_alter_table('tjsl_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tjsl_statement_company_id'))

    op.drop_table('tjsl_statement')
