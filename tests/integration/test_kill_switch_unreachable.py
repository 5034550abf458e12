"""The kill switch fails closed through real Airflow: an API server the task cannot reach keeps chaos off.

``dag.test`` runs the task under Airflow's in-process supervisor, whose API client answers the
task's requests. Here the client's Variable lookup fails with ``httpx.ConnectError``, as it does
when the API server is down. What is simulated: only that one HTTP call (a real outage would take
down the whole in-process API that ``dag.test`` also uses for XComs and states). Everything above
it is real: the supervisor, the task SDK's ``Variable.get`` and its secrets-backend chain (whose
Execution API backend reports the failure as "not found"), and the chaos wrapper.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

DAG_SOURCE = """
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults


@dag(dag_id="{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def table():
        import pandas as pd

        return pd.DataFrame({{"y": [1, 2], "z": [3, 4]}})

    chaos(table(), faults.DropColumn(column="y"))


build()
"""


def test_an_unreachable_variable_api_skips_every_injection(dag_runner, chaos_on, monkeypatch):
    import httpx
    from airflow.sdk.api.client import VariableOperations

    asked: list[str] = []

    def unreachable(self, key):
        asked.append(key)
        raise httpx.ConnectError("[Errno 111] Connection refused")

    monkeypatch.setattr(VariableOperations, "get", unreachable)
    path = dag_runner.write("kill_switch_unreachable", DAG_SOURCE.format(dag_id="kill_switch_unreachable"))
    result = dag_runner.run(path, "kill_switch_unreachable")

    assert "chaos_kill_switch" in asked
    assert result.task_states["table"] == "success"
    assert list(result.xcom("table").columns) == ["y", "z"], "chaos went in while the kill switch was unreadable"
    (rec,) = result.xcom("table", "chaos_injections")
    assert rec["status"] == "skipped" and "kill switch" in rec["reason"]


def test_a_reachable_api_without_the_variable_lets_chaos_in(dag_runner, chaos_on):
    path = dag_runner.write("kill_switch_absent", DAG_SOURCE.format(dag_id="kill_switch_absent"))
    result = dag_runner.run(path, "kill_switch_absent")
    assert list(result.xcom("table").columns) == ["z"]
    (rec,) = result.xcom("table", "chaos_injections")
    assert rec["status"] == "injected"
