"""The metrics of out-of-sample scores: classification report, calibration, trading, threshold sweep."""

from __future__ import annotations

import pandas as pd

from ml.classification_metrics import (
    calibration_table,
    classification_report,
    taken_vs_all,
    threshold_sweep,
)


def evaluate_oos(oos: pd.DataFrame) -> dict:
    """Metrics of out-of-sample predictions from :func:`walk_forward_predict`.

    Returns:
        Dict with ``report`` (AUC, Brier, precision/recall/F1 at each fold's threshold, ECE),
        ``calibration`` (decile table), ``trading`` (taken vs all vs skipped) and ``sweep``
        (threshold sweep 0.50…0.80 with the fraction kept).
    """
    y, s, r = oos["label"].to_numpy(), oos["score"].to_numpy(), oos["ret"].to_numpy()
    return {
        "report": classification_report(y, s, oos["threshold"].to_numpy()),
        "calibration": calibration_table(y, s, n_bins=10, strategy="quantile"),
        "trading": taken_vs_all(r, s, oos["threshold"].to_numpy(), times=oos.index, labels=y),
        "sweep": threshold_sweep(y, s, r),
    }
