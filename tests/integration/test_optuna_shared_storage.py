"""Distributed tuning: two worker processes share one Optuna study in an RDB storage (PostgreSQL when the
suite runs on PostgreSQL, as in production; a SQLite file otherwise)."""

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKER = """
import sys
from ml.strategies import ParamSpec
from ml.tuner import OPTUNA, tune
space = {"x": ParamSpec(0.0, 1.0, "float", 0.025), "y": ParamSpec(0, 200, "int", 5)}
bowl = lambda p: 1.0 - 4 * (p["x"] - 0.7) ** 2 - 4 * ((p["y"] - 60) / 200) ** 2
result = tune(bowl, space, 12, seed=int(sys.argv[3]), method=OPTUNA, storage=sys.argv[1], study_name=sys.argv[2])
print(result.n_evaluations)
"""


@pytest.fixture
def storage(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'optuna.db'}"
        return
    name = f"abtpro_optuna_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_two_workers_fill_one_study(storage):
    import optuna

    study = f"sma-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=study, storage=storage, direction="maximize")
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, storage, study, str(seed)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outputs]
    trials = optuna.load_study(study_name=study, storage=storage).trials
    assert len(trials) >= 24  # both workers' evaluations landed in the one shared study
    assert max(t.value for t in trials if t.value is not None) > 0.9
