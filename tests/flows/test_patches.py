"""flows.patches: the kept Prefect fixes are installed by the entry points only, and only on the Prefect they
were written for (a test here fails when an upgrade changes the patched code)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import prefect
from prefect import flow_engine

from flows import heartbeat, patches, task_overhead

ROOT = Path(__file__).resolve().parents[2]


def _in_fresh_process(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(task_overhead.SWITCH, None)
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=300).stdout.strip()


def test_importing_the_flows_changes_nothing_in_prefect():
    out = _in_fresh_process(
        "import flows, flows.ingest, flows.volatility, flows.deployments\n"
        "from prefect import flow_engine\n"
        "from flows import heartbeat, task_overhead\n"
        "print(flow_engine._send_heartbeats is heartbeat._send_heartbeats, sorted(task_overhead.installed().values()))")
    assert out == "False [False, False, False]"


def test_install_puts_both_fixes_in_place_and_is_idempotent():
    assert patches.install() == {"heartbeat": True, "ssl": True, "serialize": True, "hydrate": True}
    assert flow_engine._send_heartbeats is heartbeat._send_heartbeats
    assert patches.install() == {"heartbeat": True, "ssl": True, "serialize": True, "hydrate": True}


def test_the_dask_preload_hook_installs_them():
    out = _in_fresh_process("from flows import patches, task_overhead; patches.dask_setup(object()); "
                            "print(sorted(task_overhead.installed().values()))")
    assert out == "[True, True, True]"


def test_the_fixes_were_written_for_the_installed_prefect():
    """Fails on a Prefect upgrade that changes any patched function: re-check whether each fix is still needed
    (tests/flows/test_heartbeat.py, test_task_overhead.py, benchmarks/bench_task_overhead.py), then update the
    fix and its recorded digest, or drop it."""
    assert prefect.__version__.startswith(patches.WRITTEN_FOR), prefect.__version__
    changed = {target for target, digest in patches.upstream_digests().items()
               if digest != patches.UPSTREAM_SHA256[target]}
    assert not changed, f"Prefect {prefect.__version__} changed {sorted(changed)}"


def test_the_digests_are_of_prefects_code_not_ours():
    patches.install()
    source = patches.upstream_source("prefect.flow_engine:_send_heartbeats")
    assert heartbeat.SLEEPY_LINE in source and "_abtpro" not in source
    assert "ssl.create_default_context(cafile=cert_file)" in patches.upstream_source(
        "prefect.client.orchestration:SyncPrefectClient.__init__")
    assert "visit_collection" in patches.upstream_source("prefect.context:SettingsContext.serialize")
    assert "SettingsContext(**settings_context)" in patches.upstream_source("prefect.context:hydrated_context")
