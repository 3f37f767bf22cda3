"""Benchmark: the BentoML ``/ml`` service vs baselines (a bare BentoML XGBoost service, ``mlflow models serve``), on loopback.

Setup (all in a temporary folder): the real SP500, NASDAQ and GOOG daily bars are ingested into the app
database (SQLite by default, ``--database-url`` for PostgreSQL), a volatility model (default: the
production ``ensemble``, one per symbol in an ``ml.bundles.SymbolModels``) and a signal-quality scorer
(calibrated XGBoost on SMA-crossover signals of SP500, ``tests.serving.support.fit_signal``) are fitted,
logged with ``registry.mlflow_registry.log_model`` and given the ``champion`` alias in a local MLflow
store. Servers, one at a time, on 127.0.0.1:

* ours: ``bentoml serve serving.service:MLService`` (``--workers``/``--threads``) -- a request names the
  symbol; the service reads the bar window (in-memory window cache, re-read when the series changes),
  computes/looks up the answer, writes a ``VolatilityPrediction`` / ``MLSignalScore`` row and answers;
* bare BentoML: a minimal ``@bentoml.service`` (same ``--workers``/``--threads``) around an
  ``xgboost.XGBClassifier`` of the signal scorer's size (40 trees, depth 2, as many features as the
  scorer, trained on random data at setup); the request is a feature vector, the answer
  ``predict_proba``. No database, no feature computation: the framework + model floor;
* ``mlflow models serve -m models:/<name>/<version> --env-manager local`` -- the same registered
  pyfunc; the client must send the inputs: the 400-bar window for a forecast, the feature row for a
  signal score. No database read or write.

Scenarios (``--scenarios``, default all: ``mixed,single,batch,floor``):

``mixed`` (the headline table): open loop at each of ``--rates`` (default 50,100) req/s for ``--duration`` s,
   latency from each request's *scheduled* send time (no coordinated omission), ``--timeout`` s per
   request. Ours: each request drawn at random (seeded) -- half ``/ml/signal/score`` with (strategy,
   symbol, side) over the 3 built-in strategies x SP500/NASDAQ/GOOG x BUY/SELL and ``ts`` one of the
   symbol's last 60 bars, half ``/ml/volatility/predict`` with a symbol and ``as_of`` one of its last 60
   bars. Ours is restarted for every rate (each rate starts from a cold answer memo; the warm-up
   requests use the bar before those 60). The bare BentoML XGBoost service gets random feature rows
   (300 distinct), ``mlflow models serve`` of the signal pyfunc gets real feature rows of SP500 signals
   (up to 300 distinct), one row per request, same rates, same open loop. The table has ratio
   columns against the bare BentoML baseline at the same rate, measured in the same run.
``single``: (1) open loop at ``--rate`` req/s (default 100): single ``/ml/volatility/predict`` and
   ``/ml/signal/score`` about the latest bar ("warm" = the bar window is unchanged since the last
   request, the common case between bar closes: the service's LRU skips feature computation; the DB
   write still happens) and mlflow's forecast; (2) closed loop (``--concurrency`` clients back to back):
   the same single requests for both servers, plus ours "cold" (a different origin each request, so
   features are recomputed like MLflow does every time).
``batch``: ``/ml/volatility/predict_batch`` with 1,000 different origins and ``/ml/signal/score_batch``
   with 1,000 signals vs one MLflow call on the equivalent input.
``floor``: an empty BentoML endpoint (pydantic in/out, no work; same ``--workers``/``--threads``) under the same
   open and closed loops,
   to separate BentoML + client overhead from the service's own work.

Afterwards the stored rows are counted: they must equal our successful responses (warm-ups included).
The load average before and after is recorded: on a shared machine it dominates the tail latency.

Run: ``.venv/bin/python -m benchmarks.bench_serving [--scenarios mixed] [--duration 20] [--rates 50,100]``
(``--quick``: 5 s scenarios, 3 batch runs; ``--json out.json``: the raw results).
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

from serving.config import DEFAULT_THREADS, DEFAULT_WORKERS  # the service's defaults

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


@bentoml.service(workers=__WORKERS__, threads=__THREADS__)
class Floor:
    @bentoml.api(route="/noop")
    def noop(self, request: In, /) -> Out:
        return Out(symbol=request.symbol, value=1.0)
'''

# The bare baseline: a pickle-free XGBoost model (JSON) behind one BentoML endpoint, nothing else.
BARE_XGB_SERVICE = '''
import bentoml
import numpy as np
import xgboost
from pydantic import BaseModel


class In(BaseModel):
    features: list[float]


class Out(BaseModel):
    proba: list[float]


@bentoml.service(workers=__WORKERS__, threads=__THREADS____LOGGING__)
class BareXGB:
    def __init__(self) -> None:
        self.model = xgboost.XGBClassifier()
        self.model.load_model(__MODEL__)

    @bentoml.api(route="/predict")
    def predict(self, request: In, /) -> Out:
        return Out(proba=self.model.predict_proba(np.asarray([request.features], dtype=float))[0].tolist())
__RECYCLE__
'''
# The bare baseline with ours' keep-alive recycling (serving.keepalive), so both spread 8 connections over the workers
RECYCLE = '''
from serving.keepalive import ConnectionRecycleMiddleware

BareXGB.add_asgi_middleware(ConnectionRecycleMiddleware)
'''

# ...and with ours' framework settings too: recycling, and no access log line per request (serving.config)
NO_ACCESS_LOG = ', logging={"access": {"enabled": False}}'

MIX_SYMBOLS = ("SP500", "NASDAQ", "GOOG")
MIX_BARS = 60  # ts / as_of drawn among each symbol's last MIX_BARS bars
MIX_ROWS = 300  # distinct feature rows sent to the baselines


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
    bars = {s: load_sample(s) for s in MIX_SYMBOLS}
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


def process_cpu_s(proc: subprocess.Popen) -> dict[int, float]:
    """CPU seconds (user + system) so far of a server process and each of its children, by pid."""
    import psutil

    try:
        root = psutil.Process(proc.pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    out: dict[int, float] = {}
    for p in procs:
        try:
            t = p.cpu_times()
            out[p.pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out


def closed_with_cpu(proc: subprocess.Popen, make: Any, concurrency: int, duration: float) -> dict[str, Any]:
    """:func:`closed_loop` plus the server's CPU ms per answered request over the run, and how the work split
    over the server's processes (``cores_by_process``: CPU seconds per wall second of each process that used
    more than 2% of a core, busiest first; with several workers, uneven = one worker did most of the work)."""
    before, t0 = process_cpu_s(proc), time.perf_counter()
    r = quiet_gc(closed_loop(make, concurrency, duration))
    after, wall = process_cpu_s(proc), time.perf_counter() - t0
    answered = max(1, r["ok"])
    r["server_cpu_ms_per_request"] = 1000.0 * (sum(after.values()) - sum(before.values())) / answered
    cores = [(after[pid] - before.get(pid, 0.0)) / wall for pid in after]
    r["cores_by_process"] = sorted((round(c, 2) for c in cores if c > 0.02), reverse=True)
    return r


# ----------------------------------------------------------------------------------- load generation


class Request:
    """A prepared request: URL, JSON body bytes, headers, and a label (``kind``) for per-endpoint statistics."""

    def __init__(self, url: str, body: Any, headers: dict[str, str] | None = None, kind: str | None = None):
        self.url = url
        self.data = json.dumps(body).encode()
        self.headers = {"content-type": "application/json", **(headers or {})}
        self.kind = kind


async def _status(session: Any, req: Request) -> int:
    async with session.post(req.url, data=req.data, headers=req.headers) as resp:
        await resp.read()
        return resp.status


async def _send(session: Any, req: Request) -> bool:
    return await _status(session, req) == 200


async def _outcome(session: Any, req: Request) -> str:
    """"200", another status code, or the exception's class name (a timeout is ``TimeoutError``)."""
    try:
        return str(await _status(session, req))
    except Exception as exc:  # noqa: BLE001 - reported as an error kind
        return type(exc).__name__


