"""Static checks of the production stack files (Docker does not run on the build machines)."""

import re
from pathlib import Path

import yaml

INFRA = Path(__file__).resolve().parents[1] / "infra"


def _env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in (INFRA / ".env.example").read_text().splitlines()
             if line and not line.startswith("#")]
    return {k: v for k, v in pairs}


def test_compose_has_the_stack_with_health_checks():
    compose = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "prefect-server", "prefect-worker", "mlflow", "bentoml"} <= set(services)
    for name in ("postgres", "prefect-server", "mlflow", "bentoml"):
        assert "healthcheck" in services[name], name
    assert "postgresql" in _env_example()["MLFLOW_BACKEND_STORE_URI"]
    assert services["bentoml"]["command"].startswith("bentoml serve serving.service:MLService")


def test_every_compose_variable_is_in_env_example():
    text = (INFRA / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{(\w+)\}", text)) | set(re.findall(r"\$\$\{(\w+)\}", text))
    assert used <= set(_env_example()), used - set(_env_example())


def test_dockerfiles_copy_every_package():
    dockerfile = (INFRA / "Dockerfile").read_text()
    for package in ("abtpro", "abtpro_store", "data_contracts", "flows", "ml", "serving"):
        assert f"COPY {package} ./{package}" in dockerfile
