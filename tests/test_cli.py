"""The ``abtpro`` command as a user runs it (real subprocesses)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ABTPRO = [sys.executable, "-m", "abtpro.cli"]


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "ABTPRO_DATA_DIR": str(cwd / ".abtpro"), "COLUMNS": "160", **env}
    return subprocess.run([*ABTPRO, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=600)


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


@pytest.mark.slow
@pytest.mark.integration
def test_main_command_twice_gives_the_same_counts(tmp_path):
    """README command (a)'s job, run twice. The first run starts the Prefect server, flow runner, MLflow UI
    and the BentoML service in the background, and the printed curl scores a signal; the second runs
    embedded (``--no-ui --no-serve``). Counts must not change and nothing is retrained."""
    import httpx

    from abtpro.supervisor import free_port

    env = {"ABTPRO_PREFECT_PORT": str(free_port()), "ABTPRO_MLFLOW_PORT": str(free_port()),
           "ABTPRO_SERVICE_PORT": str(free_port())}
    if "DATABASE_URL" in os.environ:  # start from an empty PostgreSQL store
        from store import migrate

        migrate.downgrade(os.environ["DATABASE_URL"], "base")
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'abtpro.db'}"
    try:
        first = _run(["run"], tmp_path, **env)
        assert first.returncode == 0, first.stdout + first.stderr
        key = next(line for line in first.stdout.splitlines() if line.startswith("curl ")).split("X-API-Key: ")[1]
        response = httpx.post(f"http://127.0.0.1:{env['ABTPRO_SERVICE_PORT']}/ml/signal/score",
                              headers={"X-API-Key": key.split("'")[0]}, timeout=60,
                              json={"symbol": "SP500", "strategy": "sma_crossover", "side": "BUY"})
        assert response.status_code == 200, response.text
        assert 0.0 <= response.json()["score"] <= 1.0 and response.json()["model"]["version"] == "1"
    finally:
        _run(["down"], tmp_path, **env)
    second = _run(["run", "--no-ui", "--no-serve"], tmp_path, **env)
    assert second.returncode == 0, second.stdout + second.stderr
    for out in (first.stdout, second.stdout):
        for symbol, rows in (("SP500", "5,031"), ("NASDAQ", "5,031"), ("GOOG", "2,148"), ("EURUSD", "5,000")):
            assert any(symbol in line and rows in line for line in out.splitlines() if "│" in line)
    assert "quarantined rows: 0" in second.stdout
    assert f"http://127.0.0.1:{env['ABTPRO_PREFECT_PORT']}" in first.stdout
    assert first.stdout.count("no current champion") == 2
    assert second.stdout.count("up to date: champion v1") == 2
    # every strategy was tuned on every daily series once; the second run reused those results
    from store import optimizations

    rows = optimizations.list_optimizations(env.get("DATABASE_URL") or os.environ["DATABASE_URL"])
    assert len(rows) == 9 and {r.status for r in rows} == {optimizations.COMPLETED}
    assert {(r.symbol, r.strategy) for r in rows} == {(s, k) for s in ("SP500", "NASDAQ", "GOOG")
                                                      for k in ("rsi_mean_reversion", "sma_crossover",
                                                                "donchian_breakout")}
    for out in (first.stdout, second.stdout):
        assert "Strategy tuner" in out and all(f"│ {r.id:>12} │" in out for r in rows), out
