"""The champion models the service answers with, and their hot reload.

Each :class:`ChampionSlot` holds one immutable :class:`registry.mlflow_registry.LoadedModel` behind a single
attribute. A reload loads the new version completely (artifact download + unpickling) *before*
rebinding that attribute, and a request reads the attribute once and uses that snapshot for its whole
life, so no request ever sees a half-loaded model or mixes two versions. Rebinding a reference is
atomic under CPython. Reloads of one slot are serialised by a lock so the poller and the admin
endpoint never load the same version twice in parallel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import registry
from registry import LoadedModel

logger = logging.getLogger("abtpro.serving")


class NoChampionError(RuntimeError):
    """No version of the model holds the ``champion`` alias (yet)."""


class ChampionSlot:
    """The version of one registered model that currently holds the ``champion`` alias.

    Args:
        name: registered model name, e.g. ``abtpro-volatility``.
        kind: ``"volatility"`` or ``"signal_quality"`` (for messages and metrics).
        alias: the alias to follow.
        loader: ``loader(name, alias) -> LoadedModel | None`` (default: :func:`registry.mlflow_registry.load_alias`).
        version_of: ``version_of(name, alias) -> str | None``, a cheap check before loading.
    """

    def __init__(self, name: str, kind: str, alias: str = registry.CHAMPION,
                 loader: Callable[[str, str], LoadedModel | None] | None = None,
                 version_of: Callable[[str, str], str | None] | None = None):
        self.name = name
        self.kind = kind
        self.alias = alias
        self._loader = loader or registry.load_alias
        self._version_of = version_of or _alias_version_str
        self._current: LoadedModel | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self.loaded_at: float | None = None

    @property
    def current(self) -> LoadedModel | None:
        """The model in force (one atomic read; keep the returned object for the whole request)."""
        return self._current

    def require(self) -> LoadedModel:
        """The model in force, or :class:`NoChampionError`."""
        model = self._current
        if model is None:
            raise NoChampionError(
                f"no '{self.alias}' version of model {self.name!r} is registered yet; "
                f"train one (POST /ml/models/train) and promote it, then retry"
            )
        return model

    def refresh(self) -> bool:
        """Load the version holding the alias if it differs from the one in force; True when it changed.

        A failure to load keeps the current model serving and records ``last_error``.
        """
        with self._lock:
            try:
                target = self._version_of(self.name, self.alias)
                current = self._current
                if target is None:
                    # alias removed: keep serving what we have (fail safe), report it
                    return False
                if current is not None and current.version == target:
                    return False
                loaded = self._loader(self.name, self.alias)  # fully built before it is published
                if loaded is None or (current is not None and loaded.version == current.version):
                    return False
                self._current = loaded  # the one atomic swap
                self.loaded_at = time.time()
                self.last_error = None
                logger.info("serving %s version %s (was %s)", self.name, loaded.version,
                            None if current is None else current.version)
                return True
            except Exception as exc:  # noqa: BLE001 - a registry outage must not kill the server
                self.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("could not refresh %s: %s", self.name, self.last_error)
                return False


def _alias_version_str(name: str, alias: str) -> str | None:
    version = registry.alias_version(name, alias)
    return None if version is None else str(version.version)


class ChampionPoller:
    """A daemon thread refreshing slots every ``interval`` seconds until :meth:`stop`, and, with ``hints``, the
    slots whose reload revision changed every ``hint_interval`` seconds.

    ``hints()`` returns ``{model name: revision}`` (:func:`store.reloads.revisions`): another process of the
    service announces there that it reloaded a model on an explicit signal (a webhook, ``POST
    /ml/models/reload``), so every process follows within ``hint_interval`` instead of at its next alias poll.
    :meth:`reload` is the explicit signal's side: refresh a slot now and ``announce(name, version) -> revision``
    it (:func:`store.reloads.announce`).
    """

    def __init__(self, slots: Iterable[ChampionSlot], interval: float,
                 hints: Callable[[], dict[str, int]] | None = None,
                 announce: Callable[[str, str | None], int] | None = None, hint_interval: float = 1.0):
        self.slots = list(slots)
        self.interval = interval
        self.hints = hints if hint_interval > 0 else None
        self.announce = announce
        self.hint_interval = hint_interval
        self._revisions: dict[str, int] | None = None  # None: not read yet (the first read is the baseline)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if (self.interval <= 0 and self.hints is None) or self._thread is not None:
            return
        if self.hints is not None:
            self.changed_by_hint()  # the baseline: what was announced before this process started is loaded
        self._thread = threading.Thread(target=self._run, name="abtpro-champion-poller", daemon=True)
        self._thread.start()

    def reload(self, slot: ChampionSlot) -> bool:
        """Refresh ``slot`` now and announce it to the other processes (True when this process changed version).

        Announced even when this process already served the alias's version: the others may not yet."""
        changed = slot.refresh()
        if self.announce is not None:
            current = slot.current
            try:
                revision = self.announce(slot.name, None if current is None else current.version)
            except Exception as exc:  # noqa: BLE001 - the others still follow at their alias poll
                logger.warning("could not announce the reload of %s: %s", slot.name, exc)
            else:
                if self._revisions is not None:
                    self._revisions[slot.name] = revision  # this process already refreshed for it
        return changed

    def changed_by_hint(self) -> list[ChampionSlot]:
        """The slots whose announced revision changed since the last read (none on the first read)."""
        try:
            current = self.hints() if self.hints is not None else {}
        except Exception as exc:  # noqa: BLE001 - a database outage must not kill the server
            logger.debug("could not read reload announcements: %s", exc)
            return []
        before, self._revisions = self._revisions, dict(current)
        if before is None:
            return []
        return [slot for slot in self.slots if current.get(slot.name) != before.get(slot.name)]

    def _run(self) -> None:
        tick = self.hint_interval if self.hints is not None else self.interval
        next_poll = time.monotonic() + self.interval if self.interval > 0 else float("inf")
        while not self._stop.wait(tick):
            due = self.changed_by_hint() if self.hints is not None else []
            if time.monotonic() >= next_poll:
                due, next_poll = self.slots, time.monotonic() + self.interval
            for slot in due:
                slot.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
