"""The audit trail belongs to regions: each event carries the region it happened in (the
existing ones are Kota Semarang's), and a region's auditors read only theirs. On PostgreSQL the
table gets the same row-level security policy as the other region-owned tables.

Revision ID: 5a4cf08a92a6
Revises: 177bb5adee83
Create Date: 2026-12-04 20:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a4cf08a92a6'
down_revision = '177bb5adee83'
branch_labels = None
depends_on = None

SEMARANG = '33.74'
POLICY = (
    "region_code = current_setting('pijar.region', true) "
    "OR current_setting('pijar.region', true) = '*'"
)


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sa.String(length=5), server_default=SEMARANG, nullable=False))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('region_code', server_default=None)
        batch_op.create_index(batch_op.f('ix_audit_event_region_code'), ['region_code'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_audit_event_region_code_region'), 'region', ['region_code'], ['code'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE audit_event ENABLE ROW LEVEL SECURITY')
        op.execute('ALTER TABLE audit_event FORCE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY region_isolation ON audit_event USING ({POLICY}) WITH CHECK ({POLICY})')


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text("SELECT set_config('pijar.region', '*', true)"))
    others = bind.execute(
        sa.text("SELECT count(*) FROM audit_event WHERE region_code <> :code"), {'code': SEMARANG}
    ).scalar()
    if others:
        raise RuntimeError(
            f'audit_event holds {others} rows of regions other than {SEMARANG}; '
            'the downgrade to one region would mix them'
        )
    if bind.dialect.name == 'postgresql':
        op.execute('DROP POLICY IF EXISTS region_isolation ON audit_event')
        op.execute('ALTER TABLE audit_event NO FORCE ROW LEVEL SECURITY')
        op.execute('ALTER TABLE audit_event DISABLE ROW LEVEL SECURITY')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_event_region_code_region'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_event_region_code'))
        batch_op.drop_column('region_code')
