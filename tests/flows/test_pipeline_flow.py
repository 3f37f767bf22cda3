"""The ``abtpro-pipeline`` parent flow for real on the bundled GOOG sample (small tuning budget): one flow run with
the existing flows as its subflows, every step's result, the progress steps in order, and a re-run that retrains
and re-tunes nothing."""

from __future__ import annotations

import pytest
from prefect import get_client
from prefect.client.schemas import filters

from flows.pipeline import STEPS, pipeline
from store import optimizations as opt
from store.bars import bar_counts

SMALL = {"symbols": ["GOOG"], "tune_budget": 4, "tune_windows": 2}
SUBFLOWS = {"ingest", "validate", "volatility-pipeline", "signal-quality-pipeline", "tuning-pipeline"}


@pytest.fixture(scope="module")
def runs(goog_store):
    """The pipeline twice on GOOG (stored by the fixture already): (first state, its steps, second result)."""
    steps: list[str] = []
    first = pipeline(**SMALL, progress=steps.append, return_state=True)
    second = pipeline(**SMALL)
    return first, steps, second


def _subflow_names(parent_id) -> set[str]:
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=filters.FlowRunFilter(parent_flow_run_id=filters.FlowRunFilterParentFlowRunId(any_=[parent_id])))
        flows = client.read_flows(flow_filter=filters.FlowFilter(id=filters.FlowFilterId(any_=[c.flow_id for c in children])))
    names = {f.id: f.name for f in flows}
    assert all(c.state_type.value == "COMPLETED" for c in children), [(names[c.flow_id], c.state_type) for c in children]
    return {names[c.flow_id] for c in children}


def test_one_flow_run_with_the_existing_flows_as_subflows(runs):
    first, _, _ = runs
    assert first.is_completed()
    assert _subflow_names(first.state_details.flow_run_id) >= SUBFLOWS


def test_every_step_reports_its_result_and_the_progress_is_honest(runs, db_url):
    first, steps, _ = runs
    result = first.result()
    assert steps == list(STEPS)
    (goog,) = result.ingested
    # the pipeline ingests all but the held-back last year (ABTPRO_REPLAY_HOLDBACK_DAYS), all of it stored already
    assert (goog.symbol, goog.read, goog.inserted, goog.quarantined) == ("GOOG", 2148 - 250, 0, 0)
    assert [(r["symbol"], r["success"]) for r in result.validation] == [("GOOG", True)]
    assert bar_counts(db_url).set_index("symbol").loc["GOOG", "rows"] == 2148
    for outcome in (result.volatility, result.signal_quality):
        assert outcome.version == "1" and outcome.promoted and "no current champion" in outcome.reason
    rows = [opt.get(db_url, oid) for oid in result.optimizations]
    assert {(r.symbol, r.status) for r in rows} == {("GOOG", opt.COMPLETED)}, [r.error for r in rows]
    assert {r.strategy for r in rows} == {"rsi_mean_reversion", "sma_crossover", "donchian_breakout"}


def test_a_second_run_retrains_and_retunes_nothing(runs):
    first, _, second = runs
    for outcome in (second.volatility, second.signal_quality):
        assert outcome.version == "1" and outcome.reason.startswith("up to date: champion v1")
    assert second.optimizations == first.result().optimizations