async def open_loop(make: Any, rate: float, duration: float, warmup: list[Request] | None = None,
                    timeout: float = 60.0) -> dict[str, Any]:
    """Send ``rate`` req/s on a fixed schedule; latency from each scheduled send time.

    ``make(i)`` is the i-th request; ``warmup`` (default: ``make(0)``, ``make(1)``) is sent first, untimed.
    ``timeout`` bounds each request (connection wait included): a request that is not answered in time is
    an error, so an overloaded server still ends the run. Requests with a ``kind`` get per-kind statistics.
    """
    import aiohttp

    n = int(rate * duration)
    lat = np.full(n, np.nan)
    lag = np.zeros(n)
    ok = np.zeros(n, bool)
    outcome: list[str] = [""] * n
    kinds: list[str | None] = [None] * n
    conn = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        # warm-up, not timed: the connection, and the scenario's first distinct requests
        warm_reqs = warmup if warmup is not None else [make(i) for i in range(2)]
        warm_out = [await _outcome(session, r) for r in warm_reqs]
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.05
        tasks = []

        async def one(i: int, scheduled: float) -> None:
            lag[i] = loop.time() - scheduled
            req = make(i)
            kinds[i] = req.kind
            outcome[i] = await _outcome(session, req)
            ok[i] = outcome[i] == "200"
            lat[i] = loop.time() - scheduled

        for i in range(n):
            scheduled = t0 + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = max(loop.time() - t0, n / rate)  # the schedule spans n / rate s: achieved <= offered
    slow = np.flatnonzero(lat > 0.05) / rate  # scheduled second of each request slower than 50 ms
    steady = lat[int(rate):][ok[int(rate):]]
    out = {**_summary(lat, ok, elapsed, offered=rate), **_strict(lat, ok), "warmup_ok": warm_out.count("200"),
           "error_kinds": _tally(outcome), "warmup_error_kinds": _tally(warm_out), "timeout_s": timeout,
           "client_send_lag_p99_ms": float(np.percentile(lag, 99) * 1e3) if n else None,
           "p99_after_1s_ms": float(np.percentile(steady, 99) * 1e3) if steady.size else None,
           "slow_over_50ms_at_s": [round(float(t), 2) for t in slow[:50]]}
    labels = sorted({k for k in kinds if k is not None} | {r.kind for r in warm_reqs if r.kind is not None})
    if labels:
        out["by_kind"] = {}
        for label in labels:
            mask = np.array([k == label for k in kinds], bool)
            warm_ok = sum(o == "200" for o, r in zip(warm_out, warm_reqs) if r.kind == label)
            unanswered = _unanswered(_tally([o for o, k in zip(outcome, kinds) if k == label]))
            unanswered += _unanswered(_tally([o for o, r in zip(warm_out, warm_reqs) if r.kind == label]))
            out["by_kind"][label] = {**_summary(lat[mask], ok[mask], elapsed), **_strict(lat[mask], ok[mask]),
                                     "warmup_ok": warm_ok, "unanswered": unanswered}
    return out


