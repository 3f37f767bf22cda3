"""The ``abtpro`` command as a user runs it (real subprocesses)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ABTPRO = [sys.executable, "-m", "abtpro.cli"]


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "ABTPRO_DATA_DIR": str(cwd / ".abtpro"), "COLUMNS": "160", **env}
    return subprocess.run([*ABTPRO, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=1200)


def test_help_lists_commands(tmp_path):
    out = _run(["--help"], tmp_path)
    assert out.returncode == 0
    for command in ("run", "up", "down", "ingest", "validate", "db"):
        assert command in out.stdout


def test_up_help_says_it_starts_the_servers_without_retraining(tmp_path):
    out = _run(["up", "--help"], tmp_path)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "Start the background servers over the existing state, retraining nothing." in text
    assert "--serve" in text and "--no-serve" in text
    assert not (tmp_path / ".abtpro" / "run").exists()  # help starts nothing


def test_missing_path_exits_non_zero_and_writes_nothing(tmp_path, clean_db):
    db_url = clean_db
    out = _run(["ingest", "--source", "file", "--path", str(tmp_path / "nope.csv")], tmp_path, DATABASE_URL=db_url)
    assert out.returncode != 0
    if "PREFECT_API_URL" not in os.environ:  # no `abtpro up` state in this data dir: Prefect's temporary server
        assert out.stdout.splitlines()[0] == "Prefect: temporary server (no `abtpro up` running)"
    # the flow run's failure is logged (and visible in the Prefect UI); the CLI ends with one clear line
    assert out.stdout.strip().splitlines()[-1].startswith("error: path does not exist")
    from store.bars import bar_counts, quarantine_count

    assert bar_counts(db_url).empty and quarantine_count(db_url) == 0


def test_ingest_configured_sources(tmp_path, clean_db):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "aaa.csv").write_text("ts,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n"
                                  "2024-01-03,1.5,2,1,1.2,-3\n")
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {{name: drop, kind: folder, path: {drop}}}\n")
    out = _run(["ingest", "--source", "configured"], tmp_path, DATABASE_URL=clean_db, ABTPRO_SOURCES_FILE=str(sources))
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [line.replace("│", " ").split() for line in out.stdout.splitlines()]
    assert ["AAA", "1d", "2", "1", "0", "1"] in rows, out.stdout  # read, inserted, merged, quarantined
    from store.ledger import known_files

    assert list(known_files(clean_db, "drop")) == [str((drop / "aaa.csv").resolve())]


REPLAY_STEPS = 45  # SP500/NASDAQ to early March 2018: the calm January, the February spike; two monthly loop waits


def _table_value(stdout: str, label: str) -> str:
    """The value cell of the closing table's row ``label`` (rich draws cells between │)."""
    line = next(line for line in stdout.splitlines() if label in line and "│" in line)
    return line.split("│")[2].strip()


def _assert_replay(stdout: str, url: str) -> None:
    """The quick start's replay of real held-back bars closed the loop on its own triggers."""
    import re

    from store import replay

    assert "Market replay" in stdout
    sent, new, merged, quarantined = map(int, re.findall(r"\d+", _table_value(stdout, "bars pushed / stored new")))
    assert sent == new == 3 * REPLAY_STEPS and merged == quarantined == 0  # every pushed bar stored once
    for label in ("volatility forecasts (stored)", "signals scored (stored)"):  # every answer persisted once
        answered, stored = map(int, re.findall(r"\d+", _table_value(stdout, label)))
        assert answered == stored, label
    assert int(re.findall(r"\d+", _table_value(stdout, "volatility forecasts (stored)"))[0]) == 3 * REPLAY_STEPS
    assert _table_value(stdout, "failed requests") == "0"
    since = __import__("datetime").datetime(2000, 1, 1)
    passes = replay.monitoring_passes(url, since)
    vol = passes[passes["model"] == "abtpro-volatility"]
    assert len(vol) >= 3 and vol["window_end"].is_unique  # a pass per replayed week with new outcomes, no repeats
    triggers = replay.triggers(url, since)
    fired = triggers[triggers["status"] != "suppressed"]
    assert len(fired) >= 1 and all(len(r) > 0 for r in fired["reasons"]), triggers  # drift from real data, why
    assert set(fired["mode"]) == {"event"}  # abtpro.model.drift -> the retrain-on-drift automation
    done = fired[fired["status"] == "completed"]
    assert len(done) >= 1 and done["flow_run_id"].notna().all()  # a retrain-model run started by the trigger
    assert all("promoted" in r and r.get("reason") for r in done["result"])  # the gate's decision, recorded


