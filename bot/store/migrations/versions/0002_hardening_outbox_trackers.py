"""sender-scoped idempotency, turn state, verified identity, outbox, tracker events

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shop_customer_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('email_verified', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('claims', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customers_shop_customer_id'), ['shop_customer_id'], unique=False)
    # Until now every e-mail a customer gave was taken on trust; from here on it is only a claim.
    op.execute("UPDATE customers SET claims = '{}'")
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.alter_column('claims', existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('turn_state', sa.String(length=8), nullable=True))
        batch_op.drop_constraint('uq_message_channel_id', type_='unique')
        batch_op.create_unique_constraint('uq_message_identity_channel_id', ['identity_id', 'channel_message_id'])
        batch_op.create_foreign_key('fk_messages_identity_id', 'channel_identities', ['identity_id'], ['id'],
                                    ondelete='CASCADE')
    op.execute(
        "UPDATE messages SET identity_id = (SELECT identity_id FROM conversations "
        "WHERE conversations.id = messages.conversation_id), turn_state = 'done' "
        "WHERE sender = 'customer'")

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider_message_id', sa.String(length=200), nullable=True),
    sa.Column('provider_status', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('tracker_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_key', sa.String(length=80), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_key', 'seq', name='uq_tracker_event_seq')
    )


def downgrade() -> None:
    op.drop_table('tracker_events')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_index(batch_op.f('ix_outbox_conversation_id'))
    op.drop_table('outbox')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint('fk_messages_identity_id', type_='foreignkey')
        batch_op.drop_constraint('uq_message_identity_channel_id', type_='unique')
        batch_op.create_unique_constraint('uq_message_channel_id', ['channel', 'channel_message_id'])
        batch_op.drop_column('turn_state')
        batch_op.drop_column('identity_id')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_shop_customer_id'))
        batch_op.drop_column('claims')
        batch_op.drop_column('email_verified')
        batch_op.drop_column('shop_customer_id')
