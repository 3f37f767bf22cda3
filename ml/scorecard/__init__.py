"""The lockbox scorecard: the seed's success metrics, measured once on data no choice ever looked at.

Protocol (issue 19). Every series is cut by :class:`ml.lockbox.Lockbox` into a selection part, an embargo and a
lockbox (the last 20% of its bars). :func:`select_settings` sees only the selection parts:

* **volatility**: a walk-forward of the candidate models inside each selection part
  (:func:`ml.volatility.evaluation.evaluate_models`); the model to promote is the lowest mean QLIKE among
  those whose intervals pass the coverage band (:func:`ml.volatility.summary.choose_model`); it, GARCH-t and
  the plain HAR baselines are then fitted on each selection part (parameters and conformal residuals frozen),
  and so are the reference models (the pipeline's ``DEFAULT_MODEL``, declared in code beforehand), which are
  scored beside the promoted one but never chosen by the scorecard;
* **signal scorer**: every candidate (scorer x ``min_keep``, the fraction its automatic threshold keeps) is
  cross-validated by combinatorial purged CV (:class:`~ml.signal_quality.validation.CombinatorialPurgedCV`) on
  the signals of every selection part pooled; among the candidates that keep at least 30% of the signals in
  every split, the best mean win-rate lift over take-all is chosen (mean AUC breaks ties;
  :func:`rank_signal_candidates`), then fitted on all pooled selection signals: its threshold is chosen on its
  own calibration rows, inside the selection parts;
* **sizing**: the policy is declared before looking: target the selection part's per-bar volatility, leverage at
  most 2, on an always-long and an SMA(200) trend strategy. The same policy is also evaluated over an expanding
  walk-forward of every bar after the first five years (:class:`SizingWalkForward`: the declared production
  volatility model refitted every 63 bars, the target the expanding RMS of past returns), so 2008 is in it,
  together with a second declared policy on the same forecasts, **de-risk only** (the scale capped at 1: the
  position is never larger than the fixed one; :meth:`SizingWalkForward.de_risk_only`).

:func:`score_lockbox` then scores the frozen choices once on the lockboxes. Forecasts and features inside a
lockbox read earlier bars only (as a deployed model would); labels and outcomes are those of the lockbox.

The metric functions (:func:`signal_metrics`, :func:`volatility_scores`, :func:`sizing_scores`) are pure
functions of arrays/frames and reuse :mod:`ml.metrics`, :mod:`ml.classification_metrics` and
:mod:`ml.signal_quality.summary`. :func:`scorecard_table` turns the results into (metric, target, measured,
met) rows.

Why the mean score is not a quality target: a *calibrated* scorer's score is P(success | features), so the mean
score of any set of signals equals (up to sampling error and calibration error) the success rate of that set;
the mean score of all signals equals the base rate of the labels (about 0.50 with symmetric barriers). A mean
score above 0.70 is therefore only reachable by a scorer that is over-confident or by signals that already win
70% of the time; the scorecard reports the mean score beside the base rate and the mean score of the *taken*
signals beside their success rate.

Modules: :mod:`ml.scorecard.config` (targets, settings), :mod:`ml.scorecard.metrics`, :mod:`ml.scorecard.selection`
(choices made before the lockbox), :mod:`ml.scorecard.lockbox` (scored once, the table),
:mod:`ml.scorecard.sizing_walkforward` (the sizing policy over every out-of-sample bar).
"""

from ml.scorecard.config import (
    AUC,
    COVERAGE_BAND,
    MDD_RATIO,
    MEAN_SCORE,
    MIN_CELLS,
    MIN_KEPT,
    MIN_SERIES,
    RATIO_BEST_HAR,
    RATIO_GARCH,
    WIN_RATIO,
    ScorecardConfig,
)
from ml.scorecard.lockbox import (
    LockboxScores,
    score_lockbox,
    scorecard_table,
)
from ml.scorecard.metrics import (
    signal_metrics,
    sizing_scores,
    volatility_scores,
)
from ml.scorecard.selection import (
    Selection,
    rank_signal_candidates,
    select_settings,
    select_signal,
    signal_sets,
)
from ml.scorecard.sizing_walkforward import SizingWalkForward

__all__ = [
    "AUC",
    "COVERAGE_BAND",
    "MDD_RATIO",
    "MEAN_SCORE",
    "MIN_CELLS",
    "MIN_KEPT",
    "MIN_SERIES",
    "RATIO_BEST_HAR",
    "RATIO_GARCH",
    "WIN_RATIO",
    "LockboxScores",
    "ScorecardConfig",
    "Selection",
    "SizingWalkForward",
    "rank_signal_candidates",
    "score_lockbox",
    "scorecard_table",
    "select_settings",
    "select_signal",
    "signal_metrics",
    "signal_sets",
    "sizing_scores",
    "volatility_scores",
]
