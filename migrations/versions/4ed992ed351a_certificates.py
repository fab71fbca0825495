"""certificates

Revision ID: 4ed992ed351a
Revises: af308d64b105
Create Date: 2026-11-21 12:31:30.622360

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = '4ed992ed351a'
down_revision = 'af308d64b105'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('issued_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoke_reason', sa.Text(), server_default='', nullable=False),
    sa.Column('superseded_by', sa.String(length=32), nullable=True),
    sa.CheckConstraint("kind IN ('active', 'completed')", name=op.f('ck_certificate_kind_valid')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_certificate_company_id_company')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledge.id'], name=op.f('fk_certificate_pledge_id_pledge')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
    sa.UniqueConstraint('serial', name=op.f('uq_certificate_serial'))
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_pledge_id'), ['pledge_id'], unique=False)



def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_pledge_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_company_id'))

    op.drop_table('certificate')
