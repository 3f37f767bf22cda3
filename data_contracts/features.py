"""Pandera contract of the feature frame produced by :func:`ml.features.compute_features`.

Warm-up rows are NaN (nullable); every defined value is a finite float inside its natural range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ml.features import FeatureConfig, feature_columns


def _finite() -> pa.Check:
    return pa.Check(lambda s: np.isfinite(s.dropna()).all(), element_wise=False, error="finite where defined")


def _bounds(name: str) -> list[pa.Check]:
    if name.startswith(("rv_", "atr_")):
        return [pa.Check.ge(0.0)]
    if name.startswith("rsi_"):
        return [pa.Check.in_range(0.0, 100.0)]
    if name.startswith(("corr_ref_", "vpt_")):
        return [pa.Check.in_range(-1.0, 1.0)]
    if name == "dow":
        return [pa.Check.isin([float(d) for d in range(7)])]
    if name == "month":
        return [pa.Check.isin([float(m) for m in range(1, 13)])]
    if name == "ret" or name.startswith("mom_"):
        return [pa.Check.gt(-1.0)]
    return []


def feature_schema(config: FeatureConfig | None = None) -> pa.DataFrameSchema:
    """Schema of the feature frame for ``config`` (default ``FeatureConfig()``): exact columns, ``ts`` index."""
    config = config or FeatureConfig()
    columns = {
        name: pa.Column("float64", checks=[_finite(), *_bounds(name)], nullable=True)
        for name in feature_columns(config)
    }
    return pa.DataFrameSchema(
        columns,
        index=pa.Index(
            checks=[
                pa.Check(lambda i: pd.api.types.is_datetime64_dtype(i), element_wise=False, error="datetime"),
                pa.Check(lambda i: i.is_monotonic_increasing, element_wise=False, error="increasing"),
            ],
            name="ts",
        ),
        strict=True,
        ordered=True,
        coerce=False,
        name="features",
    )


FeatureSchema = feature_schema()
