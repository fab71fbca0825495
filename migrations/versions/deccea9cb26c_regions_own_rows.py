"""Regions own their rows: workers, imports, pledges, payments, coverage, month closes,
remittances, match runs, rules versions, claims, certificates and ledger entries carry a
region_code (existing rows are Kota Semarang's). A month is closed, and a funder's month
remitted, once per region. On PostgreSQL each of these tables has a row-level security policy:
a session sees and writes only the rows of the region in its `pijar.region` setting ('*': all).

Revision ID: deccea9cb26c
Revises: 4d2c9a7e1b35
Create Date: 2026-12-04 20:04:02.250253

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'deccea9cb26c'
down_revision = '4d2c9a7e1b35'
branch_labels = None
depends_on = None

SEMARANG = '33.74'
TABLES = (
    'certificate', 'claim', 'coverage', 'ledger_entry', 'match_run', 'month_close', 'payment',
    'pledge', 'remittance', 'rule_version', 'worker', 'worker_import_job',
)
POLICY = (
    "region_code = current_setting('pijar.region', true) "
    "OR current_setting('pijar.region', true) = '*'"
)


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('region_code', sa.String(length=5), server_default=SEMARANG, nullable=False))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('region_code', server_default=None)
            batch_op.create_index(batch_op.f(f'ix_{table}_region_code'), ['region_code'], unique=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_region_code_region'), 'region', ['region_code'], ['code'])
    with op.batch_alter_table('month_close', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_month_close_month'), type_='unique')
        batch_op.create_unique_constraint('uq_month_close_region_month', ['region_code', 'month'])
    with op.batch_alter_table('remittance', schema=None) as batch_op:
        batch_op.drop_constraint('uq_remittance_month_funder', type_='unique')
        batch_op.create_unique_constraint('uq_remittance_region_month_funder', ['region_code', 'month', 'funder'])
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f'ALTER TABLE {table} ENABLE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE {table} FORCE ROW LEVEL SECURITY')
            op.execute(f'CREATE POLICY region_isolation ON {table} USING ({POLICY}) WITH CHECK ({POLICY})')


def downgrade():
    # Back to one region: refused while another region holds rows, which one region's schema
    # cannot keep apart (move or remove them first).
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text("SELECT set_config('pijar.region', '*', true)"))
    for table in TABLES:
        others = bind.execute(
            sa.text(f"SELECT count(*) FROM {table} WHERE region_code <> :code"), {'code': SEMARANG}
        ).scalar()
        if others:
            raise RuntimeError(
                f'{table} holds {others} rows of regions other than {SEMARANG}; '
                'the downgrade to one region would mix them'
            )
    if bind.dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f'DROP POLICY IF EXISTS region_isolation ON {table}')
            op.execute(f'ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE {table} DISABLE ROW LEVEL SECURITY')
    with op.batch_alter_table('remittance', schema=None) as batch_op:
        batch_op.drop_constraint('uq_remittance_region_month_funder', type_='unique')
        batch_op.create_unique_constraint('uq_remittance_month_funder', ['month', 'funder'])
    with op.batch_alter_table('month_close', schema=None) as batch_op:
        batch_op.drop_constraint('uq_month_close_region_month', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_month_close_month'), ['month'])
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_region_code_region'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_region_code'))
            batch_op.drop_column('region_code')
