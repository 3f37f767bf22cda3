"""The tuning report of one (strategy, series) job, as pure functions over ``ml.tuner.report.summarise``'s
summary: its MLflow metrics (overall and per walk-forward window) and its markdown table.
"""

from __future__ import annotations

import json

import pandas as pd


def run_metrics(summary: dict) -> dict[str, float]:
    """Overall metrics: OOS improvement, deflated Sharpe, PBO, the verdict, and every default/tuned OOS metric
    (``default_<metric>``, ``tuned_<metric>``)."""
    return {"oos_improvement": summary["oos_improvement"], "deflated_sharpe": summary["deflated_sharpe"],
            "pbo": summary["pbo"], "recommended": float(summary["recommended"]),
            **{f"{side}_{k}": v for side, key in (("default", "before"), ("tuned", "after"))
               for k, v in summary[key].items()}}


def window_metrics(summary: dict) -> dict[int, dict[str, float]]:
    """Per-window metrics keyed by window number (logged as MLflow steps): DSR, PBO, best reward and the
    in- and out-of-sample Sharpe of the defaults and of the tuned parameters."""
    return {w["window"]: {
        "window_dsr": w["dsr"], "window_pbo": w["pbo"], "window_best_reward": w["best_reward"],
        **{f"window_{side}_oos_sharpe": w["out_of_sample"][side]["sharpe"] for side in ("default", "tuned")},
        **{f"window_{side}_is_sharpe": w["in_sample"][side]["sharpe"] for side in ("default", "tuned")}}
        for w in summary["windows"]}


def markdown(title: str, optimization_id: int, summary: dict, run_id: str) -> str:
    """The Prefect artifact of a tuning job: verdict, headline figures and one row per window."""
    table = pd.DataFrame([{
        "window": w["window"], "test": f"{str(w['test_start'])[:10]} .. {str(w['test_end'])[:10]}",
        "tuned params": json.dumps(w["tuned_params"]),
        "IS SR default": w["in_sample"]["default"]["sharpe"], "IS SR tuned": w["in_sample"]["tuned"]["sharpe"],
        "OOS SR default": w["out_of_sample"]["default"]["sharpe"], "OOS SR tuned": w["out_of_sample"]["tuned"]["sharpe"],
        "OOS maxDD tuned": w["out_of_sample"]["tuned"]["max_drawdown"], "DSR": w["dsr"], "PBO": w["pbo"],
    } for w in summary["windows"]]).round(3)
    because = "; ".join(summary.get("not_recommended_because") or [])
    verdict = ("**recommended**" if summary["recommended"]
               else "**not recommended** (defaults stay" + (f": {because})" if because else ")"))
    return (f"# Tuning {title}\n\n"
            f"Optimization `{optimization_id}`, MLflow run `{run_id}`: {verdict}; mean OOS Sharpe change "
            f"{summary['oos_improvement']:+.3f}, deflated Sharpe {summary['deflated_sharpe']:.2f}, "
            f"PBO {summary['pbo']:.2f}.\n\n" + table.to_markdown(index=False))
