"""The two Prefect 3.9 fixes this project keeps, and the one place that installs them.

* :mod:`flows.heartbeat`: a flow run ends when its work does (Prefect 3.9's heartbeat thread made every flow
  run, nested ones included, end ~1 s late);
* :mod:`flows.task_overhead`: a task run on Dask builds its SSL context and settings once (Prefect 3.9 spent
  3-4x the CPU per task run; ``ABTPRO_PREFECT_TASK_OVERHEAD_FIX=off`` leaves it as released).

Neither is installed by importing ``flows``. The entry points call :func:`install`: the ``abtpro`` CLI,
``python -m flows.deployments`` (the served deployments), every fan-out flow when it picks its task runner
(:func:`flows.common.task_runner`, so also flow runs that a Prefect worker starts), and every Dask worker
through its preload (``dask worker --preload flows.patches``: the compose stack and
:func:`abtpro.supervisor.dask_workers`; the local clusters of :func:`flows.common.local_cluster`), which calls
:func:`dask_setup`. Both were written for Prefect 3.9 (``prefect>=3.9,<3.10`` in pyproject.toml); each
patches only code that still has the shape it fixes, and ``tests/flows/test_patches.py`` fails when the
installed Prefect's patched code differs from :data:`UPSTREAM_SHA256`, so an upgrade re-checks them.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
from typing import Any

from flows import heartbeat, task_overhead

WRITTEN_FOR = "3.9."  # the Prefect minor release (see pyproject.toml)
# SHA-256 of each patched function's source in Prefect 3.9.1, "module:qualified name"
UPSTREAM_SHA256 = {
    "prefect.flow_engine:_send_heartbeats":
        "eca6cd31f93e10326af7059c2775bcb4d4b05c143eb4ed3cd42a304a2ba2514b",
    "prefect.client.orchestration:SyncPrefectClient.__init__":
        "e366dcbc0ac6866de9db77c1d0353b695f0b9ebab9cbfc294d848486a8a8f9f6",
    "prefect.context:SettingsContext.serialize":
        "b376d2fedcc5d66773d6f0d9d52783465f9138c77e143df9d8e91b07d4f7438b",
    "prefect.context:hydrated_context":
        "6f26ced64bc388c83df94ea6cd9fa012400b7a141fac5e8ba51180782dfc4156",
}


def upstream_source(target: str) -> str:
    """The source of ``module:Qualified.name`` as the installed Prefect's file has it (patched or not)."""
    module_name, qualname = target.split(":")
    tree_source = inspect.getsource(importlib.import_module(module_name))
    nodes: list[Any] = ast.parse(tree_source).body
    node = None
    for part in qualname.split("."):
        node = next(n for n in nodes if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part)
        nodes = node.body
    return ast.get_source_segment(tree_source, node) or ""


def upstream_digests() -> dict[str, str]:
    """SHA-256 of each patched function's source in the installed Prefect."""
    return {target: hashlib.sha256(upstream_source(target).encode()).hexdigest() for target in UPSTREAM_SHA256}


def install() -> dict[str, bool]:
    """Install both fixes in this process (idempotent); which patches are (now) in place."""
    return {"heartbeat": heartbeat.install(), **task_overhead.install()}


def dask_setup(worker: Any = None) -> None:
    """Dask's preload hook (``--preload flows.patches``): install the fixes in the worker's process."""
    install()
