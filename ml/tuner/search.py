"""Baseline tuners: grid search, random search and Optuna's TPE (Bergstra et al. 2011)."""

from __future__ import annotations

import numpy as np

from ml.tuner.base import Evaluator, Objective, Space, TuningResult, grid_points, run_until_exhausted


def grid_search(objective: Objective, space: Space, budget: int, seed: int = 0) -> TuningResult:
    """Evaluate the grid in row-major order until ``budget`` points are done (``seed`` unused)."""
    evaluator = Evaluator(objective, space, budget)
    points = iter(grid_points(space))
    return run_until_exhausted(lambda: evaluator(next(points)), evaluator, budget)


def random_search(objective: Objective, space: Space, budget: int, seed: int = 0) -> TuningResult:
    """Evaluate grid points drawn uniformly without replacement."""
    evaluator = Evaluator(objective, space, budget)
    points = grid_points(space)
    order = iter(np.random.default_rng(seed).permutation(len(points)))
    return run_until_exhausted(lambda: evaluator(points[next(order)]), evaluator, min(budget, len(points)))


def optuna_search(objective: Objective, space: Space, budget: int, seed: int = 0,
                  storage: str | None = None, study_name: str | None = None) -> TuningResult:
    """Optuna TPE search on the grid.

    Args:
        objective: Function to maximise.
        space: Search space (ints and floats with their ``step``).
        budget: Distinct evaluations.
        seed: Seed of the ``TPESampler``.
        storage: Optuna storage URL (e.g. ``postgresql://...``) to share a study between
            workers; in-memory when None.
        study_name: Study name (needed to resume/share a study in an RDB storage).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    evaluator = Evaluator(objective, space, budget)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                storage=storage, study_name=study_name, load_if_exists=storage is not None)

    def suggest(trial) -> dict:
        return {name: (trial.suggest_int(name, int(spec.low), int(spec.high), step=int(spec.step))
                       if spec.kind == "int" else
                       trial.suggest_float(name, spec.low, spec.high, step=spec.step))
                for name, spec in space.items()}

    def step() -> None:
        trial = study.ask()
        study.tell(trial, evaluator(suggest(trial)))

    return run_until_exhausted(step, evaluator, 5 * budget)
