"""Reinforcement-learning tuners, each small, seeded and reproducible.

* :func:`ucb_bandit` / :func:`thompson_bandit` -- a factorised multi-armed bandit over the
  discrete grid: one arm per level of each parameter; a pull picks one level per parameter
  (UCB1, Auer et al. 2002; Gaussian Thompson sampling, Agrawal & Goyal 2013).
* :func:`q_learning` -- tabular Q-learning (Watkins 1989) over discretised moves in
  :class:`~ml.tuner.env.ParamWalkEnv`.
* :func:`reinforce` -- REINFORCE (Williams 1992) with a Gaussian policy over the unit cube of
  continuous parameters (batch-mean baseline, natural-gradient step).
* :func:`actor_critic` -- one-step actor-critic (Sutton & Barto 2018, sec. 13.5): a Gaussian
  move policy with a linear-in-features mean and a linear TD(0) critic, walking the continuous
  :class:`~ml.tuner.env.ParamWalkEnv`.

Rewards are min-max normalised over the values seen so far, so the learning rates do not depend
on the scale of the objective.

Modules: :mod:`ml.tuner.agents.normaliser` (the reward scaling), :mod:`ml.tuner.agents.bandits` (UCB1 and
Thompson factorised bandits), :mod:`ml.tuner.agents.tabular` (Q-learning), :mod:`ml.tuner.agents.policy_gradient`
(REINFORCE, actor-critic).
"""

from ml.tuner.agents.bandits import thompson_bandit, ucb_bandit
from ml.tuner.agents.policy_gradient import actor_critic, reinforce
from ml.tuner.agents.tabular import q_learning

__all__ = ["actor_critic", "q_learning", "reinforce", "thompson_bandit", "ucb_bandit"]
