"""Each safety rule of DESIGN §5 on real DAG runs (dag.test on SQLite), plus seeding and delays.

The DAG arms two tasks: ``@task.chaos`` with a seeded noise fault (defined here, test-only, so the
seeded RNG's effect is visible) and a classic ``chaos(...)`` with DropColumn.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

DAG_SOURCE = '''
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.faults.base import Fault


class AddNoise(Fault):
    """Test-only: adds seeded gaussian noise to a column of a dict of lists."""

    kind = "test_add_noise"
    signals = ("distribution",)
    phase = "after"
    column: str

    def apply(self, value, ctx):
        noise = ctx.rng.normal(size=len(value[self.column]))
        out = dict(value)
        out[self.column] = [v + float(n) for v, n in zip(value[self.column], noise)]
        ctx.record(rows_affected=len(noise))
        return out


@dag(dag_id="{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task.chaos(faults=[AddNoise(column="x")], seed={seed}, dry_run={dry_run})
    def noisy():
        return {{"x": [1.0, 2.0, 3.0, 4.0]}}

    @task
    def table(_):
        import pandas as pd

        return pd.DataFrame({{"y": [1, 2], "z": [3, 4]}})

    chaos(table(noisy()), faults.DropColumn(column="y"), {delay})


build()
'''


def _write(dag_runner, dag_id, seed=7, dry_run=False, delay=""):
    source = DAG_SOURCE.format(dag_id=dag_id, seed=seed, dry_run=dry_run, delay=delay)
    return dag_runner.write(dag_id, source)


def _injections(result, task_id):
    return result.xcom(task_id, "chaos_injections") or []


def test_disabled_by_default_injects_nothing_and_leaves_output_alone(dag_runner):
    result = dag_runner.run(_write(dag_runner, "safety_disabled"), "safety_disabled")
    assert result.state == "success"
    assert result.xcom("noisy") == {"x": [1.0, 2.0, 3.0, 4.0]}
    assert list(result.xcom("table").columns) == ["y", "z"]
    assert _injections(result, "noisy") == [] and _injections(result, "table") == []


def test_enabled_injects_and_records(dag_runner, chaos_on):
    result = dag_runner.run(_write(dag_runner, "safety_enabled"), "safety_enabled")
    assert result.state == "success"
    assert result.xcom("noisy")["x"] != [1.0, 2.0, 3.0, 4.0]
    assert list(result.xcom("table").columns) == ["z"]
    (noise,) = _injections(result, "noisy")
    assert noise["status"] == "injected" and noise["changes"]["rows_affected"] == 4
    assert noise["outcome"] == "success" and noise["kind"] == "test_add_noise"
    (drop,) = _injections(result, "table")
    assert drop["changes"]["columns_dropped"] == ["y"]


def test_kill_switch_skips_every_injection(dag_runner, chaos_on):
    from airflow.models.variable import Variable

    Variable.set("chaos_kill_switch", "true")
    try:
        result = dag_runner.run(_write(dag_runner, "safety_kill"), "safety_kill")
    finally:
        Variable.delete("chaos_kill_switch")
    assert result.state == "success"
    assert result.xcom("noisy") == {"x": [1.0, 2.0, 3.0, 4.0]}
    records = _injections(result, "noisy") + _injections(result, "table")
    assert [r["status"] for r in records] == ["skipped", "skipped"]
    assert all("kill switch" in r["reason"] for r in records)


def test_environment_guard(dag_runner, chaos_on, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__ENVIRONMENT", "prod")
    result = dag_runner.run(_write(dag_runner, "safety_env"), "safety_env")
    assert list(result.xcom("table").columns) == ["y", "z"]
    (drop,) = _injections(result, "table")
    assert drop["status"] == "skipped" and "'prod' not in allowed_environments" in drop["reason"]


def test_dry_run_records_and_changes_nothing(dag_runner, chaos_on):
    result = dag_runner.run(_write(dag_runner, "safety_dry", dry_run=True), "safety_dry")
    assert result.xcom("noisy") == {"x": [1.0, 2.0, 3.0, 4.0]}
    (noise,) = _injections(result, "noisy")
    assert noise["status"] == "dry_run" and noise["changes"]["would_inject"] == "test_add_noise(column='x')"


def test_max_injections_per_run(dag_runner, chaos_on, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "1")
    result = dag_runner.run(_write(dag_runner, "safety_max"), "safety_max")
    assert _injections(result, "noisy")[0]["status"] == "injected"
    (drop,) = _injections(result, "table")
    assert drop["status"] == "skipped" and "max_injections_per_run=1" in drop["reason"]
    assert list(result.xcom("table").columns) == ["y", "z"]


def test_same_seed_is_byte_identical_and_a_different_seed_differs(dag_runner, chaos_on):
    first = dag_runner.run(_write(dag_runner, "seed_a", seed=7), "seed_a").xcom("noisy")
    second = dag_runner.run(_write(dag_runner, "seed_a", seed=7), "seed_a").xcom("noisy")
    other = dag_runner.run(_write(dag_runner, "seed_a", seed=8), "seed_a").xcom("noisy")
    assert repr(first) == repr(second)
    assert first != other


def test_short_delay_sleeps_in_the_worker(dag_runner, chaos_on):
    delay = "faults.Delay(seconds=0.3)"
    result = dag_runner.run(_write(dag_runner, "delay_short", delay=delay), "delay_short")
    assert result.state == "success"
    delay_rec = next(r for r in _injections(result, "table") if r["kind"] == "delay")
    assert delay_rec["changes"]["delayed_seconds"] >= 0.3


def test_long_delay_defers_to_the_triggerer_and_resumes(dag_runner, chaos_on):
    delay = "faults.Delay(seconds=1, defer_above=0.5)"
    result = dag_runner.run(_write(dag_runner, "delay_defer", delay=delay), "delay_defer")
    assert result.state == "success"
    records = {r["kind"]: r for r in _injections(result, "table")}
    assert records["delay"]["changes"] == {"deferred_seconds": 1.0, "served": "deferred"}
    assert records["delay"]["outcome"] == "success"
    assert records["drop_column"]["changes"]["columns_dropped"] == ["y"]
    assert list(result.xcom("table").columns) == ["z"]


ENGINE_SOURCE = '''
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.faults.base import Fault
from airflow_chaos.operators import AssertDetectedOperator


class Broken(Fault):
    """Test-only: a fault whose engine code crashes."""

    kind = "test_broken"
    signals = ("schema",)
    phase = "after"

    def apply(self, value, ctx):
        raise ZeroDivisionError("bug inside the chaos engine")


@dag(dag_id="{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def produce():
        {body}

    chaos(produce(), Broken()) >> AssertDetectedOperator(task_id="assert_detected")


build()
'''


def test_engine_bug_is_injection_error_and_the_task_runs_untouched(dag_runner, chaos_on):
    path = dag_runner.write("engine_bug", ENGINE_SOURCE.format(dag_id="engine_bug", body="return {'a': [1]}"))
    result = dag_runner.run(path, "engine_bug")
    assert result.task_states["produce"] == "success"
    assert result.xcom("produce") == {"a": [1]}
    (rec,) = _injections(result, "produce")
    assert rec["status"] == "error" and "ZeroDivisionError" in rec["error"]
    assert result.verdicts() == {"produce:test_broken": "INJECTION_ERROR"}
    assert result.task_states["assert_detected"] == "failed"


def test_a_raising_task_still_records_its_injections(dag_runner, chaos_on):
    source = ENGINE_SOURCE.format(dag_id="task_raises", body="raise ValueError('upstream API down')")
    source = source.replace("chaos(produce(), Broken())", "chaos(produce(), faults.Delay(seconds=0.1))")
    result = dag_runner.run(dag_runner.write("task_raises", source), "task_raises")
    assert result.task_states["produce"] == "failed"
    (rec,) = _injections(result, "produce")
    assert rec["outcome"] == "raised" and "upstream API down" in rec["error"]
    assert result.verdicts() == {"produce:delay": "FAILED_LOUDLY"}
    assert result.task_states["assert_detected"] == "success"
