"""What the constrained GP-UCB reads from a backtest objective: the drawdown margin (the constraint, safe when
<= 0) and the reward without the breach penalty (what its objective GP is fitted to); the ``"auto"`` rules of the
agents' ``constraint``/``valid`` arguments (:func:`resolve_rules`)."""

from __future__ import annotations

from collections.abc import Callable

Constraint = Callable[[dict], "float | None"]


def drawdown_margin(objective) -> Constraint | None:
    """``params -> max_drawdown - limit`` (None for invalid sets) read from a backtest objective.

    Works for any object with ``metrics(params) -> dict | None`` and ``reward.max_drawdown`` (as
    :class:`ml.tuner.env.BacktestObjective`; its metrics are cached, so this costs no backtest).
    Returns None when ``objective`` exposes neither.
    """
    metrics = getattr(objective, "metrics", None)
    limit = getattr(getattr(objective, "reward", None), "max_drawdown", None)
    if not callable(metrics) or limit is None:
        return None

    def margin(params: dict) -> float | None:
        m = metrics(params)
        return None if m is None else float(m["max_drawdown"]) - float(limit)

    return margin


def unpenalised_reward(objective) -> Callable[[dict], float | None] | None:
    """``params -> reward without the breach penalty`` (None for invalid sets) of a backtest objective.

    Needs ``metrics(params)`` and a ``reward`` with ``is_safe(metrics)`` and ``breach_penalty``
    (as :class:`ml.tuner.env.RiskAdjustedReward`); None when ``objective`` exposes neither.
    """
    metrics, reward = getattr(objective, "metrics", None), getattr(objective, "reward", None)
    if not callable(metrics) or not hasattr(reward, "is_safe") or not hasattr(reward, "breach_penalty"):
        return None

    def value(params: dict) -> float | None:
        m = metrics(params)
        return None if m is None else float(reward(m)) + (0.0 if reward.is_safe(m) else float(reward.breach_penalty))

    return value


def resolve_rules(objective, constraint: Constraint | None | str,
                  valid: Callable[[dict], bool] | None | str = None) -> tuple[Constraint | None, Callable | None]:
    """``constraint`` and ``valid`` as callables or None: ``"auto"`` reads :func:`drawdown_margin` and
    ``objective.strategy.is_valid`` from ``objective``; any other string is a ValueError."""
    if isinstance(constraint, str):
        if constraint != "auto":
            raise ValueError(f"constraint must be a callable, None or 'auto', got {constraint!r}")
        constraint = drawdown_margin(objective)
    if isinstance(valid, str):
        if valid != "auto":
            raise ValueError(f"valid must be a callable, None or 'auto', got {valid!r}")
        valid = getattr(getattr(objective, "strategy", None), "is_valid", None)
    return constraint, valid
