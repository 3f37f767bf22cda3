"""Out-of-sample scores of a scorer on every test fold of a splitter, and the pooled training set of many."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import numpy as np
import pandas as pd

from ml.signal_quality.validation.combinatorial import CombinatorialPurgedCV
from ml.signal_quality.validation.purged import PurgedWalkForwardCV, _ns


def walk_forward_predict(
    make_model: Callable[[], object],
    X: pd.DataFrame,
    labels: pd.DataFrame,
    cv: PurgedWalkForwardCV | CombinatorialPurgedCV = PurgedWalkForwardCV(),
    sample_weight: pd.Series | None = None,
    folds: Collection[int] | None = None,
) -> tuple[pd.DataFrame, list]:
    """Out-of-sample scores for every test fold of ``cv`` (or only the folds numbered in ``folds``).

    Each fold fits a fresh model (which calibrates and chooses its threshold on its own, later
    training rows) on the purged training set and scores the test fold.

    Args:
        make_model: Factory returning an unfitted scorer (``fit(X, y, sample_weight, label_end)``,
            ``score_array``, ``threshold_``).
        X: Features indexed by signal time (same rows as ``labels``).
        labels: Triple-barrier labels (``label``, ``exit_time``, ``ret``); unresolved rows are dropped.
        cv: Splitter (:class:`PurgedWalkForwardCV` or :class:`CombinatorialPurgedCV`; with the latter a sample
            is scored once per split that tests it, ``fold`` telling the splits apart).
        sample_weight: Optional weights aligned with ``X``.
        folds: Fold numbers (0 = earliest test fold) to compute; the others are skipped, so the folds can be
            computed apart (in parallel) and concatenated in fold order, which equals computing them all.

    Returns:
        ``(oos, models)``: frame indexed by signal time with ``fold``, ``score``, ``threshold``,
        ``taken``, ``label``, ``ret``, ``side`` (and ``group`` when ``labels`` has it); and the
        fitted model of each fold.
    """
    ok = labels["label"].notna().to_numpy()
    order = np.argsort(_ns(X.index[ok]), kind="stable")
    Xs, lab = X[ok].iloc[order], labels[ok].iloc[order]
    w = None if sample_weight is None else sample_weight[ok].iloc[order].to_numpy()
    y, t1 = lab["label"].to_numpy(), lab["exit_time"]
    parts, models = [], []
    for fold, (tr, te) in enumerate(cv.split(Xs.index, t1)):
        if folds is not None and fold not in folds:
            continue
        model = make_model().fit(Xs.iloc[tr], y[tr], None if w is None else w[tr], t1.iloc[tr].to_numpy())
        score = model.score_array(Xs.iloc[te])
        parts.append(pd.DataFrame({"fold": fold, "score": score, "threshold": model.threshold_,
                                   "taken": score >= model.threshold_, "label": y[te],
                                   "ret": lab["ret"].to_numpy()[te], "side": lab["side"].to_numpy()[te]},
                                  index=Xs.index[te]))
        if "group" in lab.columns:
            parts[-1]["group"] = lab["group"].to_numpy()[te]
        models.append(model)
    if not parts:
        raise ValueError(f"no test fold of the splitter is among folds={sorted(folds or [])}")
    return pd.concat(parts), models


def pool_signal_sets(
    sets: Mapping[str, tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]:
    """Pool several (symbol, strategy) signal sets into one time-ordered training set.

    One scorer trained on signals of several symbols and strategies sees several times more
    outcomes than one per set (the strategy is a feature). Folds of :class:`PurgedWalkForwardCV`
    then cut all sets at the same dates, and purging works across sets because it compares
    label intervals in time.

    Args:
        sets: ``group name -> (X, labels, sample_weight or None)``; all ``X`` share columns.

    Returns:
        ``(X, labels, weights)`` sorted by signal time (stable); ``labels`` gains a ``group``
        column; ``weights`` is None if any set has none.
    """
    xs = [x for x, _, _ in sets.values()]
    labels = [lab.assign(group=name) for name, (_, lab, _) in sets.items()]
    weights = [w for _, _, w in sets.values()]
    X, lab = pd.concat(xs), pd.concat(labels)
    order = np.argsort(_ns(X.index), kind="stable")
    w = None if any(v is None for v in weights) else pd.concat(weights).iloc[order]
    return X.iloc[order], lab.iloc[order], w
