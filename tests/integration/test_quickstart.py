"""The quickstart DAG through real Airflow (dag.test on SQLite): DETECTED with the validator, SILENT without."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_quickstart_drop_column_is_detected(dag_runner, chaos_on):
    path = dag_runner.copy(ROOT / "example_dags" / "quickstart.py")
    result = dag_runner.run(path, "chaos_quickstart")

    assert result.task_states["transform"] == "success"
    assert result.task_states["validate"] == "failed"
    assert result.task_states["assert_detected"] == "success"
    assert result.state == "success"
    assert result.verdicts() == {"transform:drop_column": "DETECTED"}
    report = result.report
    assert report["score"] == 1.0
    assert report["results"][0]["changes"]["columns_dropped"] == ["price"]
    transformed = result.xcom("transform")
    assert "price" not in transformed.columns and "revenue" in transformed.columns


def test_without_validator_the_fault_is_silent_and_assert_fails(dag_runner, chaos_on):
    source = (ROOT / "example_dags" / "quickstart.py").read_text()
    source = source.replace(
        'required_columns=["order_id", "price", "qty", "revenue"]', 'required_columns=["order_id", "qty", "revenue"]'
    )
    source = source.replace("def chaos_quickstart", "def chaos_quickstart_silent")
    source = source.replace("chaos_quickstart()", "chaos_quickstart_silent()")
    path = dag_runner.write("quickstart_silent", source)
    result = dag_runner.run(path, "chaos_quickstart_silent")

    assert result.task_states["validate"] == "success"
    assert result.task_states["assert_detected"] == "failed"
    assert result.state == "failed"
    assert result.verdicts() == {"transform:drop_column": "SILENT"}
    assert result.report["score"] == 0.0
