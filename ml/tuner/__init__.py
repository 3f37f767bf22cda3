"""Strategy-parameter tuning: RL agents, search baselines, the backtest environment and
overfitting guards (walk-forward, deflated Sharpe ratio, probability of backtest overfitting)."""

from __future__ import annotations

from ml.tuner.agents import actor_critic, q_learning, reinforce, thompson_bandit, ucb_bandit
from ml.tuner.base import BudgetExhausted, Evaluator, Space, TuningResult, grid_points
from ml.tuner.gp_bandit import gp_bandit
from ml.tuner.gp_safe import gp_safe_bandit
from ml.tuner.gp_trust import gp_trust_bandit
from ml.tuner.search import grid_search, optuna_search, random_search

RL_BANDIT = "rl_bandit"
RL_BANDIT_THOMPSON = "rl_bandit_thompson"
RL_QLEARNING = "rl_qlearning"
RL_POLICY_GRADIENT = "rl_policy_gradient"
RL_ACTOR_CRITIC = "rl_actor_critic"
RL_GP_BANDIT = "rl_gp_bandit"
RL_GP_SAFE = "rl_gp_safe"
RL_GP_TRUST = "rl_gp_trust"
GRID_SEARCH = "grid_search"
RANDOM = "random"
OPTUNA = "optuna"

METHODS = {
    RL_BANDIT: ucb_bandit,
    RL_BANDIT_THOMPSON: thompson_bandit,
    RL_QLEARNING: q_learning,
    RL_POLICY_GRADIENT: reinforce,
    RL_ACTOR_CRITIC: actor_critic,
    RL_GP_BANDIT: gp_bandit,
    RL_GP_SAFE: gp_safe_bandit,
    RL_GP_TRUST: gp_trust_bandit,
    GRID_SEARCH: grid_search,
    RANDOM: random_search,
    OPTUNA: optuna_search,
}


def tune(objective, space: Space, budget: int, seed: int = 0, method: str = OPTUNA, **kwargs) -> TuningResult:
    """Maximise ``objective`` over ``space`` with ``method`` (a key of :data:`METHODS`)."""
    try:
        fn = METHODS[method]
    except KeyError:
        raise KeyError(f"unknown tuning method {method!r}; choose from {sorted(METHODS)}") from None
    return fn(objective, space, budget, seed, **kwargs)


__all__ = [
    "GRID_SEARCH", "METHODS", "OPTUNA", "RANDOM", "RL_ACTOR_CRITIC", "RL_BANDIT", "RL_BANDIT_THOMPSON", "RL_GP_BANDIT",
    "RL_GP_SAFE", "RL_GP_TRUST", "RL_POLICY_GRADIENT", "RL_QLEARNING", "BudgetExhausted", "Evaluator", "Space", "TuningResult",
    "grid_points", "tune",
]
