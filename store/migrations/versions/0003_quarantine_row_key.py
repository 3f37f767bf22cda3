"""quarantine: a stable row_key per quarantined row, unique, so re-quarantining a row is a no-op

Existing rows get the key the store computes now (``store.bars.quarantine_keys``: source, raw values and
the n-th identical raw row of one read, a read being the rows written by one call, i.e. one
``created_at``); repeats of a key left by re-ingesting the same bad file are deleted, keeping the first.
Downgrade drops the key; the deleted repeats are not restored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 07:30:00
"""
from itertools import groupby

import sqlalchemy as sa
from alembic import op

from store.bars import jsonable_raw, quarantine_keys

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

quarantine = sa.table('quarantine', sa.column('id', sa.Integer), sa.column('row_key', sa.String(64)),
                      sa.column('source', sa.String(500)), sa.column('raw', sa.JSON),
                      sa.column('created_at', sa.DateTime))


def _keys(conn: sa.Connection) -> tuple[list[dict], list[int]]:
    """(id, key) of the first row of each key, and the ids of the repeats."""
    q = quarantine.c
    rows = conn.execute(sa.select(q.id, q.source, q.raw, q.created_at).order_by(q.source, q.created_at, q.id)).all()
    keep: dict[str, int] = {}
    repeats = []
    for (source, _), batch in groupby(rows, key=lambda r: (r.source, r.created_at)):
        batch = list(batch)
        for row, key in zip(batch, quarantine_keys(source, [jsonable_raw(r.raw or {}) for r in batch])):
            if key in keep:
                repeats.append(row.id)
            else:
                keep[key] = row.id
    return [{'row_id': i, 'key': k} for k, i in keep.items()], repeats


def upgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.add_column(sa.Column('row_key', sa.String(length=64), nullable=True))
    conn = op.get_bind()
    keys, repeats = _keys(conn)
    if repeats:
        conn.execute(quarantine.delete().where(quarantine.c.id.in_(repeats)))
    if keys:
        conn.execute(quarantine.update().where(quarantine.c.id == sa.bindparam('row_id'))
                     .values(row_key=sa.bindparam('key')), keys)
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.alter_column('row_key', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint('uq_quarantine_row_key', ['row_key'])


def downgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_constraint('uq_quarantine_row_key', type_='unique')
        batch_op.drop_column('row_key')
