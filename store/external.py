"""Reads from databases that are not ours (the platform's own market-data tables): the SQL behind ``ingest``."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import create_engine, text


def read_query(url: str, query: str, params: dict | None = None) -> pd.DataFrame:
    """The rows of ``query`` (bound ``params``) on any SQLAlchemy URL, as a frame; the engine is disposed after."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(text(query), conn, params=params)
    finally:
        engine.dispose()
