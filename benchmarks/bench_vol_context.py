"""Benchmark: the signal scorer with vs without the volatility context, on the scorecard's selection parts only.

The comparison that decides whether the volatility context (:mod:`ml.signal_quality.features.vol_context`:
``x_vol_surprise``, ``x_vol_regime`` from a causal walk-forward of the production volatility model) is wired
into training and serving. The protocol is ``bench_cross_asset.py``'s:

* data: ``ScorecardConfig().lockbox.split_series`` cuts off the lockboxes (the last 20% of each series) and
  their embargoes first. Every signal, label and volatility forecast comes from the selection parts only;
* signals: the scorecard's signal sets (``signal_sets``, default features, the 9 symbol x strategy sets pooled);
  "with" is the same sets with the two columns of each signal's bar appended;
* selection: the scorecard's own signal selection (``select_signal``: 2 candidates x 3 ``min_keep``, CPCV
  N = 6, k = 2, 15 splits) run on both, then the candidate and ``min_keep`` it ranks first *without* the
  context is scored split by split on both (paired), and the training flow's protocol is reported beside it.

**Decision rule, declared before the first run** (not changed after it). Let ``d_auc`` and ``d_win`` be the
per-split differences (with minus without) of that candidate's AUC and filtered/pooled win-rate ratio over
the 15 CPCV splits. **Adopt** the context (wire it into training and serving, on by default) only if all hold:

1. ``mean(d_auc) > 0``;
2. ``mean(d_auc) > sd(d_auc) / sqrt(15)`` (more than one standard error of the mean; the splits share
   training data, so this error is if anything too small and the rule too lenient, not too strict);
3. ``mean(d_win) >= 0`` (the filtered win-rate ratio is not lower).

Otherwise it stays **off**: the pure module, its tests and this script stay as the evidence, nothing is
wired. The selection ranking with the context and the flow-protocol numbers are reported, not used.

Run: ``nice -n 19 .venv/bin/python benchmarks/bench_vol_context.py``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_cross_asset import flow_protocol, split_metrics
from ml.datasets import DAILY_SAMPLES, load_sample
from ml.scorecard import ScorecardConfig
from ml.scorecard.selection import rank_signal_candidates, select_signal, signal_sets
from ml.signal_quality.features.vol_context import VOL_CONTEXT_COLUMNS, VolContextConfig, vol_context


def with_vol_context(sets: dict, contexts: dict[str, pd.DataFrame]) -> dict:
    """``sets`` (``"symbol|strategy" -> (X, labels, weights)``) with each signal bar's volatility context."""
    out = {}
    for name, (X, labels, w) in sets.items():
        cols = contexts[name.split("|")[0]].reindex(X.index).set_axis(X.index)
        out[name] = (pd.concat([X, cols], axis=1), labels, w)
    return out


def verdict(diff: pd.DataFrame) -> tuple[bool, dict[str, float]]:
    """The declared rule applied to the per-split differences (columns ``auc``, ``win_ratio``)."""
    n = len(diff)
    mean, sd = diff.mean(), diff.std()
    se = float(sd["auc"] / np.sqrt(n))
    checks = {"mean_d_auc": float(mean["auc"]), "se_d_auc": se, "sd_d_auc": float(sd["auc"]),
              "mean_d_win": float(mean["win_ratio"]), "sd_d_win": float(sd["win_ratio"]),
              "splits_auc_better": float((diff["auc"] > 0).sum()),
              "splits_win_better": float((diff["win_ratio"] > 0).sum()), "n_splits": float(n)}
    adopt = checks["mean_d_auc"] > 0 and checks["mean_d_auc"] > se and checks["mean_d_win"] >= 0
    return adopt, checks


def main() -> None:
    tic = time.perf_counter()
    base = ScorecardConfig()
    selection, _ = base.lockbox.split_series({s: load_sample(s) for s in DAILY_SAMPLES})
    for s, b in selection.items():
        print(f"{s}: selection part {b.index[0].date()} .. {b.index[-1].date()} ({len(b)} bars)")
    vcfg = VolContextConfig(horizon=base.vol_horizon, refit_every=base.vol_refit_every)
    contexts = {s: vol_context(b, vcfg) for s, b in selection.items()}
    print(f"volatility context: {vcfg} ({time.perf_counter() - tic:.0f} s)")
    without = signal_sets(selection, base)
    all_sets = {False: without, True: with_vol_context(without, contexts)}
    X_with = pd.concat([x for x, _, _ in all_sets[True].values()])
    print("share of signals with the column (not NaN):",
          {c: round(float(X_with[c].notna().mean()), 4) for c in VOL_CONTEXT_COLUMNS})
    print(X_with[list(VOL_CONTEXT_COLUMNS)].describe().round(4).to_string())
    tables = {}
    for flag, sets in all_sets.items():
        _, _, table = select_signal(sets, base)
        tables[flag] = rank_signal_candidates(table)
        print(f"\nvol_context={flag} (selection CPCV, mean over splits; best first):")
        print(tables[flag].round(4).to_string())
        print(f"\nvol_context={flag}, the training flow's protocol (purged walk-forward) on the selection parts:")
        print(flow_protocol(sets).round(4).to_markdown())
    cand, keep = tables[False].index[0]
    diff = split_metrics(all_sets[True], base, cand, keep) - split_metrics(all_sets[False], base, cand, keep)
    print(f"\n{cand} min_keep {keep}, per CPCV split, with minus without:\n{diff.round(4).to_string()}")
    adopt, checks = verdict(diff)
    print("\nrule:", {k: round(v, 4) for k, v in checks.items()})
    print(f"VERDICT: {'ADOPT (on)' if adopt else 'NOT ADOPTED (off)'}")
    both = pd.concat({str(k): v for k, v in tables.items()}, names=["vol_context"])
    print("\n" + both.round(4).to_markdown())
    print(f"\ntotal {time.perf_counter() - tic:.0f} s")


if __name__ == "__main__":
    main()
