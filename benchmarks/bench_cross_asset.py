"""Benchmark: the signal scorer with vs without the cross-asset context, on the scorecard's selection parts only.

The comparison that decides ``cross_asset``'s default: the scorecard's own signal selection
(``ml.scorecard.selection.select_signal``: every candidate scorer x ``min_keep`` by combinatorial purged CV on the
pooled signals of the selection parts) run twice, with ``ScorecardConfig(cross_asset=False)`` and ``True``; then
the training flow's protocol (``Protocol()``: purged walk-forward, the flow's default XGBoost settings) on the same
signals, overall and per series. The lockboxes are cut off first (``Lockbox.split_series``): no lockbox bar is read, by the features either (the other
series' closes come from their selection parts too).

Run: ``nice -n 19 .venv/bin/python benchmarks/bench_cross_asset.py``
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.datasets import DAILY_SAMPLES, load_sample
from ml.scorecard import ScorecardConfig
from ml.scorecard.selection import rank_signal_candidates, select_signal, signal_sets
from ml.signal_quality.bundle import make_scorer
from ml.signal_quality.recipe import Protocol, model_settings
from ml.signal_quality.summary import oos_metrics
from ml.signal_quality.validation import pool_signal_sets, walk_forward_predict

METRICS = ["n_oos", "auc", "kept_frac", "win_all", "win_kept", "win_ratio"]


def flow_protocol(sets: dict) -> pd.DataFrame:
    """Out-of-sample metrics of the training flow's scorer and protocol on pooled ``sets``: overall, per series."""
    X, labels, w = pool_signal_sets(sets)
    params = model_settings("xgboost", None, None, 1.5, 1.5, 10, 50, True, 150, 2, 0.4, "sigmoid").scorer_params
    oos, _ = walk_forward_predict(lambda: make_scorer("xgboost", **params), X, labels, Protocol().cv(), w)
    series = oos["group"].str.split("|").str[0]
    rows = {"ALL": oos_metrics(oos), **{s: oos_metrics(g) for s, g in oos.groupby(series, sort=False)}}
    return pd.DataFrame(rows).T[METRICS]


def split_metrics(sets: dict, config: ScorecardConfig, candidate: str, keep: float) -> pd.DataFrame:
    """AUC and win-rate ratio of one candidate in each CPCV split (to pair the two runs split by split)."""
    X, labels, w = pool_signal_sets(sets)
    name, params = config.signal_candidates[candidate]
    oos, _ = walk_forward_predict(lambda: make_scorer(name, **params, min_keep=keep), X, labels, config.cpcv, w)
    return pd.DataFrame({f: {k: oos_metrics(g)[k] for k in ("auc", "win_ratio")} for f, g in oos.groupby("fold")}).T


def main() -> None:
    tic = time.perf_counter()
    base = ScorecardConfig()
    selection, _ = base.lockbox.split_series({s: load_sample(s) for s in DAILY_SAMPLES})
    tables, all_sets = {}, {}
    for flag in (False, True):
        config = replace(base, cross_asset=flag)
        sets = all_sets[flag] = signal_sets(selection, config)
        _, _, table = select_signal(sets, config)
        tables[flag] = rank_signal_candidates(table)
        print(f"\ncross_asset={flag} (selection CPCV, mean over splits; best first):")
        print(tables[flag].round(4).to_string())
        print(f"\ncross_asset={flag}, the training flow's protocol (purged walk-forward) on the selection parts:")
        print(flow_protocol(sets).round(4).to_markdown())
    for flag, t in tables.items():
        print(f"best with cross_asset={flag}: {t.index[0]} win_ratio {t.iloc[0]['win_ratio']:.4f} "
              f"auc {t.iloc[0]['auc']:.4f} kept {t.iloc[0]['kept_frac']:.3f}")
    cand, keep = tables[False].index[0]
    diff = split_metrics(all_sets[True], base, cand, keep) - split_metrics(all_sets[False], base, cand, keep)
    print(f"\n{cand} min_keep {keep}, per CPCV split, with minus without ({len(diff)} splits): mean "
          f"{diff.mean().round(4).to_dict()}, std {diff.std().round(4).to_dict()}, "
          f"splits better {(diff > 0).sum().to_dict()}")
    both = pd.concat({str(k): v for k, v in tables.items()}, names=["cross_asset"])
    print("\n" + both.round(4).to_markdown())
    print(f"\ntotal {time.perf_counter() - tic:.0f} s")


if __name__ == "__main__":
    main()
