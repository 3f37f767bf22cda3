"""monitoring: model_monitoring, retrain_triggers, ml_signal_outcomes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 16:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_monitoring',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_name', sa.String(length=100), nullable=False),
    sa.Column('model_version', sa.String(length=32), nullable=True),
    sa.Column('task', sa.String(length=32), nullable=False),
    sa.Column('window_start', sa.DateTime(), nullable=True),
    sa.Column('window_end', sa.DateTime(), nullable=True),
    sa.Column('n_predictions', sa.Integer(), nullable=False),
    sa.Column('n_resolved', sa.Integer(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('validation', sa.JSON(), nullable=False),
    sa.Column('drift', sa.JSON(), nullable=False),
    sa.Column('decision', sa.String(length=32), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('mlflow_run_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('model_monitoring', schema=None) as batch_op:
        batch_op.create_index('ix_model_monitoring_model_created', ['model_name', 'created_at'], unique=False)

    op.create_table('retrain_triggers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_name', sa.String(length=100), nullable=False),
    sa.Column('model_version', sa.String(length=32), nullable=True),
    sa.Column('monitoring_id', sa.Integer(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('cooldown_until', sa.DateTime(), nullable=True),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['monitoring_id'], ['model_monitoring.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('retrain_triggers', schema=None) as batch_op:
        batch_op.create_index('ix_retrain_triggers_model_created', ['model_name', 'created_at'], unique=False)

    op.create_table('ml_signal_outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Float(), nullable=True),
    sa.Column('realised_return', sa.Float(), nullable=True),
    sa.Column('barrier', sa.String(length=16), nullable=True),
    sa.Column('exit_ts', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['score_id'], ['ml_signal_scores.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('score_id')
    )


def downgrade() -> None:
    op.drop_table('ml_signal_outcomes')
    with op.batch_alter_table('retrain_triggers', schema=None) as batch_op:
        batch_op.drop_index('ix_retrain_triggers_model_created')
    op.drop_table('retrain_triggers')
    with op.batch_alter_table('model_monitoring', schema=None) as batch_op:
        batch_op.drop_index('ix_model_monitoring_model_created')
    op.drop_table('model_monitoring')
