"""live loop: ingest_files (folder-drop ledger), ingest_watermarks (SQL source), users.role, retrain_triggers.data_ts

``users.role`` is ``user``, ``feeder`` (may push bars) or ``admin``; existing admins get ``admin``.
``retrain_triggers.data_ts`` is the data time (newest bar of the judged window) a trigger was recorded at,
so cooldowns count bars of data time, not wall-clock hours.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ingest_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'path', 'sha256', name='uq_ingest_files_source_path_sha256'))
    op.create_table('ingest_watermarks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('timeframe', sa.String(length=8), nullable=False),
    sa.Column('last_ts', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'symbol', 'timeframe', name='uq_ingest_watermarks_series'))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=False, server_default='user'))
    users = sa.table('users', sa.column('is_admin', sa.Boolean), sa.column('role', sa.String(16)))
    op.get_bind().execute(users.update().where(users.c.is_admin.is_(True)).values(role='admin'))
    with op.batch_alter_table('retrain_triggers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_ts', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('retrain_triggers', schema=None) as batch_op:
        batch_op.drop_column('data_ts')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('role')
    op.drop_table('ingest_watermarks')
    op.drop_table('ingest_files')
