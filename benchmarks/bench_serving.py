"""Benchmark: the BentoML ``/ml`` service vs ``mlflow models serve`` of the same model, on loopback.

Setup (all in a temporary folder): the real SP500 and NASDAQ daily bars are ingested into the app
database (SQLite by default, ``--database-url`` for PostgreSQL), a volatility model (default: the
production ``ensemble``, per symbol in an ``ml.bundles.SymbolModels``) and a signal-quality scorer
(calibrated XGBoost on SMA-crossover signals of SP500) are fitted, logged with
``registry.mlflow_registry.log_model`` and given the ``champion`` alias in a local MLflow store. Then two
servers run side by side on 127.0.0.1:

* ``bentoml serve serving.service:MLService`` -- a request names the symbol; the service reads the
  bar window from the database (feature lookup), computes/looks up the forecast, writes a
  ``VolatilityPrediction`` / ``MLSignalScore`` row and answers;
* ``mlflow models serve -m models:/<name>/<version> --env-manager local`` -- the same registered
  pyfunc; the client must send the inputs: the 400-bar window for a forecast, the feature row for a
  signal score. No database read or write.

Scenarios:

1. open loop at ``--rate`` req/s (default 100) for ``--duration`` s: single ``/ml/volatility/predict``
   and ``/ml/signal/score`` about the latest bar. Latency is measured from each request's
   *scheduled* send time (no coordinated omission). "warm" = the bar window is unchanged since the
   last request, the common case between bar closes (the service's LRU, keyed by a hash of the
   window's timestamps and values, skips feature computation; the DB read and write still happen).
2. closed loop (``--concurrency`` clients back to back): throughput and latency of the same single
   requests for both servers, plus BentoML "cold" (a different forecast origin each request, so
   features are recomputed like MLflow does every time).
3. a batch of 1,000: ``/ml/volatility/predict_batch`` with 1,000 different origins and
   ``/ml/signal/score_batch`` with 1,000 signals vs one MLflow call on the equivalent input.

4. the framework floor: an empty BentoML endpoint (pydantic in/out, no work) under the same open
   and closed loops, to separate BentoML + client overhead from the service's own work.

Afterwards the stored rows are counted: they must equal the successful BentoML responses. The
load average before and after is recorded: on a shared machine it dominates the tail latency.

Run: ``.venv/bin/python -m benchmarks.bench_serving [--duration 15] [--rate 100] [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
API_KEY = "bench-key-0123456789abcdef"
WINDOW = 400


FLOOR_SERVICE = '''
import bentoml
from pydantic import BaseModel


class In(BaseModel):
    symbol: str


class Out(BaseModel):
    symbol: str
    value: float


@bentoml.service(workers=1, threads=4)
class Floor:
    @bentoml.api(route="/noop")
    def noop(self, request: In, /) -> Out:
        return Out(symbol=request.symbol, value=1.0)
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------ setup


def prepare(tmp: Path, db_url: str | None, vol_model: str) -> dict[str, Any]:
    """Database with real bars and a user; MLflow store with the two champions. Returns facts."""
    os.environ["ABTPRO_DATA_DIR"] = str(tmp)
    os.environ["ABTPRO_MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    if db_url:
        os.environ["DATABASE_URL"] = db_url
    import mlflow
    from mlflow import MlflowClient

    import registry
    from abtpro.settings import get_settings
    from ml.bundles import SymbolModels
    from ml.datasets import load_sample
    from ml.volatility import make_model
    from store import migrate
    from store.bars import upsert_bars
    from store.users import create_user
    from tests.serving.support import fit_signal, long_frame

    settings = get_settings()
    url = settings.db_url
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "head")
    bars = {s: load_sample(s) for s in ("SP500", "NASDAQ")}
    for symbol, frame in bars.items():
        upsert_bars(url, long_frame(frame, symbol))
    create_user(url, "bench", key=API_KEY)

    client = registry.configure(settings)
    exp = client.create_experiment("bench-serving", artifact_location=(tmp / "artifacts").as_uri())
    mlflow.set_experiment(experiment_id=exp)
    t0 = time.perf_counter()
    vol = SymbolModels({s: make_model(vol_model, horizon=5).fit(f) for s, f in bars.items()}, "SP500",
                       {"horizon": 5, "model": vol_model, "timeframe": "1d"})
    fit_vol = time.perf_counter() - t0
    example = long_frame(bars["SP500"].iloc[-WINDOW:], "SP500")[["symbol", "ts", *bars["SP500"].columns]]
    with mlflow.start_run():
        info = registry.log_model(vol, example)
    vol_version = registry.register(info.model_uri, registry.VOLATILITY_MODEL, {"model": vol_model}, "bench")
    registry.set_alias(registry.VOLATILITY_MODEL, registry.CHAMPION, vol_version.version)

    t0 = time.perf_counter()
    sig = fit_signal(bars["SP500"], "SP500")
    fit_sig = time.perf_counter() - t0
    from ml.signal_quality import build_signal_features
    from ml.strategies import SMACrossover

    signals = SMACrossover(fast=2, slow=6).signals(bars["SP500"])
    X = build_signal_features(bars["SP500"], signals.iloc[-1000:], sig.history, "sma_crossover", sig.feature_config)
    with mlflow.start_run():
        info = registry.log_model(sig, X.reset_index(drop=True).iloc[:5])
    sig_version = registry.register(info.model_uri, registry.SIGNAL_QUALITY_MODEL, {"model": "xgb"}, "bench")
    registry.set_alias(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION, sig_version.version)
    MlflowClient()
    return {"db_url": url, "tracking_uri": settings.tracking_uri, "bars": bars, "signal_X": X.reset_index(drop=True),
            "vol_version": str(vol_version.version), "sig_version": str(sig_version.version),
            "fit_seconds": {"volatility": fit_vol, "signal": fit_sig}}


@contextmanager
def server(cmd: list[str], env: dict[str, str], ready_url: str, log: Path, timeout: float = 180):
    """Start a server in its own process group; wait until ``ready_url`` answers 200; stop it after."""
    import httpx

    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{cmd[0]} exited:\n{log.read_text()[-3000:]}")
                try:
                    if httpx.get(ready_url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd[0]} not ready:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
            yield proc
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


# ----------------------------------------------------------------------------------- load generation


class Request:
    """A prepared request: URL, JSON body bytes, headers and a check of the answer."""

    def __init__(self, url: str, body: Any, headers: dict[str, str] | None = None):
        self.url = url
        self.data = json.dumps(body).encode()
        self.headers = {"content-type": "application/json", **(headers or {})}


async def _send(session: Any, req: Request) -> bool:
    async with session.post(req.url, data=req.data, headers=req.headers) as resp:
        await resp.read()
        return resp.status == 200


async def open_loop(make: Any, rate: float, duration: float) -> dict[str, Any]:
    """Send ``rate`` req/s on a fixed schedule; latency from each scheduled send time."""
    import aiohttp

    n = int(rate * duration)
    lat = np.full(n, np.nan)
    ok = np.zeros(n, bool)
    conn = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=60)) as session:
        # warm-up, not timed: the connection, and every distinct request of the scenario (BUY and SELL alternate)
        warm = sum([await _send(session, make(i)) for i in range(2)])  # successful warm-ups (rows written)
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.05
        tasks = []

        async def one(i: int, scheduled: float) -> None:
            try:
                ok[i] = await _send(session, make(i))
            except Exception:  # noqa: BLE001 - counted as an error
                ok[i] = False
            lat[i] = loop.time() - scheduled

        for i in range(n):
            scheduled = t0 + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - t0
    slow = np.flatnonzero(lat > 0.05) / rate  # scheduled second of each request slower than 50 ms
    steady = lat[int(rate):][ok[int(rate):]]
    return {**_summary(lat, ok, elapsed, offered=rate), "warmup_ok": warm,
            "p99_after_1s_ms": float(np.percentile(steady, 99) * 1e3) if steady.size else None,
            "slow_over_50ms_at_s": [round(float(t), 2) for t in slow[:50]]}


async def closed_loop(make: Any, concurrency: int, duration: float) -> dict[str, Any]:
    """``concurrency`` clients sending back to back for ``duration`` s."""
    import aiohttp

    lats: list[float] = []
    oks: list[bool] = []
    conn = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=120)) as session:
        warm = await _send(session, make(0))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        stop = t0 + duration
        counter = iter(range(10**9))

        async def worker() -> None:
            while loop.time() < stop:
                i = next(counter)
                start = loop.time()
                try:
                    good = await _send(session, make(i))
                except Exception:  # noqa: BLE001
                    good = False
                lats.append(loop.time() - start)
                oks.append(good)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = loop.time() - t0
    return {**_summary(np.array(lats), np.array(oks), elapsed), "warmup_ok": int(warm)}


async def sequential(make: Any, n: int) -> dict[str, Any]:
    """``n`` requests one after the other (large batch calls)."""
    import aiohttp

    lats, oks = [], []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
        warm = await _send(session, make(-1))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for i in range(n):
            start = loop.time()
            oks.append(await _send(session, make(i)))
            lats.append(loop.time() - start)
        elapsed = loop.time() - t0
    return {**_summary(np.array(lats), np.array(oks), elapsed), "warmup_ok": int(warm)}


def scrape(base: str) -> str:
    """The server's Prometheus text."""
    import httpx

    return httpx.get(f"{base}/metrics", timeout=10).text


