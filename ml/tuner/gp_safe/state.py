"""The state of the constrained GP-UCB agents (:func:`ml.tuner.gp_safe.gp_safe_bandit`,
:func:`ml.tuner.gp_trust.gp_trust_bandit`): the pulls with their margins and the values the objective GP
sees, the objective / margin / validity GPs, ``P(safe)``, the candidate arms and the objective's UCB."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml.tuner.base import Objective, Space
from ml.tuner.gp_bandit.arms import ucb_beta
from ml.tuner.gp_bandit.kernel import rank_warp
from ml.tuner.gp_bandit.state import ArmSearch
from ml.tuner.gp_safe.constraint import Constraint, unpenalised_reward
from ml.tuner.gp_safe.model import _Model, _prob_below


class SafeSearch(ArmSearch):
    """:class:`ml.tuner.gp_bandit.state.ArmSearch` plus the constraint (see :mod:`ml.tuner.gp_safe`).

    ``constraint``: ``params -> float | None`` (safe iff ``<= 0``, None = invalid set) or None (every point
    safe); ``fit``: ``"safe"`` or ``"unpenalised"`` (the data of the objective GP); ``valid``: ``params ->
    bool`` known in advance (None = none): arms where it is False are left out of the candidates (unless
    every one is) and a start point on one is moved to the nearest valid arm (grids scored whole).
    """

    def __init__(self, objective: Objective, space: Space, budget: int, seed: int, constraint: Constraint | None,
                 fit: str, n_init: int | None, refit_every: int, max_arms: int, n_local: int,
                 valid: Callable[[dict], bool] | None = None):
        self.constraint, self.fit, self.valid = constraint, fit, valid
        self.raw_value = unpenalised_reward(objective) if fit == "unpenalised" else None
        super().__init__(objective, space, budget, seed, n_init, max_arms, n_local)
        if self.every_arm is not None:
            self.every_arm = self.keep_valid(self.every_arm)
        self.f_model, self.c_model, self.v_model = (_Model(self.d, refit_every) for _ in range(3))
        self.margins: list[float] = []  # nan = invalid parameter set
        self.fit_values: list[float] = []  # what the objective GP sees (nan = left out)
        self.improved = False  # the last pull beat every earlier one
        if valid is not None and self.every_arm is not None:  # an invalid start point -> the nearest valid arm
            ux, snapped = self.arms.unit(self.every_arm), []
            for q in self.queue:
                dist = ((ux - self.arms.unit(q[None])) ** 2).sum(1)
                taken = {tuple(s) for s in snapped}
                snapped.append(next(self.every_arm[j] for j in np.argsort(dist, kind="stable")
                                    if tuple(self.every_arm[j]) not in taken))
            self.queue = snapped

    def keep_valid(self, idx: np.ndarray) -> np.ndarray:
        """The arms of ``idx`` that ``valid`` allows (all of them if it allows none, or there is no rule)."""
        if self.valid is None:
            return idx
        ok = np.array([bool(self.valid(self.arms.params(i))) for i in idx], dtype=bool)
        return idx[ok] if ok.any() else idx

    def pull(self, idx: np.ndarray) -> dict:
        """Evaluate the arm ``idx``, record its margin and the value the objective GP sees; returns its parameters."""
        before = max(self.values) if self.values else -np.inf
        params = super().pull(idx)
        self.improved = self.values[-1] > before
        if self.constraint is None:
            self.margins.append(-1.0)
        else:
            m = self.constraint(params)
            self.margins.append(float(m) if m is not None and np.isfinite(m) else np.nan)
        if self.fit == "safe":
            self.fit_values.append(self.values[-1] if self.margins[-1] <= 0 else np.nan)
        else:
            v = self.values[-1] if self.raw_value is None else self.raw_value(params)
            self.fit_values.append(float(v) if v is not None and np.isfinite(v) and np.isfinite(self.margins[-1])
                                   else np.nan)
        return params

    def rank(self) -> np.ndarray:
        """The best safe pulls first, then the nearest to safe (the neighbours of a large grid's subset)."""
        c = np.nan_to_num(np.array(self.margins), nan=1e6)
        return np.where(c <= 0, self.values, -1e15 - c)

    def prob_safe(self, x: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """``P(safe)`` at ``xs`` (unit coordinates) given the pulls at ``x``: ``P(margin <= 0)``, times ``P(valid)``
        once an invalid set was seen; 1 without a constraint."""
        if self.constraint is None:
            return np.ones(len(xs))
        c = np.array(self.margins)
        finite = np.isfinite(c)
        p = np.full(len(xs), 0.5)
        if finite.any():  # the margin GP sees valid sets only: an invalid one says nothing about drawdown
            loc, scale = c[finite].mean(), c[finite].std()
            scale = scale if scale > 1e-9 else 1.0
            p = _prob_below(self.c_model.update(x[finite], (c[finite] - loc) / scale), xs, (0.0 - loc) / scale)
        if not finite.all():  # P(valid) from a GP on +-1 labels, only once an invalid set was seen
            p = p * (1.0 - _prob_below(self.v_model.update(x, np.where(finite, 1.0, -1.0)), xs, 0.0))
        return p

    def warped_fit_values(self) -> tuple[np.ndarray, np.ndarray]:
        """Which pulls the objective GP sees (finite fit values) and their rank-warped values."""
        use = np.isfinite(self.fit_values)
        return use, rank_warp(np.array(self.fit_values)[use])

    def ucb(self, x: np.ndarray, xs: np.ndarray, beta_scale: float,
            delta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The objective GP (refitted every ``refit_every`` observations) conditioned on the warped fit values of
        the pulls at ``x``: mean, sd and ``mean + sqrt(beta_t) sd`` at ``xs``."""
        use, y = self.warped_fit_values()
        mean, sd = self.f_model.update(x[use], y).predict(xs)
        return mean, sd, mean + np.sqrt(ucb_beta(self.arms.n, len(self.values) + 1, beta_scale, delta)) * sd
