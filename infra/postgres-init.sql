-- Extra databases next to the app database: one for MLflow's backend store, one for Prefect.
CREATE DATABASE mlflow;
CREATE DATABASE prefect;