@pytest.mark.slow
@pytest.mark.integration
def test_main_command_twice_gives_the_same_counts(tmp_path):
    """README command (a)'s job. The first run starts the Prefect server, flow runner, MLflow UI and the BentoML
    service in the background, and the printed curl scores a signal. On SQLite (the quick start's defaults) it
    then replays the first weeks of the held-back year through the live loop (``_assert_replay``); on PostgreSQL
    it runs with ``--no-replay`` and is run again embedded (``--no-ui --no-serve``): counts must not change and
    nothing is retrained."""
    import httpx

    from abtpro.supervisor import free_port

    env = {"ABTPRO_PREFECT_PORT": str(free_port()), "ABTPRO_MLFLOW_PORT": str(free_port()),
           "ABTPRO_SERVICE_PORT": str(free_port()), "ABTPRO_REPLAY_STEPS": str(REPLAY_STEPS)}
    replayed = "DATABASE_URL" not in os.environ
    if not replayed:  # start from an empty PostgreSQL store
        from store import migrate

        migrate.downgrade(os.environ["DATABASE_URL"], "base")
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'abtpro.db'}"
    url = env.get("DATABASE_URL") or os.environ["DATABASE_URL"]
    try:
        first = _run(["run"] if replayed else ["run", "--no-replay"], tmp_path, **env)
        assert first.returncode == 0, first.stdout + first.stderr
        key = next(line for line in first.stdout.splitlines() if line.startswith("curl ")).split("X-API-Key: ")[1]
        response = httpx.post(f"http://127.0.0.1:{env['ABTPRO_SERVICE_PORT']}/ml/signal/score",
                              headers={"X-API-Key": key.split("'")[0]}, timeout=60,
                              json={"symbol": "SP500", "strategy": "sma_crossover", "side": "BUY"})
        assert response.status_code == 200, response.text
        assert 0.0 <= response.json()["score"] <= 1.0 and response.json()["model"]["version"] == "1"
        if replayed:
            _assert_replay(first.stdout, url)
    finally:
        _run(["down"], tmp_path, **env)
    outs = [first.stdout]
    if not replayed:
        second = _run(["run", "--no-ui", "--no-serve"], tmp_path, **env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "quarantined rows: 0" in second.stdout
        assert second.stdout.count("up to date: champion v1") == 2
        outs.append(second.stdout)
    for out in outs:  # the last 365 days of each daily series are held back for the replay
        for symbol, rows in (("SP500", "4,780"), ("NASDAQ", "4,780"), ("GOOG", "1,898"), ("EURUSD", "5,000")):
            assert any(symbol in line and rows in line for line in out.splitlines() if "│" in line)
    assert f"http://127.0.0.1:{env['ABTPRO_PREFECT_PORT']}" in first.stdout
    assert first.stdout.count("no current champion") == 2
    # every strategy was tuned on every daily series once; the second run reused those results
    from store import optimizations

    rows = optimizations.list_optimizations(url)
    assert len(rows) == 9 and {r.status for r in rows} == {optimizations.COMPLETED}
    assert {(r.symbol, r.strategy) for r in rows} == {(s, k) for s in ("SP500", "NASDAQ", "GOOG")
                                                      for k in ("rsi_mean_reversion", "sma_crossover",
                                                                "donchian_breakout")}
    for out in outs:
        assert "Strategy tuner" in out and all(f"│ {r.id:>12} │" in out for r in rows), out