def server_quantiles(before: str, after: str, endpoint: str) -> dict[str, Any]:
    """p50/p99 upper bounds of BentoML's server-side request duration histogram between two scrapes.

    Server-side time excludes the client's scheduling and the network stack; the quantile is the
    upper edge of the bucket that contains it.
    """
    def buckets(text: str) -> dict[float, float]:
        out: dict[float, float] = {}
        for line in text.splitlines():
            if not line.startswith("abtpro_request_duration_seconds_bucket{") or f'endpoint="{endpoint}"' not in line:
                continue
            if 'http_response_code="200"' not in line:
                continue
            labels, value = line.rsplit(" ", 1)
            edge = float(labels.split('le="', 1)[1].split('"', 1)[0].replace("+Inf", "inf"))
            out[edge] = out.get(edge, 0.0) + float(value)
        return out

    b0, b1 = buckets(before), buckets(after)
    cum = sorted((le, b1.get(le, 0.0) - b0.get(le, 0.0)) for le in b1)
    total = cum[-1][1] if cum else 0.0
    if total <= 0:
        return {"n": 0}
    def q(p: float) -> float:
        return next(le for le, c in cum if c >= p * total) * 1e3
    return {"n": int(total), "p50_le_ms": q(0.5), "p99_le_ms": q(0.99)}


