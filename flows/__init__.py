"""Prefect 3 flows: thin wiring over ``ml``, ``data_contracts`` and ``store``.

Every flow module runs with ``python -m flows.<name>``; flow names match deployment names. Importing
``flows`` changes nothing in Prefect: the entry points install the kept Prefect fixes (:mod:`flows.patches`).
"""
