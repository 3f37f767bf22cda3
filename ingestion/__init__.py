"""Ingestion sources: the bundled sample, CSV/Parquet files and SQL queries, each as the raw long bar frame
that the raw-bar contract checks before ``store`` upserts it."""
