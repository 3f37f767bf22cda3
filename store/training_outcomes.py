"""Resolved platform signals for retraining the signal-quality scorer, with pseudonymous user ids.

:func:`platform_training_rows` reads every scored signal whose outcome is known (``ml_signal_outcomes`` with an
outcome and an exit time: reported by the platform or resolved by the outcome backfill), leaving out scores
computed on caller-supplied bars (not the series' own data). The user is given as a pseudonym only:
HMAC-SHA256 of the user id under a per-install secret (:func:`pseudonym_key`, a random key file in the data dir,
created on first use with mode 0600), so the training data and what is logged with it never hold the raw id or
the user's name, yet one user's signals share one pseudonym within an install.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from abtpro.settings import local_secret
from store.db import get_engine
from store.models import MLSignalOutcome, MLSignalScore

#: The per-install pseudonym key file, in the data dir.
KEY_FILE = "pseudonym.key"
COLUMNS = ["score_id", "user", "symbol", "timeframe", "strategy", "side", "signal_ts", "exit_ts", "label", "ret",
           "barrier", "features"]


def pseudonym_key(data_dir: Path) -> bytes:
    """The install's pseudonym secret (``<data_dir>/pseudonym.key``, 32 random bytes, created once, mode 0600)."""
    return local_secret(Path(data_dir) / KEY_FILE)


def pseudonym(user_id: int, key: bytes) -> str:
    """The pseudonymous id of ``user_id``: ``"u_"`` + 16 hex digits of HMAC-SHA256(key, user id)."""
    return "u_" + hmac.new(key, str(int(user_id)).encode(), hashlib.sha256).hexdigest()[:16]


def platform_training_rows(url: str, key: bytes, symbols: Sequence[str] | None = None,
                           timeframe: str | None = None) -> pd.DataFrame:
    """Resolved, non-caller-supplied scored signals (of ``symbols`` / ``timeframe`` when given), in score id
    order, as :data:`COLUMNS`: ``user`` is the pseudonym of the scoring user, ``side`` +1/-1, ``label`` the
    outcome (1/0), ``ret`` the realised return, ``features`` the stored feature row (dict)."""
    s, o = MLSignalScore, MLSignalOutcome
    stmt = (select(s.id, s.user_id, s.symbol, s.timeframe, s.strategy, s.side, s.signal_ts, o.exit_ts, o.outcome,
                   o.realised_return, o.barrier, s.features)
            .join(o, o.score_id == s.id)
            .where(o.outcome.is_not(None), o.exit_ts.is_not(None), s.signal_ts.is_not(None),
                   s.caller_supplied.is_(False))
            .order_by(s.id))
    if symbols is not None:
        stmt = stmt.where(s.symbol.in_(list(symbols)))
    if timeframe is not None:
        stmt = stmt.where(s.timeframe == timeframe)
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([(r.id, pseudonym(r.user_id, key), r.symbol, r.timeframe, r.strategy,
                           {"BUY": 1, "SELL": -1}.get(r.side, 0), r.signal_ts, r.exit_ts, r.outcome,
                           r.realised_return, r.barrier, dict(r.features or {})) for r in rows], columns=COLUMNS)
    frame["side"] = frame["side"].astype("int64")
    frame["signal_ts"] = pd.to_datetime(frame["signal_ts"])
    frame["exit_ts"] = pd.to_datetime(frame["exit_ts"])
    frame["label"] = pd.to_numeric(frame["label"]).astype("float64")
    frame["ret"] = pd.to_numeric(frame["ret"]).astype("float64")
    return frame
