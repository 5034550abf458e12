"""The package as Airflow sees it: provider discovery, the task decorator, the CLI, and cheap imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HEAVY = ("great_expectations", "mlflow", "feast", "sklearn", "matplotlib")
pytestmark = pytest.mark.integration


def _run(args, **env):
    full_env = {**os.environ, **env}
    return subprocess.run(args, capture_output=True, text=True, env=full_env, timeout=300, check=False)


def test_airflow_providers_list_shows_airflow_chaos():
    out = _run([str(BIN / "airflow"), "providers", "list", "--output", "json"])
    assert out.returncode == 0, out.stderr
    providers = {p["package_name"]: p for p in json.loads(out.stdout[out.stdout.index("[") :])}
    assert "airflow-chaos" in providers
    assert providers["airflow-chaos"]["version"] == "0.1.0"


def test_task_chaos_resolves_through_provider_info():
    code = "from airflow.sdk import task; d = task.chaos; print(d.__module__, d.__name__)"
    out = _run([sys.executable, "-c", code])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["airflow_chaos.decorators", "chaos_task"]


def test_import_and_parsing_example_dags_imports_no_heavy_library():
    code = f"""
import sys
import airflow_chaos
from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateDataOperator
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={str(ROOT / "example_dags")!r})
assert not bag.import_errors, bag.import_errors
assert bag.dags, "no example DAGs parsed"
print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))
"""
    out = _run([sys.executable, "-c", code])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_cli_lists_fault_kinds_and_restores(tmp_path):
    out = _run([str(BIN / "airflow-chaos"), "faults"])
    assert out.returncode == 0, out.stderr
    assert "drop_column" in out.stdout and "signals=schema" in out.stdout

    from airflow_chaos.experiment.journal import Journal

    target = tmp_path / "f.csv"
    target.write_bytes(b"a\n1\n")
    Journal(tmp_path / "j").rewrite(target, lambda _: b"")
    out = _run([str(BIN / "airflow-chaos"), "restore", "--journal", str(tmp_path / "j")])
    assert out.returncode == 0, out.stderr
    assert "1 mutation(s) restored" in out.stdout
    assert target.read_bytes() == b"a\n1\n"
