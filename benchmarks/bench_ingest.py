"""Ingest + validate throughput: 1,000,000 synthetic bars into SQLite and PostgreSQL.

Measures the same path the ingestion flow takes (raw-bar contract via pandera, then the bulk upsert
of ``store.bars``) against a naive baseline (row-by-row ORM adds, timed on a 20,000-row slice).
Prints rows/s and peak memory (RSS high-water mark of a fresh child process per measurement).

    .venv/bin/python benchmarks/bench_ingest.py [--rows 1000000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import tempfile
import time

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table


def synthetic(rows: int, symbols: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per = rows // symbols
    frames = []
    for s in range(symbols):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, per)))
        open_ = close * np.exp(rng.normal(0, 0.0005, per))
        frames.append(pd.DataFrame({
            "symbol": f"SYN{s:02d}", "timeframe": "1m", "ts": pd.date_range("2020-01-01", periods=per, freq="min"),
            "open": open_, "high": np.maximum(open_, close) * 1.001, "low": np.minimum(open_, close) * 0.999,
            "close": close, "volume": rng.integers(1, 10_000, per).astype(float)}))
    return pd.concat(frames, ignore_index=True)


def _measure(kind: str, url: str, rows: int, queue) -> None:
    from data_contracts.bars import split_valid_invalid
    from store import migrate
    from store.bars import insert_bars_row_by_row, upsert_bars

    migrate.downgrade(url, "base")
    migrate.upgrade(url, "head")
    raw = synthetic(rows)
    t0 = time.perf_counter()
    if kind == "ours":
        split = split_valid_invalid(raw)
        t1 = time.perf_counter()
        result = upsert_bars(url, split.valid.assign(source="bench"))
        stored = result.inserted
    else:  # naive baseline: row-by-row ORM adds
        t1 = t0
        stored = insert_bars_row_by_row(url, raw.assign(source="bench"))
    elapsed = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"rows": stored, "seconds": elapsed, "validate_s": t1 - t0, "peak_mib": peak_mib})


def measure(kind: str, url: str, rows: int) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(kind, url, rows, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--json", action="store_true", help="print raw numbers as JSON too")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    targets = {"SQLite": f"sqlite:///{tmp}/bench.db", "PostgreSQL": args.pg}
    table = Table(title=f"Ingest + validate {args.rows:,} bars (target ≥ 100,000 rows/s on PostgreSQL, peak < 2 GiB)")
    for col in ("database", "baseline rows/s (ORM adds)", "ours rows/s", "ratio", "ours: validate s", "ours: total s",
                "peak MiB", "stored"):
        table.add_column(col, justify="right")
    raw = {}
    for name, url in targets.items():
        base = measure("baseline", url, args.baseline_rows)
        ours = measure("ours", url, args.rows)
        base_rate, ours_rate = base["rows"] / base["seconds"], ours["rows"] / ours["seconds"]
        raw[name] = {"baseline": base, "ours": ours}
        table.add_row(name, f"{base_rate:,.0f}", f"{ours_rate:,.0f}", f"{ours_rate / base_rate:.0f}×",
                      f"{ours['validate_s']:.1f}", f"{ours['seconds']:.1f}", f"{ours['peak_mib']:,.0f}", f"{ours['rows']:,}")
    Console().print(table)
    if args.json:
        print(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
