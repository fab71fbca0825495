"""The national role: the programme's administrator, with neither a company nor a region
(staff, admins and auditors keep exactly one region, sponsors none).

Revision ID: 7c2e4a6b8d13
Revises: 9e4a6c8b0d35
Create Date: 2026-12-05 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c2e4a6b8d13'
down_revision = '9e4a6c8b0d35'
branch_labels = None
depends_on = None

ROLES = "role IN ('sponsor_owner', 'sponsor_member', 'staff', 'admin', 'auditor', 'national')"
OLD_ROLES = "role IN ('sponsor_owner', 'sponsor_member', 'staff', 'admin', 'auditor')"
STAFF_REGION = "(role IN ('staff', 'admin', 'auditor')) = (region_code IS NOT NULL)"
OLD_STAFF_REGION = "(role IN ('sponsor_owner', 'sponsor_member')) = (region_code IS NULL)"


def upgrade():
    _replace_checks(ROLES, STAFF_REGION)


def downgrade():
    national = op.get_bind().execute(
        sa.text("SELECT count(*) FROM user_account WHERE role = 'national'")
    ).scalar()
    if national:
        raise RuntimeError(
            f'user_account holds {national} national users; remove them before the downgrade '
            '(the older schema has no national role)'
        )
    _replace_checks(OLD_ROLES, OLD_STAFF_REGION)


def _replace_checks(roles, staff_region):
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_account_role_valid'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_user_account_staff_have_a_region'), type_='check')
        batch_op.create_check_constraint('role_valid', roles)
        batch_op.create_check_constraint('staff_have_a_region', staff_region)
