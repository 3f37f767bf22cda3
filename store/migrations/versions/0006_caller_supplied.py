"""caller-supplied predictions: ml_signal_scores.caller_supplied, volatility_predictions.caller_supplied

A score or forecast computed from bars the caller sent inline (not the stored series) is kept, flagged, and
left out of live accuracy, outcome backfill and drift (``store.monitoring``, ``store.predictions``), so a
request cannot pose as a stored symbol's live data. Existing rows are all from stored bars or could not be told
apart: they stay ``false``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('ml_signal_scores', 'volatility_predictions')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('caller_supplied', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('caller_supplied')
