"""Regions: a kota or kabupaten by its Kemendagri code; kecamatan belong to one. The areas that
exist are Kota Semarang's (33.74), so they and the region migrate as Kota Semarang.

Revision ID: 4d2c9a7e1b35
Revises: b6f2e8a4c193
Create Date: 2026-12-04 20:00:00.000000

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = '4d2c9a7e1b35'
down_revision = 'b6f2e8a4c193'
branch_labels = None
depends_on = None

SEMARANG = '33.74'


def upgrade():
    region = op.create_table('region',
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('regulation', sa.String(length=200), server_default='', nullable=False),
    sa.Column('bank_name', sa.String(length=80), server_default='', nullable=False),
    sa.Column('bank_account_number', sa.String(length=40), server_default='', nullable=False),
    sa.Column('bank_account_name', sa.String(length=120), server_default='', nullable=False),
    sa.Column('mail_sender', sa.String(length=200), server_default='', nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_region'))
    )
    op.bulk_insert(region, [{
        'code': SEMARANG,
        'name': 'Kota Semarang',
        'regulation': 'Peraturan Wali Kota Semarang Nomor 26 Tahun 2025',
        'created_at': datetime.now(UTC),
    }])
    with op.batch_alter_table('kecamatan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sa.String(length=5), server_default=SEMARANG, nullable=False))
    with op.batch_alter_table('kecamatan', schema=None) as batch_op:
        batch_op.alter_column('region_code', server_default=None)
        batch_op.create_index(batch_op.f('ix_kecamatan_region_code'), ['region_code'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_kecamatan_region_code_region'), 'region', ['region_code'], ['code'])


def downgrade():
    # One region only before this revision: the areas of regions added since go with them
    # (workers are registered in Kota Semarang alone at this revision).
    op.execute(
        "DELETE FROM kelurahan WHERE kecamatan_code IN "
        f"(SELECT code FROM kecamatan WHERE region_code <> '{SEMARANG}')"
    )
    op.execute(f"DELETE FROM kecamatan WHERE region_code <> '{SEMARANG}'")
    with op.batch_alter_table('kecamatan', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_kecamatan_region_code_region'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_kecamatan_region_code'))
        batch_op.drop_column('region_code')
    op.drop_table('region')
