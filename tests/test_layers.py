"""The package layers, checked on the source: who may import what, and who may import SQLAlchemy.

    abtpro (CLI, local supervisor)                      layer 5
    flows (Prefect)      serving (BentoML)              layer 4   (neither imports the other)
    registry (MLflow)    ingestion (sources)            layer 3   (neither imports the other)
    store (SQLAlchemy: the only importer)               layer 2
    data_contracts (pandera + GX)                       layer 1
    ml (pure)                                           layer 0

Arrows point down only. ``abtpro.settings`` is the configuration every layer from ``store`` up may read.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"ml": 0, "data_contracts": 1, "store": 2, "registry": 3, "ingestion": 3, "flows": 4, "serving": 4,
          "abtpro": 5}
SETTINGS = "abtpro.settings"
ORCHESTRATION = ("prefect", "mlflow", "bentoml", "great_expectations", "sqlalchemy", "alembic")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, function-level imports included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _sources(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def _violations() -> list[str]:
    out = []
    for package, level in LAYERS.items():
        for path in _sources(package):
            where = path.relative_to(ROOT)
            for line, name in _imports(path):
                top = name.split(".")[0]
                if name == SETTINGS or name.startswith(SETTINGS + "."):
                    if level < LAYERS["store"]:
                        out.append(f"{where}:{line} imports {name} (the pure layers take values, not settings)")
                    continue
                other = LAYERS.get(top)
                if other is not None and top != package and other >= level:
                    out.append(f"{where}:{line} ({package}, layer {level}) imports {name} ({top}, layer {other})")
    return out


def test_imports_point_down_only():
    assert _violations() == []


def test_only_store_imports_sqlalchemy():
    offenders = []
    for package in [*LAYERS, "benchmarks", "docs"]:
        for path in _sources(package) if (ROOT / package).is_dir() else []:
            if package == "store":
                continue
            for line, name in _imports(path):
                if name.split(".")[0] in ("sqlalchemy", "alembic"):
                    offenders.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert offenders == []


def test_ml_imports_no_orchestration_or_storage():
    offenders = []
    for path in _sources("ml"):
        for line, name in _imports(path):
            if name.split(".")[0] in ORCHESTRATION:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert offenders == []
