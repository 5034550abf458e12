"""example_dags/model_registry_faults.py runs under dag.test() with chaos enabled: both registry faults
are DETECTED, the broken challenger is rolled back, and the teardown leaves the registry as the
pipeline left it (the faults' changes undone)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_model_registry_example_detects_both_faults_and_rolls_back(dag_runner, chaos_on, airflow_home, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    path = dag_runner.copy(ROOT / "example_dags" / "model_registry_faults.py")
    result = dag_runner.run(path, "chaos_model_registry")

    assert result.state == "success", result.task_states
    assert result.verdicts() == {
        "redeploy_old_version:repoint_alias": "DETECTED",
        "promote_challenger:broken_model": "DETECTED",
    }
    assert result.report["score"] == 1.0
    assert result.task_states["check_registry"] == "failed" and result.task_states["quality_gate"] == "failed"
    assert result.task_states["rollback"] == "success" and result.task_states["restore"] == "success"

    from mlflow import MlflowClient

    version = str(result.xcom("train_and_register"))
    rollback = result.xcom("rollback")
    assert rollback["to"] == version and int(rollback["from"]) > int(version)
    client = MlflowClient(f"sqlite:///{airflow_home / 'mlflow-example' / 'mlflow.db'}")
    aliases = client.get_registered_model("churn").aliases
    assert aliases == {"champion": int(version), "challenger": int(version)}
    assert [int(v.version) for v in client.search_model_versions("name = 'churn'")] == sorted(range(1, int(version) + 1), reverse=True)
