"""A retrain in its own process runs at a lower CPU priority (:func:`flows.common.lower_priority`); a flow called
in-process (a test, the CLI's direct dispatch) never lowers its caller's priority."""

from __future__ import annotations

import os

from prefect import flow, runtime

from flows import common


@flow
def _own_process(niceness: int, pretend_runner: bool) -> bool:
    if pretend_runner:  # what the flow runner's subprocess has: its own run id in the environment
        os.environ["PREFECT__FLOW_RUN_ID"] = str(runtime.flow_run.id)
    try:
        return common.lower_priority(niceness)
    finally:
        os.environ.pop("PREFECT__FLOW_RUN_ID", None)


def test_lowers_only_a_run_with_its_own_process(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(common.os, "nice", calls.append)
    monkeypatch.delenv("PREFECT__FLOW_RUN_ID", raising=False)
    assert _own_process(10, pretend_runner=True) is True and calls == [10]
    assert _own_process(10, pretend_runner=False) is False  # called in-process: the caller keeps its priority
    assert _own_process(0, pretend_runner=True) is False  # 0: normal priority
    assert common.lower_priority(10) is False  # outside a flow run
    assert calls == [10]


def test_another_runs_id_in_the_environment_is_not_ours(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(common.os, "nice", calls.append)
    monkeypatch.setenv("PREFECT__FLOW_RUN_ID", "00000000-0000-0000-0000-000000000000")

    @flow
    def inner() -> bool:
        return common.lower_priority(5)

    assert inner() is False and calls == []

