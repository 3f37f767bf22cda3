"""The job statuses, the refusal to apply, and the read-only :class:`Optimization` record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

PENDING, RUNNING, COMPLETED, FAILED = "PENDING", "RUNNING", "COMPLETED", "FAILED"
STATUSES = (PENDING, RUNNING, COMPLETED, FAILED)


class ApplyRefused(ValueError):
    """The optimization cannot be applied (not completed, or not recommended without ``force``)."""


@dataclass(frozen=True)
class Optimization:
    """A read-only view of one ``StrategyOptimization`` row."""

    id: int
    user_id: int | None
    strategy: str
    symbol: str | None
    timeframe: str | None
    method: str
    original_params: dict[str, Any]
    optimized_params: dict[str, Any]
    performance: dict[str, Any]
    created_at: datetime

    @property
    def status(self) -> str:
        """PENDING, RUNNING, COMPLETED or FAILED."""
        return str(self.performance.get("status", COMPLETED))

    @property
    def recommended(self) -> bool:
        """Whether the walk-forward gate recommends the tuned parameters."""
        return bool(self.performance.get("recommended", False))

    @property
    def applied(self) -> bool:
        """Whether these are the active parameters of (strategy, symbol, timeframe)."""
        return bool(self.performance.get("applied", False))

    @property
    def error(self) -> str | None:
        """Why the job failed (None unless FAILED)."""
        return self.performance.get("error")