def quiet_gc(scenario: Any) -> Any:
    """Run a load scenario with the client's cyclic GC off (the generator must not add pauses)."""
    gc.collect()
    gc.disable()
    try:
        return asyncio.run(scenario)
    finally:
        gc.enable()


def _summary(lat: np.ndarray, ok: np.ndarray, elapsed: float, offered: float | None = None) -> dict[str, Any]:
    good = lat[ok]
    return {"requests": len(ok), "ok": int(ok.sum()), "errors": int((~ok).sum()),
            "p50_ms": float(np.percentile(good, 50) * 1e3) if good.size else None,
            "p99_ms": float(np.percentile(good, 99) * 1e3) if good.size else None,
            "max_ms": float(good.max() * 1e3) if good.size else None,
            "throughput_rps": float(ok.sum() / elapsed), "offered_rps": offered}


# ---------------------------------------------------------------------------------------- scenarios


def run(args: argparse.Namespace) -> dict[str, Any]:
    from store import predictions

    tmp = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    facts = prepare(tmp, args.database_url, args.vol_model)
    setup_s = time.perf_counter() - t0
    gc.collect()
    gc.freeze()  # the fitted models and libraries loaded by the setup stay out of the client's GC
    bento_port, mlflow_port = _free_port(), _free_port()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT), "BENTOML_DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true",
           "DATABASE_URL": facts["db_url"], "ABTPRO_MLFLOW_TRACKING_URI": facts["tracking_uri"],
           "ABTPRO_SERVING_THREADS": str(args.threads), "ABTPRO_SERVING_WORKERS": str(args.workers), "ABTPRO_SERVING_POLL_SECONDS": "30",
           "MLFLOW_TRACKING_URI": facts["tracking_uri"]}
    bento = f"http://127.0.0.1:{bento_port}"
    mlf = f"http://127.0.0.1:{mlflow_port}"
    hdr = {"X-API-Key": API_KEY}
    sp = facts["bars"]["SP500"]
    window = sp.iloc[-WINDOW:]
    vol_rows = [["SP500", ts.isoformat(), *map(float, row)] for ts, row in zip(window.index, window.to_numpy())]
    vol_cols = ["symbol", "ts", *sp.columns]
    X = facts["signal_X"]
    origins = [str(ts) for ts in sp.index[-args.batch:]]
    results: dict[str, Any] = {}

    def bento_vol_warm(i: int) -> Request:
        return Request(f"{bento}/ml/volatility/predict", {"symbol": "SP500"}, hdr)

    def bento_sig_warm(i: int) -> Request:
        return Request(f"{bento}/ml/signal/score", {"symbol": "SP500", "strategy": "sma_crossover",
                                                    "side": "BUY" if i % 2 else "SELL"}, hdr)

    rng = random.Random(0)
    cold_origins = [str(ts) for ts in sp.index[1000:]]

    def bento_vol_cold(i: int) -> Request:
        return Request(f"{bento}/ml/volatility/predict", {"symbol": "SP500", "as_of": rng.choice(cold_origins)}, hdr)

    def bento_sig_cold(i: int) -> Request:
        return Request(f"{bento}/ml/signal/score", {"symbol": "SP500", "strategy": "sma_crossover", "side": "BUY",
                                                    "ts": rng.choice(cold_origins)}, hdr)

    def mlflow_vol(i: int) -> Request:
        return Request(f"{mlf}/invocations", {"dataframe_split": {"columns": vol_cols, "data": vol_rows}})

    sig_cols = list(X.columns)
    sig_rows = X.astype(object).where(X.notna(), None).to_numpy().tolist()

    def mlflow_sig(i: int) -> Request:
        return Request(f"{mlf}/invocations", {"dataframe_split": {"columns": sig_cols, "data": [sig_rows[i % len(sig_rows)]]}})

    def bento_vol_batch(i: int) -> Request:
        return Request(f"{bento}/ml/volatility/predict_batch",
                       {"requests": [{"symbol": "SP500", "as_of": o} for o in origins]}, hdr)

    def bento_sig_batch(i: int) -> Request:
        return Request(f"{bento}/ml/signal/score_batch",
                       {"signals": [{"symbol": "SP500", "strategy": "sma_crossover", "side": "BUY" if k % 2 else "SELL",
                                     "ts": o, "strength": 1.0 + (i % 7) * 1e-3} for k, o in enumerate(origins)]}, hdr)

    big = sp.iloc[-(args.batch + WINDOW):]
    big_rows = [["SP500", ts.isoformat(), *map(float, row)] for ts, row in zip(big.index, big.to_numpy())]

    def mlflow_vol_batch(i: int) -> Request:
        return Request(f"{mlf}/invocations", {"dataframe_split": {"columns": vol_cols, "data": big_rows}})

    def mlflow_sig_batch(i: int) -> Request:
        rows = (sig_rows * (args.batch // len(sig_rows) + 1))[: args.batch]
        return Request(f"{mlf}/invocations", {"dataframe_split": {"columns": sig_cols, "data": rows}})

    bento_cmd = [str(BIN / "bentoml"), "serve", "serving.service:MLService", "--host", "127.0.0.1",
                 "--port", str(bento_port), "--working-dir", str(ROOT)]
    d, c = args.duration, args.concurrency
    with server(bento_cmd, env, f"{bento}/readyz", tmp / "bento.log"):
        m0 = scrape(bento)
        results["bento_vol_open_warm"] = quiet_gc(open_loop(bento_vol_warm, args.rate, d))
        m1 = scrape(bento)
        results["bento_sig_open_warm"] = quiet_gc(open_loop(bento_sig_warm, args.rate, d))
        m2 = scrape(bento)
        results["server_side"] = {"volatility_open_warm": server_quantiles(m0, m1, "/ml/volatility/predict"),
                                  "signal_open_warm": server_quantiles(m1, m2, "/ml/signal/score")}
        results["bento_vol_closed_warm"] = quiet_gc(closed_loop(bento_vol_warm, c, d))
        results["bento_sig_closed_warm"] = quiet_gc(closed_loop(bento_sig_warm, c, d))
        results["bento_vol_closed_cold"] = quiet_gc(closed_loop(bento_vol_cold, c, d))
        results["bento_sig_closed_cold"] = quiet_gc(closed_loop(bento_sig_cold, c, d))
        results["bento_vol_batch"] = quiet_gc(sequential(bento_vol_batch, args.batch_runs))
        results["bento_sig_batch"] = quiet_gc(sequential(bento_sig_batch, args.batch_runs))
    sent_ok = {kind: sum((r["ok"] + r["warmup_ok"]) * (args.batch if k.endswith("batch") else 1)
                         for k, r in results.items() if k.startswith(f"bento_{kind}"))
               for kind in ("vol", "sig")}
    stored = predictions.counts(facts["db_url"])
    rows = {"vol": stored["volatility"], "sig": stored["signal"]}
    results["rows_written"] = rows
    results["successful_responses_rows"] = sent_ok  # including each scenario's warm-up request

    for name, version, prefix, single, batch in (
        ("abtpro-volatility", facts["vol_version"], "mlflow_vol", mlflow_vol, mlflow_vol_batch),
        ("abtpro-signal-quality", facts["sig_version"], "mlflow_sig", mlflow_sig, mlflow_sig_batch),
    ):
        mlflow_port = _free_port()
        mlf = f"http://127.0.0.1:{mlflow_port}"
        cmd = [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{name}/{version}", "--env-manager", "local",
               "-h", "127.0.0.1", "-p", str(mlflow_port), "-w", str(args.mlflow_workers)]
        with server(cmd, env, f"{mlf}/ping", tmp / f"{prefix}.log"):
            if prefix == "mlflow_vol":
                results["mlflow_vol_open"] = quiet_gc(open_loop(single, args.rate, d))
            results[f"{prefix}_closed"] = quiet_gc(closed_loop(single, c, d))
            results[f"{prefix}_batch"] = quiet_gc(sequential(batch, args.batch_runs))
    floor_dir = tmp / "floor"
    floor_dir.mkdir()
    (floor_dir / "floor.py").write_text(FLOOR_SERVICE)
    floor_port = _free_port()
    floor = f"http://127.0.0.1:{floor_port}"
    with server([str(BIN / "bentoml"), "serve", "floor:Floor", "--host", "127.0.0.1", "--port", str(floor_port),
                 "--working-dir", str(floor_dir)], env, f"{floor}/readyz", tmp / "floor.log"):
        def noop(i: int) -> Request:
            return Request(f"{floor}/noop", {"symbol": "SP500"})

        results["floor_open"] = quiet_gc(open_loop(noop, args.rate, d))
        results["floor_closed"] = quiet_gc(closed_loop(noop, c, d))
    results["meta"] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
        "machine": platform.platform(), "python": platform.python_version(), "db": facts["db_url"].split(":")[0],
        "vol_model": args.vol_model, "duration_s": d, "rate": args.rate, "concurrency": c, "batch": args.batch,
        "threads": args.threads, "workers": args.workers, "mlflow_workers": args.mlflow_workers, "setup_s": round(setup_s, 1), "fit_seconds": facts["fit_seconds"],
        "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    return results


def report(res: dict[str, Any]) -> str:
    """Markdown table of the results."""
    rows = [("scenario", "server", "requests", "errors", "p50 ms", "p99 ms", "throughput req/s")]
    labels = {
        "bento_vol_open_warm": ("volatility single, open loop, warm", "BentoML"),
        "mlflow_vol_open": ("volatility single, open loop", "mlflow serve"),
        "bento_sig_open_warm": ("signal single, open loop, warm", "BentoML"),
        "bento_vol_closed_warm": ("volatility single, closed loop, warm", "BentoML"),
        "bento_vol_closed_cold": ("volatility single, closed loop, cold", "BentoML"),
        "mlflow_vol_closed": ("volatility single, closed loop", "mlflow serve"),
        "bento_sig_closed_warm": ("signal single, closed loop, warm", "BentoML"),
        "bento_sig_closed_cold": ("signal single, closed loop, cold", "BentoML"),
        "mlflow_sig_closed": ("signal single (features sent), closed loop", "mlflow serve"),
        "bento_vol_batch": ("volatility batch of 1,000", "BentoML"),
        "mlflow_vol_batch": ("volatility batch of 1,000", "mlflow serve"),
        "bento_sig_batch": ("signal batch of 1,000", "BentoML"),
        "mlflow_sig_batch": ("signal batch of 1,000 (features sent)", "mlflow serve"),
        "floor_open": ("empty endpoint (framework floor), open loop", "BentoML"),
        "floor_closed": ("empty endpoint (framework floor), closed loop", "BentoML"),
    }
    for key, (scenario, srv) in labels.items():
        r = res.get(key)
        if not r:
            continue
        fmt = lambda v: "-" if v is None else f"{v:.1f}"
        rows.append((scenario, srv, str(r["requests"]), str(r["errors"]), fmt(r["p50_ms"]), fmt(r["p99_ms"]),
                     fmt(r["throughput_rps"])))
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * 2 + "---:|" * 5]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per open/closed-loop scenario")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests per second")
    parser.add_argument("--concurrency", type=int, default=8, help="closed-loop clients")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--batch-runs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4, help="BentoML worker threads")
    parser.add_argument("--workers", type=int, default=1, help="BentoML server processes")
    parser.add_argument("--mlflow-workers", type=int, default=1)
    parser.add_argument("--vol-model", default="ensemble")
    parser.add_argument("--database-url", default=None, help="app DB (default: a SQLite file in a temp dir)")
    parser.add_argument("--quick", action="store_true", help="5 s scenarios, 3 batch runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.batch_runs = 5.0, 3
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    sys.path.insert(0, str(ROOT))
    res = run(args)
    print(json.dumps(res["meta"], indent=1))
    print(report(res))
    print("rows written:", res["rows_written"], "successful responses (rows):", res["successful_responses_rows"])
    print("server-side (BentoML histogram, bucket upper edges):", res["server_side"])
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
