"""GP-UCB: a multi-armed bandit whose arms are the grid points, with a Gaussian-process prior.

The factorised bandits of :mod:`ml.tuner.agents` treat each parameter level as an independent
arm, so they learn nothing about a point from its neighbours and cannot see interactions (the
SMA-crossover surface is not separable in ``fast`` x ``slow``). Here every grid point is an arm
and the arms are correlated through a Gaussian-process prior over the unit cube (Matern-5/2
kernel with one length scale per parameter), so one pull informs the estimate of every
neighbouring arm. The policy is GP-UCB (Srinivas, Krause, Kakade & Seeger 2010): pull the
not-yet-pulled arm with the highest ``mean + sqrt(beta_t) * sd`` of the posterior, with the
theoretical ``beta_t = 2 log(|arms| t^2 pi^2 / (6 delta))`` scaled by ``beta_scale`` (the usual
practical shrinkage; the theory value over-explores).

Robustness on a backtest surface:

* Rewards are rank-warped to normal scores (a Gaussian copula) before the GP sees them, so the
  -20 of an invalid parameter set or the breach penalty of an unsafe one is just "the worst value
  seen" and does not wreck the fit of the smooth part.
* Kernel length scales, signal and noise variance are fitted by maximum marginal likelihood
  (L-BFGS-B with the analytic gradient) every ``refit_every`` pulls; the noise term absorbs the
  ruggedness of the surface.
* Grids larger than ``max_arms`` are handled by scoring a fresh random subset of arms plus the
  neighbours of the best arms seen at each pull.

Modules: :mod:`ml.tuner.gp_bandit.kernel` (the Matern-5/2 kernel, the rank warp, :class:`GaussianProcess`),
:mod:`ml.tuner.gp_bandit.arms` (the grid as arms, :func:`ucb_beta`), :mod:`ml.tuner.gp_bandit.state`
(:class:`~ml.tuner.gp_bandit.state.ArmSearch`: rng, evaluator, start queue, pulls and candidates, shared with
:mod:`ml.tuner.gp_safe` and :mod:`ml.tuner.gp_trust`), :mod:`ml.tuner.gp_bandit.bandit` (:func:`gp_bandit`).
"""

from ml.tuner.gp_bandit.arms import ucb_beta
from ml.tuner.gp_bandit.bandit import gp_bandit
from ml.tuner.gp_bandit.kernel import SQRT5, GaussianProcess, matern52, rank_warp

__all__ = ["SQRT5", "GaussianProcess", "gp_bandit", "matern52", "rank_warp", "ucb_beta"]
