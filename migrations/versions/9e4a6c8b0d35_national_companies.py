"""Companies are national and pledge in any region:

- a national action (a sponsor's act on their company, which belongs to no region) is audited
  with no region: only a reader across all regions sees it (the existing policy already hides
  a row whose region is null from every single region);
- a month's ledger keys ("city:apbd:2027-01", "remit:pledge:2027-01") repeat in every region:
  an entry is unique per region, kind and key;
- payment issues, bank statement imports, refund approvals and payment documents (invoices,
  receipts, refund notes) belong to the region of their money (existing rows are Kota
  Semarang's), with the row-level security policy of the other region-owned tables.

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
TABLES = ('payment_issue', 'statement_import', 'refund_approval', 'payment_document')
POLICY = (
    "region_code = current_setting('pijar.region', true) "
    "OR current_setting('pijar.region', true) = '*'"
)


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('region_code', existing_type=sa.String(length=5), nullable=True)
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_constraint('uq_ledger_entry_kind_source', type_='unique')
        batch_op.create_unique_constraint(
            'uq_ledger_entry_region_kind_source', ['region_code', 'kind', 'source_key']
        )
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('region_code', sa.String(length=5), server_default=SEMARANG, nullable=False))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('region_code', server_default=None)
            batch_op.create_index(batch_op.f(f'ix_{table}_region_code'), ['region_code'], unique=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_region_code_region'), 'region', ['region_code'], ['code'])
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f'ALTER TABLE {table} ENABLE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE {table} FORCE ROW LEVEL SECURITY')
            op.execute(f'CREATE POLICY region_isolation ON {table} USING ({POLICY}) WITH CHECK ({POLICY})')


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text("SELECT set_config('pijar.region', '*', true)"))
    checks = [
        ('audit_event', 'region_code IS NULL', 'national events'),
        ('ledger_entry', 'region_code <> :code', 'entries of other regions'),
    ] + [(table, 'region_code <> :code', 'rows of other regions') for table in TABLES]
    for table, where, what in checks:
        found = bind.execute(
            sa.text(f'SELECT count(*) FROM {table} WHERE {where}'), {'code': SEMARANG}
        ).scalar()
        if found:
            raise RuntimeError(f'{table} holds {found} {what}; the downgrade would lose them')
    if bind.dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f'DROP POLICY IF EXISTS region_isolation ON {table}')
            op.execute(f'ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY')
            op.execute(f'ALTER TABLE {table} DISABLE ROW LEVEL SECURITY')
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_region_code_region'), type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_region_code'))
            batch_op.drop_column('region_code')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_constraint('uq_ledger_entry_region_kind_source', type_='unique')
        batch_op.create_unique_constraint('uq_ledger_entry_kind_source', ['kind', 'source_key'])
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('region_code', existing_type=sa.String(length=5), nullable=False)
