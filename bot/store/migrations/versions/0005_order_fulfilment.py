"""orders: carrier, tracking and delivery dates (the bot answers order questions from them)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carrier', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('tracking_number', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('tracking_url', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('estimated_delivery', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        for column in ('estimated_delivery', 'delivered_at', 'shipped_at', 'tracking_url', 'tracking_number',
                       'carrier'):
            batch_op.drop_column(column)
