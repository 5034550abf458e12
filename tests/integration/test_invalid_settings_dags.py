"""Issue #8 item 3: a malformed ``[chaos]`` setting never breaks an armed task (real DAG runs, dag.test on SQLite).

Before: ``max_injections_per_run=ten`` or ``seed=abc`` failed every armed task with a raw ``ValueError``,
even with ``environment=production``. Now the settings are read and validated once per armed task,
after the master switch and the environment guard: in an allowed environment an invalid setting is
one INJECTION_ERROR per armed fault naming the setting, nothing is injected and the task runs and
succeeds with its own return value; in an environment that is not allowed, the guard decides first and
every fault is SKIPPED (an invalid setting there does not matter: chaos cannot run anyway).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

DAG_SOURCE = '''
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults


@dag(dag_id="{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task.chaos(faults=[faults.DropColumn(column="x"), faults.InjectNulls(column="y", fraction=1.0)])
    def decorated():
        import pandas as pd

        return pd.DataFrame({{"x": [1, 2], "y": [3, 4]}})

    @task
    def classic(frame):
        return {{"rows": len(frame), "columns": list(frame.columns)}}

    chaos(classic(decorated()), faults.PartialOutput(fraction=0.0))


build()
'''

UNTOUCHED = {"rows": 2, "columns": ["x", "y"]}


def _run(dag_runner, dag_id):
    result = dag_runner.run(dag_runner.write(dag_id, DAG_SOURCE.format(dag_id=dag_id)), dag_id)
    records = (result.xcom("decorated", "chaos_injections") or []) + (result.xcom("classic", "chaos_injections") or [])
    return result, records


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "ten", "[chaos] max_injections_per_run: invalid integer 'ten'"),
        ("AIRFLOW__CHAOS__SEED", "abc", "[chaos] seed: invalid integer 'abc'"),
    ],
)
def test_an_invalid_setting_is_one_injection_error_per_fault_and_the_task_succeeds(
    dag_runner, chaos_on, monkeypatch, variable, value, message
):
    monkeypatch.setenv(variable, value)
    result, records = _run(dag_runner, f"bad_setting_{variable.rsplit('__', 1)[1].lower()}")
    assert result.state == "success", result.task_states
    assert set(result.task_states.values()) == {"success"}
    assert list(result.xcom("decorated").columns) == ["x", "y"]
    assert result.xcom("decorated")["y"].tolist() == [3, 4]
    assert result.xcom("classic") == UNTOUCHED
    assert [r["kind"] for r in records] == ["drop_column", "inject_nulls", "partial_output"]
    assert [r["status"] for r in records] == ["error"] * 3
    assert all(message in r["error"] for r in records), [r["error"] for r in records]


@pytest.mark.parametrize(("variable", "value"), [("AIRFLOW__CHAOS__SEED", "abc"), ("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "ten")])
def test_in_production_the_environment_guard_skips_before_settings_are_validated(
    dag_runner, chaos_on, monkeypatch, variable, value
):
    monkeypatch.setenv("AIRFLOW__CHAOS__ENVIRONMENT", "production")
    monkeypatch.setenv(variable, value)
    result, records = _run(dag_runner, f"bad_setting_prod_{variable.rsplit('__', 1)[1].lower()}")
    assert result.state == "success", result.task_states
    assert list(result.xcom("decorated").columns) == ["x", "y"]
    assert result.xcom("classic") == UNTOUCHED
    assert [r["status"] for r in records] == ["skipped"] * 3
    assert all("'production' not in allowed_environments" in r["reason"] for r in records)
    assert all(r.get("error") is None for r in records)
