"""A national action (a sponsor's act on their company, which belongs to no region) is audited
with no region: only a reader across all regions sees it (on PostgreSQL the existing policy
already hides a row whose region is null from every single region).

Revision ID: 9e4a6c8b0d35
Revises: 5a4cf08a92a6
Create Date: 2026-12-04 22:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e4a6c8b0d35'
down_revision = '5a4cf08a92a6'
branch_labels = None
depends_on = None

SEMARANG = '33.74'


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('region_code', existing_type=sa.String(length=5), nullable=True)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text("SELECT set_config('pijar.region', '*', true)"))
    national = bind.execute(
        sa.text('SELECT count(*) FROM audit_event WHERE region_code IS NULL')
    ).scalar()
    if national:
        raise RuntimeError(
            f'audit_event holds {national} national events; a region column that may not be '
            'empty has no place for them'
        )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('region_code', existing_type=sa.String(length=5), nullable=False)
