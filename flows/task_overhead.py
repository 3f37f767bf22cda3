"""Cut the CPU Prefect 3.9 spends orchestrating each task run on a remote task runner (Dask).

Measured with py-spy on 100 no-op tasks on a warm ``dask worker`` (``benchmarks/bench_task_overhead.py``,
``benchmarks/RESULTS.md``), almost all of a task run's orchestration CPU is rebuilding things that never change:

* **on the worker**, each task run builds two API clients (one in ``hydrated_context``, one in
  ``SyncClientContext``), and each ``SyncPrefectClient`` loads certifi's CA bundle into a new SSL context
  (``ssl.create_default_context(cafile=...)``, ~18 ms each): ~47% of the worker's orchestration CPU, even when
  the API is plain HTTP on loopback;
* **on the worker**, ``hydrated_context`` rebuilds Prefect's whole ``Settings`` (a pydantic-settings model that
  re-reads the environment, the profiles file and ``.env``) from the serialised settings context: ~34%;
* **in the flow process**, every ``submit`` serialises the whole ``Settings`` again (``SettingsContext.serialize``,
  a ``model_dump`` plus a walk over every value): ~64% of the flow process's CPU per submitted task.

With two workers on two cores that CPU is taken from the tasks themselves. :func:`install` makes each of the
three happen once:

1. ``prefect.client.orchestration`` sees an ``ssl`` module whose ``create_default_context(cafile=F)`` returns one
   verified context per CA file ``F`` (an ``SSLContext`` is meant to be shared; httpx uses a given one as-is);
   every other call goes to the real ``ssl``;
2. ``SettingsContext.serialize`` is remembered per settings context object (a copy is returned each time);
3. the task engine's ``hydrated_context`` reuses the ``Settings`` built from the same serialised settings under
   the same ``PREFECT_*`` environment.

Each patch is applied only while Prefect's code still has the shape it fixes (checked on its source), so a
changed release is left alone. ``ABTPRO_PREFECT_TASK_OVERHEAD_FIX=off`` in the environment skips them all.
Installed by the entry points and Dask workers' preload through :mod:`flows.patches`, never on import.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import ssl
import threading
import types
from collections import OrderedDict
from typing import Any

_MARK = "_abtpro_task_overhead"
SWITCH = "ABTPRO_PREFECT_TASK_OVERHEAD_FIX"
_CACHE_SIZE = 16


class CachingSSL(types.ModuleType):
    """The ``ssl`` module with ``create_default_context(cafile=...)`` (server authentication, nothing else
    given) built once per CA file and shared; every other attribute and call is the real module's."""

    def __init__(self) -> None:
        super().__init__("ssl")
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    def create_default_context(self, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH, *, cafile: str | None = None,
                               capath: str | None = None, cadata: Any = None) -> ssl.SSLContext:
        if cafile is None or capath is not None or cadata is not None or purpose != ssl.Purpose.SERVER_AUTH:
            return ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
        with self._lock:
            if cafile not in self._contexts:
                self._contexts[cafile] = ssl.create_default_context(purpose, cafile=cafile)
            return self._contexts[cafile]


class _LRU(OrderedDict):
    def remember(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > _CACHE_SIZE:
            self.popitem(last=False)


def _memoised_serialize(original):
    """``SettingsContext.serialize`` computed once per (context object, its settings object, include_secrets).
    Each entry keeps both objects alive, so no other object can take their ids while it is remembered."""
    seen = _LRU()
    lock = threading.Lock()

    def serialize(self, include_secrets: bool = True) -> dict[str, Any]:
        key = (id(self), id(self.settings), include_secrets)
        with lock:
            hit = seen.get(key)
        if hit is None:
            hit = (self, self.settings, original(self, include_secrets=include_secrets))
            with lock:
                seen.remember(key, hit)
        return copy.deepcopy(hit[2])

    setattr(serialize, _MARK, True)
    serialize.__doc__, serialize.__wrapped__ = original.__doc__, original
    return serialize


def _settings_reusing(original):
    """The task engine's ``hydrated_context``, handed an already built ``Settings`` when the serialised one (and
    the ``PREFECT_*`` environment it is completed from) is the same as a previous task run's."""
    from prefect.context import SettingsContext

    built = _LRU()
    lock = threading.Lock()

    def settings_once(serialized_settings: dict[str, Any]) -> dict[str, Any]:
        env = sorted((k, v) for k, v in os.environ.items() if k.startswith("PREFECT_"))
        key = json.dumps([serialized_settings, env], sort_keys=True, default=str)
        with lock:
            context = built.get(key)
        if context is None:
            context = SettingsContext(**serialized_settings)
            with lock:
                built.remember(key, context)
        return {"profile": context.profile, "settings": context.settings}

    def hydrated_context(serialized_context: dict[str, Any] | None = None, client: Any = None):
        settings = (serialized_context or {}).get("settings_context")
        if settings and isinstance(settings.get("settings"), dict):
            serialized_context = {**serialized_context, "settings_context": settings_once(settings)}
        return original(serialized_context, client)

    setattr(hydrated_context, _MARK, True)
    hydrated_context.__wrapped__ = original
    return hydrated_context


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def installed() -> dict[str, bool]:
    """Which of the three patches are in place in this process (nothing is changed)."""
    from prefect import context, task_engine
    from prefect.client import orchestration

    return {"ssl": isinstance(orchestration.ssl, CachingSSL),
            "serialize": getattr(context.SettingsContext.__dict__.get("serialize"), _MARK, False),
            "hydrate": getattr(getattr(task_engine, "hydrated_context", None), _MARK, False)}


def install() -> dict[str, bool]:
    """Apply the three patches where Prefect still has the code they fix (unless switched off); which ones are
    (now) in place."""
    from prefect import context, task_engine
    from prefect.client import orchestration

    done = installed()
    if os.environ.get(SWITCH, "").lower() in {"off", "0", "false", "no"}:
        return done
    serialize = context.SettingsContext.__dict__.get("serialize")
    hydrate = task_engine.hydrated_context
    if not done["ssl"] and "ssl.create_default_context(cafile=cert_file)" in _source(
            orchestration.SyncPrefectClient.__init__):
        orchestration.ssl = CachingSSL()
        done["ssl"] = True
    if not done["serialize"] and serialize is not None and "visit_collection" in _source(serialize):
        context.SettingsContext.serialize = _memoised_serialize(serialize)
        done["serialize"] = True
    if (not done["hydrate"] and hydrate is context.hydrated_context
            and "SettingsContext(**settings_context)" in _source(hydrate)):
        task_engine.hydrated_context = _settings_reusing(hydrate)
        done["hydrate"] = True
    return done
