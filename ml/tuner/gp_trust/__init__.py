"""Trust-region constrained GP-UCB: :mod:`ml.tuner.gp_safe` plus a local phase and plain GP-UCB steps.

On the four benchmark surfaces the target is one grid point, and it lies next to the second or third
best point of the grid (SMA/GOOG: (10, 20) beside (10, 30) and (5, 20); RSI/GOOG: (46, 35, 75) between
(42, 35, 75) and (50, 35, 75)). A global acquisition that has found such a neighbour does not
necessarily try the arms beside it (the GP smooths the needle away), so the search can wander for
dozens of pulls with the optimum one grid step from its incumbent. This agent keeps the models of
:func:`ml.tuner.gp_safe.gp_safe_bandit` (objective GP on the unpenalised reward, margin GP for
``P(safe)``, validity GP) and cycles three kinds of step after the Latin-hypercube start:

* **local** (every ``local_every``-th step, once a safe point is known): the trust region is the union
  of the boxes of half-width ``radius`` grid levels around the ``top_k`` best safe pulls (grown while it
  holds no untried arm, up to ``max_radius``), in the spirit of TuRBO (Eriksson et al. 2019) on a
  lattice; the arm pulled is the one of highest ``P(safe) x (UCB - lowest UCB in the region)``;
* **plain GP-UCB** (every ``mix``-th of the other steps): the step of :func:`ml.tuner.gp_bandit.gp_bandit`
  on the penalised values (``beta_t x 0.2``), which sees the breaches as low rewards and so goes where
  the constrained acquisition's ``P(safe)`` would hold it back;
* **global constrained GP-UCB** otherwise: ``P(safe) x (UCB - min UCB)`` over every untried arm
  (``beta_t x 0.1``), with :mod:`ml.tuner.gp_safe`'s start rule (highest ``P(safe)`` until a safe point
  is known).

Options that were tried and are off by default: retiring a centre after ``fail_tol`` failed local
steps, and ``valid`` (a validity rule known in advance, e.g. ``objective.strategy.is_valid``, so that
SMA sets with ``fast >= slow`` are never pulled). Settings were chosen on seeds 0-4 (see
``benchmarks/RESULTS.md``). Module: :mod:`ml.tuner.gp_trust.bandit` (:func:`gp_trust_bandit`).
"""

from ml.tuner.gp_trust.bandit import gp_trust_bandit

__all__ = ["gp_trust_bandit"]
