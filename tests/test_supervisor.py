"""The local process supervisor and the Prefect server selection, with real processes on 127.0.0.1: a server is
"running" when its recorded process is alive and runs its command line, never because of state a dead process
left behind (a pid file, a deployment still registered in Prefect's database)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from abtpro import stack, supervisor
from abtpro.settings import get_settings

SLEEP = [sys.executable, "-c", "import time; time.sleep(120)"]


def _answering(tmp_path: Path, *paths: str) -> tuple[supervisor.Server, Path]:
    """A real HTTP server (``python -m http.server``) on a free port that answers 200 at each of ``paths``."""
    root = tmp_path / "www"
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("ok")
    port = supervisor.free_port()
    server = supervisor.Server("web", [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                       "--directory", str(root)],
                               f"http://127.0.0.1:{port}/{paths[0]}", f"http://127.0.0.1:{port}")
    return server, tmp_path / "web-run"


@pytest.fixture
def web(tmp_path):
    """An answering HTTP server that stands in for a Prefect API (health and the ``ingest`` deployment)."""
    server, run_dir = _answering(tmp_path, "api/health", "api/deployments/name/ingest/ingest")
    proc = supervisor.start(server, run_dir, timeout=60)
    yield server, run_dir
    supervisor.stop_process(proc)


@pytest.fixture
def prefect_env():
    """No PREFECT_API_URL nor startup timeout from outside; both (and Prefect's settings) restored afterwards."""
    keys = ("PREFECT_API_URL", stack.EPHEMERAL_TIMEOUT_ENV)
    saved = {key: os.environ.pop(key, None) for key in keys}
    yield
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    if "prefect.context" in sys.modules:
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def test_a_started_server_is_running_and_kept(tmp_path):
    server = supervisor.Server("sleeper", SLEEP, "http://127.0.0.1:1/never", "-", reuse_when_healthy=False)
    proc = subprocess.Popen(SLEEP, start_new_session=True)  # not recorded yet: not the server
    try:
        assert supervisor.running("sleeper", tmp_path) is None
        (tmp_path / "sleeper.pid").write_text(json.dumps({"pid": proc.pid, "command": SLEEP, "url": "-",
                                                          "health_url": "-"}))
        assert supervisor.running("sleeper", tmp_path)["pid"] == proc.pid
        assert supervisor.stop("sleeper", tmp_path) and proc.wait(timeout=30) is not None
        assert supervisor.running("sleeper", tmp_path) is None and not (tmp_path / "sleeper.pid").exists()
    finally:
        proc.kill()
    with pytest.raises(RuntimeError, match="not healthy"):  # a started process must also become healthy
        supervisor.start(server, tmp_path, timeout=2)


def test_a_dead_or_reused_pid_is_not_running(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    other = subprocess.Popen(SLEEP)  # alive, but not the recorded command: the pid was reused
    try:
        for name, state in (("dead", {"pid": dead.pid, "command": SLEEP}),
                            ("reused", {"pid": other.pid, "command": [sys.executable, "-m", "flows.deployments"]}),
                            ("bare", other.pid), ("garbage", "not json")):
            (tmp_path / f"{name}.pid").write_text(json.dumps(state) if name != "garbage" else state)
            assert supervisor.running(name, tmp_path) is None, name
            assert not supervisor.stop(name, tmp_path) and not (tmp_path / f"{name}.pid").exists(), name
        assert other.poll() is None  # stop never signals a process it cannot tell is ours
    finally:
        other.kill()


def test_same_command_sees_through_the_script_interpreter():
    script = ["/x/.venv/bin/prefect", "server", "start", "--port", "4200"]
    assert supervisor.same_command(["/x/.venv/bin/python3.11", *script], script)
    assert supervisor.same_command(script, script)
    assert not supervisor.same_command(["/x/.venv/bin/python3.11", *script[:-1], "4300"], script)
    assert not supervisor.same_command(["/usr/bin/bash"], script)
    assert not supervisor.same_command([], script) and not supervisor.same_command(None, script)


def test_a_registered_deployment_without_a_runner_is_not_a_running_runner(web, tmp_path):
    """After ``abtpro down`` the ``ingest`` deployment is still in Prefect's database: its URL answers, yet the
    flow runner must be started again."""
    prefect, _ = web
    runner = supervisor.flow_runner(prefect.url, tmp_path)
    assert runner.reuse_when_healthy is False and supervisor.healthy(runner.health_url)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "flow-runner.pid").write_text("999999")  # what the dead runner left behind
    stand_in = dataclasses.replace(runner, command=SLEEP)  # the same checks; a process that just runs
    proc = supervisor.start(stand_in, tmp_path / "run", timeout=30)
    try:
        assert proc is not None and proc.poll() is None
        assert supervisor.running("flow-runner", tmp_path / "run")["pid"] == proc.pid
        assert supervisor.start(stand_in, tmp_path / "run", timeout=30) is None  # now it runs: kept
        with pytest.raises(RuntimeError, match="already runs as"):  # another command under the same name
            supervisor.start(dataclasses.replace(stand_in, command=[*SLEEP, "x"]), tmp_path / "run", timeout=5)
    finally:
        supervisor.stop_process(proc)
    # a server whose health URL is its own is reused when something answers there (someone's own server)
    assert supervisor.start(dataclasses.replace(stand_in, reuse_when_healthy=True), tmp_path / "run") is None


def test_mlflow_ui_runs_without_its_job_runner():
    server = supervisor.mlflow_server("sqlite:///x.db", "file:///x", 5000)
    assert server.env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"


def test_prefect_selection_explicit_url_wins(prefect_env, tmp_path):
    os.environ["PREFECT_API_URL"] = "http://10.0.0.7:4200/api"
    line = stack.select_prefect_api(get_settings(data_dir=tmp_path))
    assert line == "Prefect: using the server at http://10.0.0.7:4200 (PREFECT_API_URL)"
    assert os.environ["PREFECT_API_URL"] == "http://10.0.0.7:4200/api"


def test_prefect_selection_uses_the_running_local_server(prefect_env, tmp_path):
    settings = get_settings(data_dir=tmp_path)
    server, _ = _answering(tmp_path, "api/health")
    proc = supervisor.start(dataclasses.replace(server, name="prefect"), stack.run_dir(settings), timeout=60)
    try:
        assert stack.select_prefect_api(settings) == f"Prefect: using the server at {server.url}"
        assert os.environ["PREFECT_API_URL"] == f"{server.url}/api"
        import prefect.context  # the settings a CLI process runs on (a test harness may have entered others)

        assert prefect.context.GLOBAL_SETTINGS_CONTEXT.settings.api.url == f"{server.url}/api"  # imported earlier
    finally:
        supervisor.stop_process(proc)


def test_prefect_selection_falls_back_to_a_patient_temporary_server(prefect_env, tmp_path, web):
    """A dead process's pid file, or a live process that does not answer, is no server to use, even when
    something else answers at the recorded URL."""
    settings = get_settings(data_dir=tmp_path)
    web_server, _ = web
    runs = stack.run_dir(settings)
    runs.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    silent = subprocess.Popen(SLEEP)
    try:
        for pid, command in ((dead.pid, SLEEP), (silent.pid, SLEEP)):
            health = web_server.health_url if pid == dead.pid else "http://127.0.0.1:1/api/health"
            (runs / "prefect.pid").write_text(json.dumps({"pid": pid, "command": command, "url": web_server.url,
                                                          "health_url": health}))
            assert stack.select_prefect_api(settings) == "Prefect: temporary server (no `abtpro up` running)"
            assert "PREFECT_API_URL" not in os.environ
    finally:
        silent.kill()
    assert os.environ[stack.EPHEMERAL_TIMEOUT_ENV] == "300"
    import prefect.context

    assert prefect.context.GLOBAL_SETTINGS_CONTEXT.settings.server.ephemeral.startup_timeout_seconds == 300
