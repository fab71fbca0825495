"""Coverage: one index on (month, funder) instead of one on each.

Counts per month and funder (month close, remittance, the dashboards) then read the index
alone, and every coverage row written updates one index fewer.

Revision ID: 691a74f1df82
Revises: c3206bbdda6c
Create Date: 2026-11-21 15:24:52.944911

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '691a74f1df82'
down_revision = 'c3206bbdda6c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_month_funder', ['month', 'funder'], unique=False)
        batch_op.drop_index(batch_op.f('ix_coverage_funder'))
        batch_op.drop_index(batch_op.f('ix_coverage_month'))


def downgrade():
    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coverage_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_coverage_funder'), ['funder'], unique=False)
        batch_op.drop_index('ix_coverage_month_funder')
