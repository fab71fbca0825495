"""Each region owns its categories (with their risk weights) and its rate schedule: both carry a
region_code (the existing rows are Kota Semarang's), and a category's code is unique within its
region. On PostgreSQL both tables get the same row-level security policy as the other
region-owned tables.

Revision ID: 6b1d3f5a7c92
Revises: 7c2e4a6b8d13
Create Date: 2026-12-05 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6b1d3f5a7c92'
down_revision = '7c2e4a6b8d13'
branch_labels = None
depends_on = None

SEMARANG = '33.74'
TABLES = ('category', 'rate_schedule')
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
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_category_code'), type_='unique')
        batch_op.create_unique_constraint('uq_category_region_code', ['region_code', 'code'])
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f'ALTER TABLE {table} ENABLE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE {table} FORCE ROW LEVEL SECURITY')
            op.execute(f'CREATE POLICY region_isolation ON {table} USING ({POLICY}) WITH CHECK ({POLICY})')


def downgrade():
    # Back to one national list of categories and one rate schedule: refused while another
    # region holds rows, whose codes would collide and whose rates would overlap Semarang's.
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
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.drop_constraint('uq_category_region_code', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_category_code'), ['code'])
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_region_code_region'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_region_code'))
            batch_op.drop_column('region_code')
