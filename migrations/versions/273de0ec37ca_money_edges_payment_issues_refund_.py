"""Money edges: payment issues, refund sources, void payments, pledge hold and unused notice.

Revision ID: 273de0ec37ca
Revises: 691a74f1df82
Create Date: 2026-12-04 14:03:33.436260

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = '273de0ec37ca'
down_revision = '691a74f1df82'
branch_labels = None
depends_on = None

STATUS_CHECK = "status IN ('pending', 'paid', 'failed', 'expired'{})"
SOURCE_CHECK = ("source IN ('staff', 'stripe', 'duplicate', 'overpayment', 'unused', "
                "'dispute', 'rollover')")
METHOD_CHECK = "method IN ('stripe', 'bank_transfer'{})"
KIND_CHECK = "kind IN ('invoice', 'receipt'{})"


def upgrade():
    op.create_table('payment_issue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("kind IN ('overpayment', 'underpayment', 'unbookable', 'dispute', 'refund_request')", name=op.f('ck_payment_issue_kind_valid')),
    sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f('ck_payment_issue_status_valid')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_payment_issue_amount_non_negative')),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_payment_issue_company_id_company')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_payment_issue_payment_id_payment')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledge.id'], name=op.f('fk_payment_issue_pledge_id_pledge')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user_account.id'], name=op.f('fk_payment_issue_resolved_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_issue')),
    sa.UniqueConstraint('external_id', name=op.f('uq_payment_issue_external_id'))
    )
    with op.batch_alter_table('payment_issue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_issue_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_issue_pledge_id'), ['pledge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_issue_status'), ['status'], unique=False)

    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('on_hold', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('unused_notice_at', portal.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='staff', nullable=False))
        batch_op.add_column(sa.Column('bank_reference', sa.String(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('stripe_claimed_at', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint('source_valid', SOURCE_CHECK)

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payment_status_valid'), type_='check')
        batch_op.create_check_constraint('status_valid', STATUS_CHECK.format(", 'void'"))
        batch_op.drop_constraint(batch_op.f('ck_payment_method_valid'), type_='check')
        batch_op.create_check_constraint('method_valid', METHOD_CHECK.format(", 'rollover'"))

    with op.batch_alter_table('payment_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_payment_document_refund_id'), ['refund_id'])
        batch_op.create_foreign_key(batch_op.f('fk_payment_document_refund_id_refund'), 'refund', ['refund_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('uq_payment_document_kind_payment'), type_='unique')
        batch_op.drop_constraint(batch_op.f('ck_payment_document_kind_valid'), type_='check')
        batch_op.create_check_constraint('kind_valid', KIND_CHECK.format(", 'refund'"))
    # One invoice and one receipt per payment; refund notes are one per refund.
    op.create_index('uq_payment_document_kind_payment', 'payment_document', ['kind', 'payment_id'],
                    unique=True, sqlite_where=sa.text('refund_id IS NULL'),
                    postgresql_where=sa.text('refund_id IS NULL'))



def downgrade():
    op.execute("DELETE FROM payment_document WHERE kind = 'refund'")
    op.drop_index('uq_payment_document_kind_payment', table_name='payment_document')
    with op.batch_alter_table('payment_document', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payment_document_kind_valid'), type_='check')
        batch_op.create_check_constraint('kind_valid', KIND_CHECK.format(''))
        batch_op.create_unique_constraint(batch_op.f('uq_payment_document_kind_payment'), ['kind', 'payment_id'])
        batch_op.drop_constraint(batch_op.f('fk_payment_document_refund_id_refund'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_payment_document_refund_id'), type_='unique')
        batch_op.drop_column('refund_id')

    # Void attempts read as expired, and roll-over payments as transfers, in the old schema.
    op.execute("UPDATE payment SET status = 'expired' WHERE status = 'void'")
    op.execute("UPDATE payment SET method = 'bank_transfer' WHERE method = 'rollover'")
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payment_status_valid'), type_='check')
        batch_op.create_check_constraint('status_valid', STATUS_CHECK.format(''))
        batch_op.drop_constraint(batch_op.f('ck_payment_method_valid'), type_='check')
        batch_op.create_check_constraint('method_valid', METHOD_CHECK.format(''))

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_refund_source_valid'), type_='check')
        batch_op.drop_column('stripe_claimed_at')
        batch_op.drop_column('bank_reference')
        batch_op.drop_column('source')

    with op.batch_alter_table('pledge', schema=None) as batch_op:
        batch_op.drop_column('unused_notice_at')
        batch_op.drop_column('on_hold')

    with op.batch_alter_table('payment_issue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_issue_status'))
        batch_op.drop_index(batch_op.f('ix_payment_issue_pledge_id'))
        batch_op.drop_index(batch_op.f('ix_payment_issue_company_id'))

    op.drop_table('payment_issue')
