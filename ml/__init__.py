"""Pure ML and finance logic: features, labels, strategies, backtester, models, tuner agents, metrics.

This package imports no prefect, bentoml, mlflow or great_expectations and does no network I/O.
"""
