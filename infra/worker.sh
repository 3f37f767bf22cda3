#!/usr/bin/env bash
# The stack's Prefect worker (docker-compose service `prefect-worker`; the same script in the integration
# test tests/integration/test_deployments_worker.py): create the process work pool if it is missing, deploy
# every flow of infra/prefect.yaml (generated from flows/deployments/table.py) from the repository root (runs load
# their flows from here), then run the pool's scheduled, triggered and requested flow runs as subprocesses.
# Needs PREFECT_API_URL; flow runs inherit this environment (DATABASE_URL, ABTPRO_MLFLOW_TRACKING_URI, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
POOL=abtpro-process  # the work_pool of every deployment in infra/prefect.yaml
if ! prefect work-pool inspect "$POOL" >/dev/null 2>&1; then
    prefect work-pool create "$POOL" --type process
fi
prefect --no-prompt deploy --all --prefect-file infra/prefect.yaml
exec prefect worker start --pool "$POOL" --type process
