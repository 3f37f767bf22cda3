"""model_reloads: a revision per registered model, changed when a serving process reloads it on an explicit signal

``bentoml serve`` runs several worker processes; an MLflow webhook or ``POST /ml/models/reload`` reaches one of
them. That process announces the reload here and the others, which read this table every second, reload too.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_reloads',
    sa.Column('model_name', sa.String(length=128), nullable=False),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('model_name'))


def downgrade() -> None:
    op.drop_table('model_reloads')
