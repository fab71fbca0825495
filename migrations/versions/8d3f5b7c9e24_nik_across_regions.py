"""A NIK in several regions: a worker's NIK is unique per region and active (not inactive) in
one region at a time; coverage carries the person's key (the worker's NIK hash, existing rows
copied from their worker) and refuses a second funder for a person-month in any region.
Unique indexes are not filtered by row-level security, so both hold across regions on
PostgreSQL too.

Revision ID: 8d3f5b7c9e24
Revises: 6b1d3f5a7c92
Create Date: 2026-12-05 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8d3f5b7c9e24'
down_revision = '6b1d3f5a7c92'
branch_labels = None
depends_on = None

ACTIVE_NIK = "status <> 'inactive'"


def _see_every_region(bind):
    if bind.dialect.name == 'postgresql':
        bind.execute(sa.text("SELECT set_config('pijar.region', '*', true)"))


def upgrade():
    bind = op.get_bind()
    _see_every_region(bind)
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_worker_nik_hash'), type_='unique')
        batch_op.create_unique_constraint('uq_worker_region_nik', ['region_code', 'nik_hash'])
    op.create_index(
        'uq_worker_active_nik', 'worker', ['nik_hash'], unique=True,
        sqlite_where=sa.text(ACTIVE_NIK), postgresql_where=sa.text(ACTIVE_NIK),
    )
    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_key', sa.String(length=64), nullable=True))
    bind.execute(sa.text(
        'UPDATE coverage SET person_key = '
        '(SELECT worker.nik_hash FROM worker WHERE worker.id = coverage.worker_id)'
    ))
    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.alter_column('person_key', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint('uq_coverage_person_month', ['person_key', 'month'])


def downgrade():
    # Back to a NIK registered once in the whole installation: refused while a NIK is
    # registered in two regions, which that schema cannot hold (merge or remove one first).
    bind = op.get_bind()
    _see_every_region(bind)
    twice = bind.execute(sa.text(
        'SELECT count(*) FROM (SELECT nik_hash FROM worker GROUP BY nik_hash '
        'HAVING count(*) > 1) AS repeated'
    )).scalar()
    if twice:
        raise RuntimeError(
            f'{twice} NIK(s) are registered in more than one region; '
            'the downgrade to one registration per NIK would refuse them'
        )
    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.drop_constraint('uq_coverage_person_month', type_='unique')
        batch_op.drop_column('person_key')
    op.drop_index(
        'uq_worker_active_nik', table_name='worker',
        sqlite_where=sa.text(ACTIVE_NIK), postgresql_where=sa.text(ACTIVE_NIK),
    )
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.drop_constraint('uq_worker_region_nik', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_worker_nik_hash'), ['nik_hash'])