def _tally(outcomes: list[str]) -> dict[str, int]:
    """Counts of the non-200 outcomes."""
    out: dict[str, int] = {}
    for o in outcomes:
        if o != "200":
            out[o] = out.get(o, 0) + 1
    return out


def _unanswered(error_kinds: dict[str, int]) -> int:
    """Requests without an HTTP answer (timeout, connection error): the server may still have done the work."""
    return sum(n for kind, n in error_kinds.items() if not kind.isdigit())


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
            "p90_ms": float(np.percentile(good, 90) * 1e3) if good.size else None,
            "p99_ms": float(np.percentile(good, 99) * 1e3) if good.size else None,
            "max_ms": float(good.max() * 1e3) if good.size else None,
            "throughput_rps": float(ok.sum() / elapsed), "offered_rps": offered}


def _strict(lat: np.ndarray, ok: np.ndarray) -> dict[str, float | None]:
    """p50/p90/p99 over *all* requests, a failed one (error status, timeout) counted as slower than any answer.

    None when the quantile falls among the failures. Stricter than the success-only ``p50_ms``..: an
    overloaded server that drops requests cannot look fast.
    """
    x = np.sort(np.where(ok, lat, np.inf))
    out: dict[str, float | None] = {}
    for p in (50, 90, 99):
        if not x.size:
            out[f"all_p{p}_ms"] = None
            continue
        r = p / 100 * (x.size - 1)
        lo, hi = int(np.floor(r)), int(np.ceil(r))
        out[f"all_p{p}_ms"] = float((x[lo] + (x[hi] - x[lo]) * (r - lo)) * 1e3) if np.isfinite(x[hi]) else None
    return out


# ---------------------------------------------------------------------------------------- scenarios


def mixed_requests(bars: dict[str, Any], base: str, hdr: dict[str, str], n: int, seed: int,
                   mix_bars: int = MIX_BARS) -> tuple[list[Request], list[Request]]:
    """Ours: ``n`` requests of the mix (see the module docstring), and the untimed warm-ups.

    The warm-ups touch every symbol, both endpoints and every strategy at the bar before the drawn ones,
    so they load what the timed requests need without answering any of them from the memo.
    """
    from ml.strategies import STRATEGIES

    strategies = sorted(STRATEGIES)
    recent = {s: [ts.isoformat() for ts in bars[s].index[-mix_bars:]] for s in MIX_SYMBOLS}
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        symbol = rng.choice(MIX_SYMBOLS)
        ts = rng.choice(recent[symbol])
        at = {} if mix_bars == 1 else {"ts": ts}  # 1: about the newest bar (the live case: no ts in the request)
        if rng.random() < 0.5:
            out.append(Request(f"{base}/ml/signal/score", {"symbol": symbol, "strategy": rng.choice(strategies),
                                                           "side": rng.choice(("BUY", "SELL")), **at},
                               hdr, kind="signal"))
        else:
            out.append(Request(f"{base}/ml/volatility/predict",
                               {"symbol": symbol, **({} if mix_bars == 1 else {"as_of": ts})}, hdr,
                               kind="volatility"))
    warm = []
    for symbol in MIX_SYMBOLS:
        before = bars[symbol].index[-mix_bars - 1].isoformat()
        warm.append(Request(f"{base}/ml/volatility/predict", {"symbol": symbol, "as_of": before}, hdr, kind="volatility"))
        warm += [Request(f"{base}/ml/signal/score", {"symbol": symbol, "strategy": st, "side": "BUY", "ts": before},
                         hdr, kind="signal") for st in strategies]
    return out, warm


def repeat_share(reqs: list[Request]) -> float:
    """Share of the requests whose exact body was already sent earlier in the run (an upper bound of the memo hits)."""
    seen: set[tuple[str, bytes]] = set()
    again = 0
    for r in reqs:
        key = (r.url, r.data)
        again += key in seen
        seen.add(key)
    return again / len(reqs) if reqs else 0.0


def bare_xgb_model(path: Path, n_features: int, seed: int = 0) -> list[list[float]]:
    """Train the bare baseline's XGBClassifier on random data, save it as JSON; return the rows to send."""
    import xgboost

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2000, n_features))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=len(X)) > 0).astype(int)
    model = xgboost.XGBClassifier(n_estimators=40, max_depth=2, n_jobs=1, random_state=seed).fit(X, y)
    model.save_model(str(path))
    return rng.normal(size=(MIX_ROWS + 2, n_features)).round(6).tolist()


