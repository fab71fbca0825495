"""Events remember the region they happened in (their handlers run in its scope); staff,
admins and auditors work in one region (the existing ones in Kota Semarang), sponsors in none.

Revision ID: 177bb5adee83
Revises: deccea9cb26c
Create Date: 2026-12-04 20:25:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '177bb5adee83'
down_revision = 'deccea9cb26c'
branch_labels = None
depends_on = None

SEMARANG = '33.74'
STAFF_REGION = "(role IN ('sponsor_owner', 'sponsor_member')) = (region_code IS NULL)"


def upgrade():
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sa.String(length=5), server_default=SEMARANG, nullable=False))
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.alter_column('region_code', server_default=None)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sa.String(length=5), nullable=True))
    op.execute(
        f"UPDATE user_account SET region_code = '{SEMARANG}' "
        "WHERE role NOT IN ('sponsor_owner', 'sponsor_member')"
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_region_code'), ['region_code'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_account_region_code_region'), 'region', ['region_code'], ['code'])
        batch_op.create_check_constraint('staff_have_a_region', STAFF_REGION)


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_account_staff_have_a_region'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_user_account_region_code_region'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_account_region_code'))
        batch_op.drop_column('region_code')
    with op.batch_alter_table('outbox_event', schema=None) as batch_op:
        batch_op.drop_column('region_code')
