"""Bank statement import results kept until dismissed.

Revision ID: 8a41c7d2e5f0
Revises: 70035263c146
Create Date: 2026-12-04 17:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = '8a41c7d2e5f0'
down_revision = '70035263c146'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('statement_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), server_default='', nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('dismissed_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('lines >= 0', name=op.f('ck_statement_import_lines_non_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_statement_import_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['dismissed_by_id'], ['user_account.id'], name=op.f('fk_statement_import_dismissed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_import'))
    )
    with op.batch_alter_table('statement_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_import_dismissed_at'), ['dismissed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('statement_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_import_dismissed_at'))

    op.drop_table('statement_import')
