"""Lockbox scorecard: the seed's success metrics on the last 20% of each bundled daily series.

Every setting (volatility model, signal scorer and its threshold rule, sizing policy) is chosen on the bars
before each series' lockbox (minus an embargo of the longest label horizon) by ``ml.scorecard.select_settings``;
the frozen choices are then scored once on the lockboxes (``ml.scorecard.score_lockbox``). See the module
docstrings of ``ml.lockbox`` and ``ml.scorecard`` for the protocol.

Run: ``.venv/bin/python benchmarks/scorecard.py [--quick] [--markdown out.md]``
(``--quick``: GOOG and one strategy only, a smoke run, not the scorecard).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.datasets import DAILY_SAMPLES, load_sample
from ml.scorecard import ScorecardConfig, score_lockbox, scorecard_table, select_settings
from ml.volatility.intervals import DEFAULT_INTERVAL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="GOOG and rsi_mean_reversion only (smoke run)")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the tables as markdown")
    args = parser.parse_args()
    tic = time.perf_counter()
    symbols = ("GOOG",) if args.quick else DAILY_SAMPLES
    config = ScorecardConfig(strategies=("rsi_mean_reversion",)) if args.quick else ScorecardConfig()
    bars = {s: load_sample(s) for s in symbols}
    selection = select_settings(bars, config)
    t_select = time.perf_counter() - tic
    scores = score_lockbox(bars, selection, config)
    elapsed = time.perf_counter() - tic
    pd.set_option("display.width", 250, "display.max_columns", 40, "display.max_colwidth", 90, "display.max_rows", 200)

    box = config.lockbox
    spans = pd.DataFrame({s: {"bars": len(b), "selection_end": b.index[box.bounds(len(b))[0] - 1].date(),
                              "lockbox_start": selection.lockbox_start[s].date(), "lockbox_end": b.index[-1].date(),
                              "lockbox_bars": len(b) - box.bounds(len(b))[1]} for s, b in bars.items()}).T
    table = scorecard_table(scores, selection)
    vol_sel = selection.vol_table[["qlike", "coverage", "ratio_garch", "ratio_best_har"]]
    signal = pd.DataFrame(scores.signal).T[["n_oos", "base_rate", "mean_score", "kept_frac", "win_all", "win_kept",
                                           "win_ratio", "auc", "precision", "recall", "ece", "ret_all", "ret_kept"]]
    vol = pd.DataFrame(scores.volatility).T
    reference = pd.concat({m: pd.DataFrame(per).T for m, per in scores.volatility_reference.items()},
                          names=["model", "symbol"])
    sections = [
        (f"Lockbox (last {config.lockbox_fraction:.0%}, embargo {box.horizon} bars)", spans),
        ("Scorecard (lockbox)", table),
        ("Selection: volatility walk-forward inside the selection parts (intervals: {} {})".format(*DEFAULT_INTERVAL),
         vol_sel),
        ("Selection: signal candidates by combinatorial purged CV (mean over splits)", selection.signal_cv),
        ("Lockbox: signal metrics per series", signal),
        (f"Lockbox: volatility metrics per series (promoted: {selection.vol_model})", vol),
        ("Lockbox: reference volatility models (declared beforehand, not chosen here)", reference),
        ("Sizing over an expanding walk-forward of every bar after five years (ml.scorecard.SizingWalkForward)",
         pd.concat({s: pd.DataFrame(per).T for s, per in scores.sizing_walk_forward.items()}, names=["symbol", "cell"])),
        ("Sizing over the same walk-forward, de-risk only (cap 1: SizingWalkForward.de_risk_only)",
         pd.concat({s: pd.DataFrame(per).T for s, per in scores.sizing_de_risk_only.items()}, names=["symbol", "cell"])),
    ]
    for title, frame in sections:
        print(f"\n## {title}\n")
        print(frame.to_string())
    print(f"\nselection {t_select:.0f} s, total {elapsed:.0f} s")
    if args.markdown:
        parts = [f"### {title}\n\n{frame.to_markdown(floatfmt='.4g')}" for title, frame in sections]
        args.markdown.write_text("\n\n".join(parts) + f"\n\nselection {t_select:.0f} s, total {elapsed:.0f} s\n")


if __name__ == "__main__":
    main()
