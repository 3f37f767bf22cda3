"""Contracts for raw market bars, applied row-wise: valid rows go on, invalid rows go to quarantine.

Raw input is the long frame ``symbol, timeframe, ts, open, high, low, close, volume`` as read from a
source (values may still be strings). :func:`split_valid_invalid` coerces types, runs
:class:`RawBarSchema` lazily and returns the valid rows plus every invalid row with a ``reason``
naming each failed check. A number that parses to ±inf or NaN (``inf``, ``-Infinity``, ``nan``, ``1e999``,
a NaN typed as text) is quarantined as ``<column>: not finite (<value>)``; a missing cell (empty, null,
a float NaN in a typed column, which pandas cannot tell from null) as ``<column>: not_nullable``. Given the
caller's clock (``now``, naive UTC), a bar stamped after it is quarantined as ``ts: in the future (...)``.

Modules: :mod:`data_contracts.bars.columns` (the raw columns, the characters a label may not hold),
:mod:`data_contracts.bars.schemas` (:class:`RawBarSchema`, :class:`RawBarKeySchema`,
:class:`BarsFrameSchema`), :mod:`data_contracts.bars.parsing` (typing the raw values, noting what does not
parse or is not finite), :mod:`data_contracts.bars.split` (:func:`split_valid_invalid` and its
:class:`ContractSplit`).
"""

from data_contracts.bars.columns import CONTROL, KEY, NUMERIC, PRICES, RAW_COLUMNS
from data_contracts.bars.schemas import BarsFrameSchema, RawBarKeySchema, RawBarSchema
from data_contracts.bars.split import ContractSplit, split_valid_invalid

__all__ = [
    "CONTROL",
    "KEY",
    "NUMERIC",
    "PRICES",
    "RAW_COLUMNS",
    "BarsFrameSchema",
    "ContractSplit",
    "RawBarKeySchema",
    "RawBarSchema",
    "split_valid_invalid",
]
