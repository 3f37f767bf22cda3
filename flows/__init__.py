"""Prefect 3 flows: thin wiring over ``ml``, ``data_contracts`` and ``store``.

Every flow module runs with ``python -m flows.<name>``; flow names match deployment names.
"""

from flows import heartbeat, task_overhead

heartbeat.install()  # flow runs end when their work does, not up to a second later (see flows.heartbeat)
task_overhead.install()  # a task run on Dask no longer rebuilds SSL contexts and settings (see flows.task_overhead)