def rows_requests(url: str, body: Any, rows: list[Any], n: int, seed: int) -> tuple[list[Request], list[Request]]:
    """A baseline's ``n`` requests, each one row drawn (seeded) from ``rows[2:]``; warm-ups: ``rows[:2]``."""
    rng = random.Random(seed)
    return [Request(url, body(rng.choice(rows[2:]))) for _ in range(n)], [Request(url, body(r)) for r in rows[:2]]


def _service_source(template: str, args: argparse.Namespace, **extra: str) -> str:
    src = template.replace("__WORKERS__", str(args.workers)).replace("__THREADS__", str(args.threads))
    for key, value in extra.items():
        src = src.replace(f"__{key.upper()}__", value)
    return src


def run(args: argparse.Namespace) -> dict[str, Any]:
    from store import predictions

    scenarios = set(args.scenarios)
    tmp = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    facts = prepare(tmp, args.database_url, args.vol_model)
    setup_s = time.perf_counter() - t0
    gc.collect()
    gc.freeze()  # the fitted models and libraries loaded by the setup stay out of the client's GC
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT), "BENTOML_DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true",
           "DATABASE_URL": facts["db_url"], "ABTPRO_MLFLOW_TRACKING_URI": facts["tracking_uri"],
           "ABTPRO_SERVING_THREADS": str(args.threads), "ABTPRO_SERVING_WORKERS": str(args.workers), "ABTPRO_SERVING_POLL_SECONDS": "30",
           "MLFLOW_TRACKING_URI": facts["tracking_uri"]}
    hdr = {"X-API-Key": API_KEY}
    bars = facts["bars"]
    sp = bars["SP500"]
    window = sp.iloc[-WINDOW:]
    vol_rows = [["SP500", ts.isoformat(), *map(float, row)] for ts, row in zip(window.index, window.to_numpy())]
    vol_cols = ["symbol", "ts", *sp.columns]
    X = facts["signal_X"]
    sig_cols = list(X.columns)
    sig_rows = X.astype(object).where(X.notna(), None).to_numpy().tolist()
    origins = [str(ts) for ts in sp.index[-args.batch:]]
    d, c = args.duration, args.concurrency
    results: dict[str, Any] = {}
    mixed: dict[str, dict[str, Any]] = {"ours": {}, "bare_bentoml": {}, "bare_recycled": {}, "bare_like_ours": {},
                                        "mlflow": {}}

    def bento_cmd(port: int) -> list[str]:
        return [str(BIN / "bentoml"), "serve", "serving.service:MLService", "--host", "127.0.0.1",
                "--port", str(port), "--working-dir", str(ROOT)]

    # ---- ours: the mixed scenario, a fresh server per rate (cold answer memo at every rate)
    if "mixed" in scenarios:
        for k, rate in enumerate(args.rates):
            port = _free_port()
            base = f"http://127.0.0.1:{port}"
            reqs, warm = mixed_requests(bars, base, hdr, int(rate * d), seed=100 + k, mix_bars=args.mix_bars)
            with server(bento_cmd(port), env, f"{base}/readyz", tmp / f"bento-mixed-{rate:g}.log"):
                m0 = scrape(base)
                r = quiet_gc(open_loop(reqs.__getitem__, rate, d, warmup=warm, timeout=args.timeout))
                m1 = scrape(base)
            r["repeat_share"] = repeat_share(reqs)
            r["server_side"] = {kind: server_quantiles(m0, m1, route) for kind, route in
                                (("signal", "/ml/signal/score"), ("volatility", "/ml/volatility/predict"))}
            mixed["ours"][f"{rate:g}"] = r
        port = _free_port()  # closed loop: c clients back to back over the same mix, a fresh server
        base = f"http://127.0.0.1:{port}"
        reqs, warm = mixed_requests(bars, base, hdr, 20_000, seed=99, mix_bars=args.mix_bars)
        with server(bento_cmd(port), env, f"{base}/readyz", tmp / "bento-mixed-closed.log") as proc:
            warmed = quiet_gc(sequential(lambda i: warm[i % len(warm)], len(warm)))
            closed = closed_with_cpu(proc, lambda i: reqs[i % len(reqs)], c, d)
        # what was sent, by endpoint (request i is reqs[i % len]; each loop's own warm-up sends one more: warm[-1],
        # reqs[0])
        sent = [warm[-1].kind] + [warm[i].kind for i in range(len(warm))] + [reqs[0].kind] + \
            [reqs[i % len(reqs)].kind for i in range(closed["requests"])]
        closed["sent_by_kind"] = {k: sent.count(k) for k in ("signal", "volatility")}
        closed["all_answered"] = (closed["errors"] == 0 and warmed["errors"] == 0 and bool(warmed["warmup_ok"])
                                  and bool(closed["warmup_ok"]))
        mixed["ours"]["closed"] = closed

    # ---- ours: the single-request and batch scenarios (one server)
    if scenarios & {"single", "batch"}:
        port = _free_port()
        bento = f"http://127.0.0.1:{port}"

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

        def bento_vol_batch(i: int) -> Request:
            return Request(f"{bento}/ml/volatility/predict_batch",
                           {"requests": [{"symbol": "SP500", "as_of": o} for o in origins]}, hdr)

        def bento_sig_batch(i: int) -> Request:
            return Request(f"{bento}/ml/signal/score_batch",
                           {"signals": [{"symbol": "SP500", "strategy": "sma_crossover", "side": "BUY" if k % 2 else "SELL",
                                         "ts": o, "strength": 1.0 + (i % 7) * 1e-3} for k, o in enumerate(origins)]}, hdr)

        with server(bento_cmd(port), env, f"{bento}/readyz", tmp / "bento.log"):
            if "single" in scenarios:
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
            if "batch" in scenarios:
                results["bento_vol_batch"] = quiet_gc(sequential(bento_vol_batch, args.batch_runs))
                results["bento_sig_batch"] = quiet_gc(sequential(bento_sig_batch, args.batch_runs))

    # ---- the stored rows must equal our successful responses (warm-ups included)
    if scenarios & {"mixed", "single", "batch"}:
        sent_ok = {"vol": 0, "sig": 0}
        unanswered = {"vol": 0, "sig": 0}  # timed out / cut off: stored or not, the client cannot tell
        for key, r in results.items():
            for kind in sent_ok:
                if key.startswith(f"bento_{kind}"):
                    sent_ok[kind] += (r["ok"] + r["warmup_ok"]) * (args.batch if key.endswith("batch") else 1)
                    unanswered[kind] += _unanswered(r.get("error_kinds", {})) + _unanswered(r.get("warmup_error_kinds", {}))
        for r in mixed["ours"].values():
            for kind, label in (("vol", "volatility"), ("sig", "signal")):
                if "sent_by_kind" in r:  # the closed loop: exact when every request was answered
                    n = r["sent_by_kind"][label]
                    sent_ok[kind] += n if r["all_answered"] else 0
                    unanswered[kind] += 0 if r["all_answered"] else n
                    continue
                part = r.get("by_kind", {}).get(label)
                if part:
                    sent_ok[kind] += part["ok"] + part["warmup_ok"]
                    unanswered[kind] += part["unanswered"]
        stored = predictions.counts(facts["db_url"])
        rows = {"vol": stored["volatility"], "sig": stored["signal"]}
        results["rows_written"] = rows
        results["successful_responses_rows"] = sent_ok  # including each scenario's warm-up requests
        results["unanswered_requests"] = unanswered
        # exact when every request got an answer; else each unanswered request may or may not have been stored
        results["rows_match"] = all(sent_ok[k] <= rows[k] <= sent_ok[k] + unanswered[k] for k in rows)

    # ---- mlflow models serve
    mlflow_runs = []
    if scenarios & {"single", "batch"}:
        mlflow_runs.append(("abtpro-volatility", facts["vol_version"], "mlflow_vol"))
    if scenarios & {"single", "batch", "mixed"}:
        mlflow_runs.append(("abtpro-signal-quality", facts["sig_version"], "mlflow_sig"))
    def serve_mlflow(name: str, version: str, prefix: str) -> None:
        port = _free_port()
        mlf = f"http://127.0.0.1:{port}"

        def mlflow_vol(i: int) -> Request:
            return Request(f"{mlf}/invocations", {"dataframe_split": {"columns": vol_cols, "data": vol_rows}})

        def mlflow_sig(i: int) -> Request:
            return Request(f"{mlf}/invocations", {"dataframe_split": {"columns": sig_cols, "data": [sig_rows[i % len(sig_rows)]]}})

        big = sp.iloc[-(args.batch + WINDOW):]
        big_rows = [["SP500", ts.isoformat(), *map(float, row)] for ts, row in zip(big.index, big.to_numpy())]

        def mlflow_vol_batch(i: int) -> Request:
            return Request(f"{mlf}/invocations", {"dataframe_split": {"columns": vol_cols, "data": big_rows}})

        def mlflow_sig_batch(i: int) -> Request:
            rows = (sig_rows * (args.batch // len(sig_rows) + 1))[: args.batch]
            return Request(f"{mlf}/invocations", {"dataframe_split": {"columns": sig_cols, "data": rows}})

        single, batch = (mlflow_vol, mlflow_vol_batch) if prefix == "mlflow_vol" else (mlflow_sig, mlflow_sig_batch)
        cmd = [str(BIN / "mlflow"), "models", "serve", "-m", f"models:/{name}/{version}", "--env-manager", "local",
               "-h", "127.0.0.1", "-p", str(port), "-w", str(args.mlflow_workers)]
        with server(cmd, env, f"{mlf}/ping", tmp / f"{prefix}.log") as proc:
            if prefix == "mlflow_sig" and "mixed" in scenarios:
                picked = random.Random(1).sample(sig_rows, min(len(sig_rows), MIX_ROWS + 2))
                for k, rate in enumerate(args.rates):
                    reqs, warm = rows_requests(f"{mlf}/invocations", lambda row: {"dataframe_split": {
                        "columns": sig_cols, "data": [row]}}, picked, int(rate * d), seed=200 + k)
                    mixed["mlflow"][f"{rate:g}"] = quiet_gc(open_loop(reqs.__getitem__, rate, d, warmup=warm,
                                                                      timeout=args.timeout))
                reqs, _ = rows_requests(f"{mlf}/invocations", lambda row: {"dataframe_split": {
                    "columns": sig_cols, "data": [row]}}, picked, 20_000, seed=199)
                mixed["mlflow"]["closed"] = closed_with_cpu(proc, lambda i: reqs[i % len(reqs)], c, d)
            if "single" in scenarios:
                if prefix == "mlflow_vol":
                    results["mlflow_vol_open"] = quiet_gc(open_loop(single, args.rate, d))
                results[f"{prefix}_closed"] = quiet_gc(closed_loop(single, c, d))
            if "batch" in scenarios:
                results[f"{prefix}_batch"] = quiet_gc(sequential(batch, args.batch_runs))

    for name, version, prefix in mlflow_runs:
        serve_mlflow(name, version, prefix)

    # ---- the bare BentoML XGBoost baseline
    if "mixed" in scenarios:
        bare_dir = tmp / "bare"
        bare_dir.mkdir()
        feature_rows = bare_xgb_model(bare_dir / "model.json", len(sig_cols))
        model_path = repr(str(bare_dir / "model.json"))
        for name, recycle, logging in (("bare_xgb", "", ""), ("bare_xgb_recycled", RECYCLE, ""),
                                       ("bare_xgb_like_ours", RECYCLE, NO_ACCESS_LOG)):
            (bare_dir / f"{name}.py").write_text(_service_source(BARE_XGB_SERVICE, args, model=model_path,
                                                                 recycle=recycle, logging=logging))
        port = _free_port()
        bare = f"http://127.0.0.1:{port}"
        with server([str(BIN / "bentoml"), "serve", "bare_xgb:BareXGB", "--host", "127.0.0.1", "--port", str(port),
                     "--working-dir", str(bare_dir)], env, f"{bare}/readyz", tmp / "bare.log") as proc:
            for k, rate in enumerate(args.rates):
                reqs, warm = rows_requests(f"{bare}/predict", lambda row: {"features": row}, feature_rows,
                                           int(rate * d), seed=300 + k)
                mixed["bare_bentoml"][f"{rate:g}"] = quiet_gc(open_loop(reqs.__getitem__, rate, d, warmup=warm,
                                                                        timeout=args.timeout))
            reqs, _ = rows_requests(f"{bare}/predict", lambda row: {"features": row}, feature_rows, 20_000, seed=399)
            mixed["bare_bentoml"]["closed"] = closed_with_cpu(proc, lambda i: reqs[i % len(reqs)], c, d)
        # the same service with ours' keep-alive recycling, then also without the access log: the closed loop only
        for key, module in (("bare_recycled", "bare_xgb_recycled"), ("bare_like_ours", "bare_xgb_like_ours")):
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            with server([str(BIN / "bentoml"), "serve", f"{module}:BareXGB", "--host", "127.0.0.1", "--port",
                         str(port), "--working-dir", str(bare_dir)], env, f"{url}/readyz", tmp / f"{module}.log"
                        ) as proc:
                reqs, _ = rows_requests(f"{url}/predict", lambda row: {"features": row}, feature_rows, 20_000,
                                        seed=399)
                mixed[key]["closed"] = closed_with_cpu(proc, lambda i, reqs=reqs: reqs[i % len(reqs)], c, d)
        results["mixed"] = mixed_table(mixed, args.rates)
        results["mixed_closed"] = mixed_closed_table(mixed)
        results["mixed_runs"] = mixed

    # ---- the framework floor
    if "floor" in scenarios:
        floor_dir = tmp / "floor"
        floor_dir.mkdir()
        (floor_dir / "floor.py").write_text(_service_source(FLOOR_SERVICE, args))
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
        "scenarios": sorted(scenarios), "vol_model": args.vol_model, "duration_s": d, "rate": args.rate,
        "rates": args.rates, "timeout_s": args.timeout, "concurrency": c, "batch": args.batch,
        "threads": args.threads, "workers": args.workers, "mlflow_workers": args.mlflow_workers, "setup_s": round(setup_s, 1), "fit_seconds": facts["fit_seconds"],
        "signal_features": len(sig_cols), "mix_bars": args.mix_bars, "logs": str(tmp),
        "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    return results


SERVERS = {
    "ours": "ABTPro /ml (BentoML + features + DB)",
    "bare_bentoml": "bare BentoML XGBoost",
    "bare_recycled": "bare BentoML XGBoost + keep-alive recycling",
    "bare_like_ours": "bare BentoML XGBoost + recycling, no access log (ours' settings)",
    "mlflow": "mlflow models serve (signal pyfunc)",
}


def mixed_table(mixed: dict[str, dict[str, Any]], rates: list[float]) -> list[dict[str, Any]]:
    """One row per (server, rate) with the ratios against the bare BentoML baseline at that rate."""
    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    rows = []
    for key in SERVERS:
        for rate in rates:
            r = mixed[key].get(f"{rate:g}")
            if r is None:
                continue
            base = mixed["bare_bentoml"].get(f"{rate:g}", {})
            rows.append({"server": key, "offered_rps": rate, "achieved_rps": r["throughput_rps"],
                         "requests": r["requests"], "errors": r["errors"], "error_kinds": r["error_kinds"],
                         "p50_ms": r["all_p50_ms"], "p90_ms": r["all_p90_ms"], "p99_ms": r["all_p99_ms"],
                         "p99_ok_ms": r["p99_ms"], "client_send_lag_p99_ms": r["client_send_lag_p99_ms"],
                         "p99_vs_bare": ratio(r["all_p99_ms"], base.get("all_p99_ms")),
                         "throughput_vs_bare": ratio(r["throughput_rps"], base.get("throughput_rps"))})
    return rows


def mixed_closed_table(mixed: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The closed-loop rows (throughput, latency, server CPU per request) with ratios against bare BentoML and
    ``mlflow models serve``."""
    bare, mlf = mixed["bare_bentoml"].get("closed", {}), mixed["mlflow"].get("closed", {})
    recycled = mixed.get("bare_recycled", {}).get("closed", {})
    like = mixed.get("bare_like_ours", {}).get("closed", {})
    rows = []
    for key in SERVERS:
        r = mixed[key].get("closed")
        if r is None:
            continue
        rows.append({"server": key, "throughput_rps": r["throughput_rps"], "errors": r["errors"],
                     "requests": r["requests"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
                     "server_cpu_ms_per_request": r["server_cpu_ms_per_request"],
                     "cores_by_process": r.get("cores_by_process", []),
                     "throughput_vs_bare": r["throughput_rps"] / bare["throughput_rps"] if bare.get("throughput_rps")
                     else None,
                     "throughput_vs_bare_recycled": r["throughput_rps"] / recycled["throughput_rps"]
                     if recycled.get("throughput_rps") else None,
                     "throughput_vs_bare_like_ours": r["throughput_rps"] / like["throughput_rps"]
                     if like.get("throughput_rps") else None,
                     "throughput_vs_mlflow": r["throughput_rps"] / mlf["throughput_rps"] if mlf.get("throughput_rps")
                     else None})
    return rows


def _fmt(v: float | None, spec: str = ".1f", none: str = "-") -> str:
    return none if v is None else format(v, spec)


def report_mixed(res: dict[str, Any]) -> str:
    """The headline table (mixed scenario), its legend and our per-endpoint breakdown."""
    meta = res["meta"]
    lines = [(f"Mixed load, open loop, {meta['duration_s']:g} s per rate, timeout {meta['timeout_s']:g} s per request, "
             f"workers={meta['workers']} threads={meta['threads']} (ours and bare BentoML), "
             f"mlflow -w {meta['mlflow_workers']}:"),
             ("| server | offered req/s | achieved req/s | errors | p50 ms | p90 ms | p99 ms | p99 / bare p99 "
             "| achieved / bare achieved |"),
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in res["mixed"]:
        lines.append(f"| {SERVERS[row['server']]} | {row['offered_rps']:g} | {row['achieved_rps']:.1f} | "
                     f"{row['errors']}/{row['requests']} | {_fmt(row['p50_ms'], none='err')} | "
                     f"{_fmt(row['p90_ms'], none='err')} | {_fmt(row['p99_ms'], none='err')} | "
                     f"{_fmt(row['p99_vs_bare'], '.2f')} | {_fmt(row['throughput_vs_bare'], '.2f')} |")
    errs = {f"{r['server']}@{r['offered_rps']:g}": r["error_kinds"] for r in res["mixed"] if r["error_kinds"]}
    lines += [
        "",
        ("Columns: achieved = successful answers / max(schedule length, first scheduled send -> last answer); errors = failed / sent "
        "(non-200 or timeout);"),
        ("p50/p90/p99 = latency from each request's scheduled send time over all sent requests, a failed one "
        "counted as slower than any answer ('err' = the quantile falls among the failures);"),
        ("ratios: ours (or mlflow) divided by the bare BentoML XGBoost service at the same offered rate, same run "
        "(p99 ratio > 1 = slower tail, throughput ratio < 1 = fewer answers/s)."),
        ("Requests: ours = 50% /ml/signal/score (3 strategies x SP500/NASDAQ/GOOG x BUY/SELL, " +
         ("about the newest bar" if meta.get("mix_bars") == 1 else f"ts among the last {meta.get('mix_bars')} bars") +
         "), 50% /ml/volatility/predict (" + ("newest bar" if meta.get("mix_bars") == 1 else "as_of likewise") +
         "), DB read + row write "
        f"each; bare BentoML = one random {meta['signal_features']}-feature row -> predict_proba; mlflow = one real "
        "signal feature row -> the registered signal pyfunc."),
    ]
    if errs:
        lines.append(f"error kinds (status code or exception): {errs}")
    warm_errs = {f"{key}@{rate}": r["warmup_error_kinds"] for key, runs in res["mixed_runs"].items()
                 for rate, r in runs.items() if r.get("warmup_error_kinds")}
    if warm_errs:
        lines.append(f"warm-up requests (untimed) that failed: {warm_errs}")
    if res.get("mixed_closed"):
        lines += ["", (f"Mixed load, closed loop ({meta.get('concurrency')} clients back to back, "
                       f"{meta['duration_s']:g} s; server CPU = user + system of the server's processes per answer):"),
                  ("| server | throughput req/s | errors | p50 ms | p99 ms | server CPU ms / request | cores by process "
                   "| vs bare BentoML | vs bare + recycling | vs bare, ours' settings | vs mlflow serve |"),
                  "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
        for row in res["mixed_closed"]:
            lines.append(f"| {SERVERS[row['server']]} | {row['throughput_rps']:.1f} | {row['errors']}/{row['requests']} "
                         f"| {_fmt(row['p50_ms'])} | {_fmt(row['p99_ms'])} | {_fmt(row['server_cpu_ms_per_request'])} "
                         f"| {' / '.join(f'{c:.2f}' for c in row.get('cores_by_process', []))} "
                         f"| {_fmt(row['throughput_vs_bare'], '.2f')} | {_fmt(row.get('throughput_vs_bare_recycled'), '.2f')} "
                         f"| {_fmt(row.get('throughput_vs_bare_like_ours'), '.2f')} "
                         f"| {_fmt(row['throughput_vs_mlflow'], '.2f')} |")
    ours = {k: v for k, v in res["mixed_runs"]["ours"].items() if k != "closed"}
    if ours:
        lines += ["", ("Ours, per endpoint (success-only client latency; server side = BentoML histogram bucket upper "
                      "edges; repeat = share of requests already sent earlier in the run, an upper bound of memo hits):"),
                  ("| offered req/s | endpoint | requests | errors | p50 ms | p99 ms | server p50 <= ms | server p99 <= ms "
                  "| repeat |"),
                  "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for rate, r in ours.items():
            for kind, part in r.get("by_kind", {}).items():
                srv = r["server_side"].get(kind, {})
                lines.append(f"| {rate} | {kind} | {part['requests']} | {part['errors']} | {_fmt(part['p50_ms'])} | "
                             f"{_fmt(part['p99_ms'])} | {_fmt(srv.get('p50_le_ms'))} | {_fmt(srv.get('p99_le_ms'))} | "
                             f"{r['repeat_share']:.0%} |")
    lag = {f"{r['server']}@{r['offered_rps']:g}": round(r["client_send_lag_p99_ms"], 1) for r in res["mixed"]
           if r["client_send_lag_p99_ms"] is not None}
    lines.append(f"load generator send lag p99 ms (late sends are still timed from the schedule; large = the "
                 f"client itself was short of CPU): {lag}")
    return "\n".join(lines)


def report(res: dict[str, Any]) -> str:
    """Markdown table of the single/batch/floor results."""
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
        rows.append((scenario, srv, str(r["requests"]), str(r["errors"]), _fmt(r["p50_ms"]), _fmt(r["p99_ms"]),
                     _fmt(r["throughput_rps"])))
    if len(rows) == 1:
        return ""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * 2 + "---:|" * 5]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


SCENARIOS = ("mixed", "single", "batch", "floor")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, any of {','.join(SCENARIOS)} (default: all)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per open/closed-loop run")
    parser.add_argument("--rates", default="50,100", help="mixed scenario: open-loop req/s, comma-separated")
    parser.add_argument("--timeout", type=float, default=10.0, help="mixed scenario: seconds per request")
    parser.add_argument("--rate", type=float, default=100.0, help="single/floor scenarios: open-loop req/s")
    parser.add_argument("--concurrency", type=int, default=8, help="closed-loop clients")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--batch-runs", type=int, default=10)
    parser.add_argument("--mix-bars", type=int, default=MIX_BARS,
                        help="mixed scenario: ts/as_of drawn among each symbol's last N bars (1 = about the newest "
                             "bar, no ts sent: the live case, each combination computed once then memoised)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help="BentoML worker threads (ours, bare, floor; default: the service's)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="BentoML server processes (ours, bare, floor; default: the service's, one per core)")
    parser.add_argument("--mlflow-workers", type=int, default=1)
    parser.add_argument("--vol-model", default="ensemble")
    parser.add_argument("--database-url", default=None, help="app DB (default: a SQLite file in a temp dir)")
    parser.add_argument("--quick", action="store_true", help="5 s scenarios, 3 batch runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    args.scenarios = [x.strip() for x in args.scenarios.split(",") if x.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown or not args.scenarios:
        parser.error(f"--scenarios: unknown {sorted(unknown)}; choose from {','.join(SCENARIOS)}")
    args.rates = [float(x) for x in args.rates.split(",") if x.strip()]
    if not args.rates or min(args.rates) <= 0:
        parser.error("--rates: positive numbers, e.g. 50,100")
    if args.quick:
        args.duration, args.batch_runs = 5.0, 3
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    sys.path.insert(0, str(ROOT))
    res = run(args)
    print(json.dumps(res["meta"], indent=1))
    if "mixed" in res:
        print(report_mixed(res))
        print()
    table = report(res)
    if table:
        print(table)
    if "rows_written" in res:
        gap = res["unanswered_requests"]
        print("rows written:", res["rows_written"], "successful responses (rows):", res["successful_responses_rows"],
              ("match" if res["rows_match"] else "MISMATCH")
              + (f" (within the {gap} unanswered requests, which may or may not be stored)" if any(gap.values()) else ""))
    if "server_side" in res:
        print("server-side (BentoML histogram, bucket upper edges):", res["server_side"])
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
