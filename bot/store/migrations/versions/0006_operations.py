"""the customer's wait, reporting events, satisfaction ratings, conversation tags (issue 18)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stated_position', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('wait_notified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('message_offered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('left_message_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('announced_assignee_id', sa.Integer(), nullable=True))

    op.create_table('reporting_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reporting_events', schema=None) as batch_op:
        batch_op.create_index('ix_reporting_events_name_created', ['name', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reporting_events_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reporting_events_agent_id'), ['agent_id'], unique=False)

    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('request_message_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_message_id')
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ratings_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_created_at'), ['created_at'], unique=False)

    op.create_table('conversation_tags',
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('conversation_id', 'tag')
    )
    with op.batch_alter_table('conversation_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_tags_tag'), ['tag'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conversation_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_tags_tag'))
    op.drop_table('conversation_tags')
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ratings_created_at'))
        batch_op.drop_index(batch_op.f('ix_ratings_agent_id'))
        batch_op.drop_index(batch_op.f('ix_ratings_conversation_id'))
    op.drop_table('ratings')
    with op.batch_alter_table('reporting_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reporting_events_agent_id'))
        batch_op.drop_index(batch_op.f('ix_reporting_events_conversation_id'))
        batch_op.drop_index('ix_reporting_events_name_created')
    op.drop_table('reporting_events')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('announced_assignee_id')
        batch_op.drop_column('left_message_at')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('message_offered_at')
        batch_op.drop_column('wait_notified_at')
        batch_op.drop_column('stated_position')
