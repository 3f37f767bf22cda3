"""Prefect 3 flows: thin wiring over ``ml``, ``data_contracts`` and ``abtpro_store``.

Every flow module runs with ``python -m flows.<name>``; flow names match deployment names.
"""
