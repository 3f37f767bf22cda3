"""The two declared sizing policies over an expanding walk-forward of every bar after five years (issue 19).

The scorecard's sizing code path (:meth:`ml.scorecard.SizingWalkForward.inputs` and ``evaluate``, with the
scorecard's horizon and leverage cap) without the lockbox selection: the walk-forward chooses nothing, so this
runs it alone. The forecasts and target are computed once per series and both policies are evaluated on them:
the first declared policy (leverage cap 2) and the de-risk-only one (cap 1, :meth:`SizingWalkForward.de_risk_only`).

Run: ``nice -n 19 .venv/bin/python benchmarks/bench_sizing_walkforward.py [--markdown out.md]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.datasets import DAILY_SAMPLES, load_sample
from ml.scorecard import MIN_CELLS, ScorecardConfig, SizingWalkForward

LABELS = {"long_only": "long", "sma200_trend": "SMA-200"}


def rows(symbol: str, first: dict, second: dict) -> list[str]:
    """Markdown rows of one series: the de-risk-only cells, with the first policy's ratio and exposure beside."""
    out = []
    for key, c in second.items():
        f = first[key]
        bars = f"{int(c['n_bars']):,} ({c['start'][:7]} → {c['end'][:7]})"
        out.append(f"| {symbol} {LABELS[key]} | {bars} | {c['sharpe_fix']:.2f} | {c['sharpe_vt']:.2f} | "
                   f"{c['mdd_fix']:.1%} | {c['mdd_vt']:.1%} | {c['mdd_ratio']:.2f} | {c['exposure_vt']:.2f} | "
                   f"{'yes' if c['met'] else 'no'} | {f['sharpe_vt']:.2f} | {f['mdd_vt']:.1%} | {f['mdd_ratio']:.2f} | "
                   f"{f['exposure_vt']:.2f} | {'yes' if f['met'] else 'no'} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table as markdown")
    args = parser.parse_args()
    config = ScorecardConfig()
    first = SizingWalkForward(horizon=config.vol_horizon, max_leverage=config.max_leverage)
    second = first.de_risk_only()
    tic = time.perf_counter()
    lines = [("| series × strategy | bars traded | Sharpe fixed | Sharpe de-risk | max DD fixed | max DD de-risk | "
              "ratio | mean exposure | met? | first policy (cap 2): Sharpe | max DD | ratio | exposure | met? |"),
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|"]
    met = {first.name: 0, second.name: 0}
    for symbol in DAILY_SAMPLES:
        bars = load_sample(symbol)
        if not first.tradable(bars):
            continue
        inputs = first.inputs(bars)  # the same forecasts and target for both policies
        cells = {p.name: p.evaluate(bars, inputs) for p in (first, second)}
        lines += rows(symbol, cells[first.name], cells[second.name])
        for name, per in cells.items():
            met[name] += sum(c["met"] for c in per.values())
        print(f"{symbol}: {time.perf_counter() - tic:.0f} s", flush=True)
    lines.append("")
    for name, n in met.items():
        lines.append(f"{name}: {n} cells met (target >= {MIN_CELLS} of 6)")
    lines.append(f"total {time.perf_counter() - tic:.0f} s")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
