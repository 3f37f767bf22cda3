# MLflow tracking server with the PostgreSQL driver.
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 MLFLOW_DISABLE_TELEMETRY=true
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && pip install "mlflow>=3.1,<4" "psycopg2-binary>=2.9"
EXPOSE 5000
