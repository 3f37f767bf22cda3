"""Bars behind the endpoints and the memo of model answers; the answers themselves come from ``ml``.

Scores and forecasts are computed only by the inference API :mod:`ml.inference` (``score`` and
``predict``), whose features are the training code's. This module finds the bars (the stored
``N`` bars up to the forecast origin / signal bar, or the ones given in the request) and memoises
answers.

Every computation is causal, so a result depends only on the model version and the bars up to
its origin. Results are memoised in a small LRU keyed by exactly that: (model name, version,
a hash of the bars' timestamps and values, origin, request options). A request about an
unchanged bar window is answered without recomputing features; any change of a bar (a new bar,
a merged correction) changes the hash and recomputes. A scorer with the cross-asset context also reads the
other stored series' windows (:func:`~serving.inference.bars.context_windows`): their keys join the key.

Modules: :mod:`serving.inference.bars` (the bars of a request), :mod:`serving.inference.answers` (the memo
and the calls into :mod:`ml.inference`), :mod:`serving.inference.outcomes` (live outcomes for the win rate).
"""

from ml.inference import BadInputError
from serving.inference.answers import (
    LRUCache,
    group_indices,
    predict_volatility,
    score_signals,
    signal_history_bars,
)
from serving.inference.bars import (
    BarWindow,
    NotFoundError,
    bars_from_request,
    content_hash,
    context_windows,
    contract_inline,
    load_bars,
    origin_positions,
    window_from_request,
)
from serving.inference.outcomes import LiveOutcomes, OutcomeHistory

__all__ = ["BadInputError", "BarWindow", "LRUCache", "LiveOutcomes", "NotFoundError", "OutcomeHistory",
           "bars_from_request", "content_hash", "context_windows", "contract_inline", "group_indices", "load_bars", "origin_positions",
           "predict_volatility", "score_signals", "signal_history_bars", "window_from_request"]
