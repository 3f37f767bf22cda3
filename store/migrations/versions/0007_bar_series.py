"""bar_series: a revision token per stored bar series, changed by every write of its bars

The service keeps the recent bars of each series in memory and re-reads them only when the series' revision
changes (one key lookup per request instead of hundreds of rows). Existing series get a first revision.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bar_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=8), nullable=False),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('symbol', 'timeframe', name='uq_bar_series_symbol_timeframe'))
    op.execute("INSERT INTO bar_series (symbol, timeframe, revision, updated_at) "
               "SELECT symbol, timeframe, 1, CURRENT_TIMESTAMP FROM market_bars GROUP BY symbol, timeframe")


def downgrade() -> None:
    op.drop_table('bar_series')
