"""Checks of the production stack files: static, and ``docker compose config`` (Docker does not run here)."""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from flows.common import WORKER_SATURATION

INFRA = Path(__file__).resolve().parents[1] / "infra"
STACK = {"postgres", "prefect-server", "prefect-worker", "mlflow", "bentoml", "dask-scheduler", "dask-worker"}


def _env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in (INFRA / ".env.example").read_text().splitlines()
             if line and not line.startswith("#")]
    return {k: v for k, v in pairs}


def test_compose_has_the_stack_with_health_checks():
    compose = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    services = compose["services"]
    assert STACK <= set(services)
    for name in ("postgres", "prefect-server", "mlflow", "bentoml", "dask-scheduler", "dask-worker"):
        assert "healthcheck" in services[name], name
    assert "postgresql" in _env_example()["MLFLOW_BACKEND_STORE_URI"]
    assert services["bentoml"]["command"].startswith("bentoml serve serving.service:MLService")


def test_flow_runs_fan_out_on_the_stacks_dask_cluster():
    """The deployments' flow runs (prefect-worker) send their fan-out to the dask-scheduler service, whose workers
    see the same settings and which hands each single-threaded worker one task at a time."""
    services = yaml.safe_load((INFRA / "docker-compose.yml").read_text())["services"]
    env = _env_example()
    assert env["ABTPRO_TASK_RUNNER"] == "dask"
    host, port = env["ABTPRO_DASK_ADDRESS"].removeprefix("tcp://").split(":")
    assert host == "dask-scheduler" and f"--port {port}" in services[host]["command"]
    # the same saturation as the local clusters and the no-Docker stack
    assert services[host]["environment"]["DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION"] == str(WORKER_SATURATION)
    worker = services["dask-worker"]
    assert worker["command"].split()[:3] == ["dask", "worker", "${ABTPRO_DASK_ADDRESS}"]
    assert "--nthreads 1" in worker["command"] and worker["env_file"] == services["prefect-worker"]["env_file"]
    assert services["prefect-worker"]["depends_on"]["dask-worker"]["condition"] == "service_healthy"


def test_compose_mlflow_server_starts_no_job_runner():
    from abtpro.supervisor import mlflow_server

    services = yaml.safe_load((INFRA / "docker-compose.yml").read_text())["services"]
    local = mlflow_server("sqlite:///x.db", "file:///tmp/a").env
    assert services["mlflow"]["environment"]["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false" == \
        local["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"]


def test_every_compose_variable_is_in_env_example():
    text = (INFRA / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{(\w+)\}", text)) | set(re.findall(r"\$\$\{(\w+)\}", text))
    assert used <= set(_env_example()), used - set(_env_example())


def test_dockerfiles_copy_every_package():
    dockerfile = (INFRA / "Dockerfile").read_text()
    bentofile = (INFRA.parent / "serving" / "bentofile.yaml").read_text()
    include = tomllib.loads((INFRA.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = [name.rstrip("*") for name in include["include"]]
    assert {"abtpro", "store", "ingestion", "registry", "data_contracts", "flows", "ml", "serving"} <= set(packages)
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile
        assert f'"{package}/**' in bentofile


def _compose() -> list[str] | None:
    """``docker compose`` (v2 plugin) if it works here, else Debian's ``docker-compose`` (v1), else None."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_compose_file_validates_with_docker_compose_config(tmp_path):
    compose = _compose()
    if compose is None:
        if os.environ.get("CI"):
            pytest.fail("neither `docker compose` nor `docker-compose` is installed (.ci/run installs docker-compose)")
        pytest.skip("no docker compose on this machine (.ci/run installs Debian's docker-compose)")
    infra = tmp_path / "infra"
    shutil.copytree(INFRA, infra)
    (infra / ".env").write_text((INFRA / ".env.example").read_text())  # as the header of .env.example says
    out = subprocess.run([*compose, "-f", str(infra / "docker-compose.yml"), "--env-file", str(infra / ".env"),
                          "config"], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    resolved = yaml.safe_load(out.stdout)
    services = resolved["services"]
    assert STACK <= set(services)
    assert "${" not in out.stdout  # every variable resolved from the env file
    env = _env_example()
    assert services["postgres"]["environment"]["POSTGRES_USER"] == env["POSTGRES_USER"]
    assert services["bentoml"]["depends_on"]["mlflow"]["condition"] == "service_healthy"
    assert services["dask-worker"]["command"].startswith("dask worker tcp://dask-scheduler:8786 --nworkers 2 ")
