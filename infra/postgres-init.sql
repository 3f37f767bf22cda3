-- Extra databases next to the app database: MLflow's backend store, its logins, and Prefect's.
CREATE DATABASE mlflow;
CREATE DATABASE mlflow_auth;
CREATE DATABASE prefect;
