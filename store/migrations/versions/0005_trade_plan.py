"""trade plan: ml_signal_scores.plan (the caller's stop / target / horizon, resolved by the outcome backfill)

``plan`` holds ``pt_mult`` / ``sl_mult`` (barrier distances in multiples of the signal bar's volatility) and
``max_holding`` (bars) of a signal scored with a trade plan; NULL means the training barriers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ml_signal_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ml_signal_scores', schema=None) as batch_op:
        batch_op.drop_column('plan')
