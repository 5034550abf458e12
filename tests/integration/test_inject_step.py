"""InjectFaultOperator: a state fault as a DAG step of its own, judged by the checks downstream, undone by the teardown."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

SOURCE = """
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import faults
from airflow_chaos.operators import (
    AssertDetectedOperator,
    ChaosRestoreOperator,
    InjectFaultOperator,
    ValidateDataOperator,
)

INPUT = {path!r}


@dag(dag_id="inject_step", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    empty = InjectFaultOperator(task_id="empty_the_export", faults=[faults.EmptyFile(path=INPUT)], seed=3)
    if {checked}:
        validate = ValidateDataOperator(task_id="validate", data=INPUT, required_columns=["id"])
    else:
        @task(task_id="validate")
        def validate():
            with open(INPUT) as fh:
                return len(fh.read().splitlines())  # counts rows, checks nothing

        validate = validate()
    restore = ChaosRestoreOperator(task_id="restore").as_teardown()
    empty >> validate >> AssertDetectedOperator(task_id="assert_detected") >> restore


build()
"""


@pytest.mark.parametrize(("checked", "verdict", "assert_state"), [(True, "DETECTED", "success"), (False, "SILENT", "failed")])
def test_a_fault_step_is_judged_downstream_and_restored(dag_runner, chaos_on, tmp_path, checked, verdict, assert_state):
    path = tmp_path / "orders.csv"
    original = b"id,amount\n1,9.5\n2,20.0\n"
    path.write_bytes(original)

    result = dag_runner.run(dag_runner.write("inject_step", SOURCE.format(path=str(path), checked=checked)), "inject_step")

    assert result.task_states["empty_the_export"] == "success"
    assert result.verdicts() == {"empty_the_export:empty_file": verdict}
    assert result.task_states["assert_detected"] == assert_state
    (rec,) = result.xcom("empty_the_export", "chaos_injections")
    assert rec["status"] == "injected" and rec["changes"]["bytes_after"] == 0
    assert result.task_states["restore"] == "success"
    assert path.read_bytes() == original


def test_faults_that_only_live_inside_a_task_are_refused_at_parse_time():
    from airflow_chaos import faults
    from airflow_chaos.exceptions import ChaosConfigError
    from airflow_chaos.operators.inject import InjectFaultOperator

    for fault in (faults.HttpError(status=503), faults.Delay(seconds=1), faults.DropColumn(column="x")):
        with pytest.raises(ChaosConfigError, match=r"field 'faults\[0\]'.*cannot be a step of its own"):
            InjectFaultOperator(task_id="step", faults=[fault])
    InjectFaultOperator(task_id="ok", faults=[faults.DropColumn(column="x", path="/data/x.parquet")])
