"""Constrained GP-UCB: model the objective and the safety constraint separately.

:func:`ml.tuner.gp_bandit.gp_bandit` sees one number per pull, the *penalised* reward: a point
whose drawdown breaches the limit scores ``reward - breach_penalty``. On a surface where most of
the grid is unsafe and the optimum is an isolated safe point, the smoothness prior of that single
GP spreads the penalties of the unsafe neighbours onto the optimum and the search avoids it.

Here the two things are learnt apart (as in constrained Bayesian optimisation, Gardner et al. 2014,
Gelbart, Snoek & Adams 2014):

* an **objective GP** fitted only to the pulls that satisfied the constraint (``fit="safe"``), or
  to the *unpenalised* reward of every valid pull (``fit="unpenalised"``, default: for a backtest objective
  the reward plus the breach penalty it charged), rank-warped to normal scores either way, so
  invalid parameter sets and their -20 never enter it;
* a **constraint GP** fitted to the observed constraint value of every pull -- for a
  :class:`ml.tuner.env.BacktestObjective` the real maximum drawdown minus the limit (the *margin*,
  safe when <= 0), not the penalised reward -- giving ``P(safe) = P(margin <= 0)`` (predictive
  distribution, observation noise included, so a point whose neighbours only just breach keeps a
  fair chance);
* the acquisition weights the objective by ``P(safe)``: ``"ucb"`` (default) =
  ``P(safe) * (UCB - min UCB of the candidates)`` with GP-UCB's ``beta_t``; ``"ei"`` =
  ``P(safe) * EI`` over the best safe value (constrained EI); ``"threshold"`` = the highest UCB
  among candidates with ``P(safe) >= min_safe_prob`` (highest ``P(safe)`` if there is none);
* invalid parameter sets (no metrics, e.g. SMA ``fast >= slow``) are left out of the margin GP
  (they say nothing about drawdown); once one is seen, ``P(safe)`` is multiplied by ``P(valid)``
  from a GP on +-1 validity labels;
* **start rule**: until a safe point is known, pull the arm with the highest ``P(safe)``.

Without a constraint (a plain function, no ``metrics``/``reward.max_drawdown`` to read the
drawdown from, ``constraint=None``) every point counts as safe and the agent is GP-UCB.

Modules: :mod:`ml.tuner.gp_safe.constraint` (:func:`drawdown_margin`, :func:`unpenalised_reward`),
:mod:`ml.tuner.gp_safe.model` (the refitted GPs, ``P(below a level)``), :mod:`ml.tuner.gp_safe.state`
(:class:`~ml.tuner.gp_safe.state.SafeSearch`: the pulls, margins, GPs, ``P(safe)`` and candidates, shared with
:mod:`ml.tuner.gp_trust`), :mod:`ml.tuner.gp_safe.bandit` (:func:`gp_safe_bandit`, its acquisitions and fits).
"""

from ml.tuner.gp_safe.bandit import ACQUISITIONS, FITS, gp_safe_bandit
from ml.tuner.gp_safe.constraint import Constraint, drawdown_margin, unpenalised_reward

__all__ = ["ACQUISITIONS", "FITS", "Constraint", "drawdown_margin", "gp_safe_bandit", "unpenalised_reward"]
