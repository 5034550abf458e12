"""Every ``from airflow_chaos... import name`` in the benchmarks and example DAGs names something that exists.

The benchmarks are not run by ``make test`` and most of their imports sit inside functions (so
that each measures its own import), which neither ruff nor mypy resolves: moving
``write_scorecards`` to ``report/files.py`` left ``bench/report.py`` importing it from its old
module, unnoticed until the bench ran. This reads their source and resolves each name.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted([*ROOT.glob("bench/*.py"), *ROOT.glob("example_dags/*.py")])


def _imports(path: Path) -> list[tuple[int, str, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        (node.lineno, node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "airflow_chaos"
        for alias in node.names
    ]


def test_there_are_scripts_to_check():
    assert len(SCRIPTS) >= 15 and any(_imports(p) for p in SCRIPTS)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_airflow_chaos_name_a_script_imports_exists(path: Path):
    missing = []
    for line, module, name in _imports(path):
        found = importlib.import_module(module)
        if name != "*" and not hasattr(found, name):
            try:
                importlib.import_module(f"{module}.{name}")  # a submodule
            except ModuleNotFoundError:
                missing.append(f"{path.name}:{line}: from {module} import {name}")
    assert missing == []
