"""review inbox columns, model versions, setting overrides, audit log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('review_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('review', sa.JSON(), nullable=True))
        batch_op.create_index('ix_messages_review', ['review_reason', 'review_status'], unique=False)
    # What was already in the old review list (handoff triggers, labelled messages) stays in the inbox.
    op.execute("UPDATE messages SET review_reason = 'labelled' WHERE label IS NOT NULL AND sender = 'customer'")
    op.execute("UPDATE messages SET review_reason = (SELECT handoff_reason FROM conversations "
               "WHERE conversations.handoff_message_id = messages.id) "
               "WHERE review_reason IS NULL AND id IN (SELECT handoff_message_id FROM conversations "
               "WHERE handoff_message_id IS NOT NULL)")

    op.create_table('models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('config', sa.String(length=80), nullable=False),
    sa.Column('data_version', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('evaluation', sa.JSON(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('setting_overrides',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_created_at'))
    op.drop_table('audit_log')
    op.drop_table('setting_overrides')
    op.drop_table('models')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_review')
        batch_op.drop_column('review')
        batch_op.drop_column('review_status')
        batch_op.drop_column('review_reason')
