"""Strategy-tuning results (``StrategyOptimization`` rows): job lifecycle, queries and "apply".

The table has no status or "active" columns, so both live in the ``performance`` JSON:

- ``performance["status"]``: ``PENDING`` (queued by the API) -> ``RUNNING`` -> ``COMPLETED`` | ``FAILED``,
  with ``started_at`` / ``finished_at`` (ISO strings) and ``error`` on failure;
- ``performance["recommended"]``: the walk-forward gate (tuned beats defaults out of sample, safely);
- ``performance["applied"]`` (bool) with ``applied_at`` / ``applied_by``: at most one row per
  (strategy, symbol, timeframe) is applied; its ``optimized_params`` are that strategy's active
  parameters there. A superseded row keeps ``applied = False`` and gets ``superseded_at``/``superseded_by``.

Every function takes the database URL and returns plain :class:`Optimization` records (no ORM
objects leak out of the session). JSON payloads are sanitised (numpy scalars, timestamps, NaN/inf ->
None) so PostgreSQL's ``json`` type accepts them.

Modules: :mod:`store.optimizations.record` (statuses, :class:`ApplyRefused`, :class:`Optimization`),
:mod:`store.optimizations.rows` (:func:`jsonable`, row helpers), :mod:`store.optimizations.jobs` (the job
lifecycle: create, start, complete, fail), :mod:`store.optimizations.queries` (get, list, the active result),
:mod:`store.optimizations.applying` (apply, unapply).
"""

from store.optimizations.applying import apply, unapply
from store.optimizations.jobs import complete, create, fail, start
from store.optimizations.queries import active, active_params, get, list_optimizations
from store.optimizations.record import (
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    STATUSES,
    ApplyRefused,
    Optimization,
)
from store.optimizations.rows import jsonable

__all__ = [
    "COMPLETED",
    "FAILED",
    "PENDING",
    "RUNNING",
    "STATUSES",
    "ApplyRefused",
    "Optimization",
    "active",
    "active_params",
    "apply",
    "complete",
    "create",
    "fail",
    "get",
    "jsonable",
    "list_optimizations",
    "start",
    "unapply",
]
