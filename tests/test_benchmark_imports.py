"""Every name a benchmark script imports from the project exists (no test runs the scripts, so a moved name
would otherwise only show when someone runs the benchmark)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("ml", "data_contracts", "store", "registry", "ingestion", "flows", "serving", "abtpro", "benchmarks")


def _project_imports() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.split(".")[0] in PROJECT:
                found += [(path.name, node.module, alias.name) for alias in node.names]
    return found


@pytest.mark.parametrize(("script", "module", "name"), _project_imports())
def test_benchmark_imports_resolve(script, module, name):
    imported = importlib.import_module(module)
    assert hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}") is not None, \
        f"{script}: `from {module} import {name}` fails"
