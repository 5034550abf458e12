"""A file dropped from outside the DAG, faulted *before* the task that reads it (``when="before"``).

The reader is ValidateDataOperator itself, armed with SwapFormat: the CSV it reads is JSON by then,
so it fails on the ``format`` signal (DETECTED); a teardown restores the input byte-identically.
"""

from __future__ import annotations

import hashlib

import pytest

pytestmark = pytest.mark.integration

SOURCE = """
from datetime import datetime

from airflow.sdk import dag

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ChaosRestoreOperator, ValidateDataOperator

INPUT = {path!r}


@dag(dag_id="input_fault", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    validate = ValidateDataOperator(task_id="validate", data=INPUT, required_columns=["id", "amount"])
    chaos(validate, faults.SwapFormat(path=INPUT, to="json", when="before"), seed=1)
    validate >> AssertDetectedOperator(task_id="assert_detected") >> ChaosRestoreOperator(task_id="restore").as_teardown()


build()
"""


def test_input_swapped_before_the_reader_runs_is_detected_and_restored(dag_runner, chaos_on, tmp_path):
    path = tmp_path / "drop" / "orders.csv"
    path.parent.mkdir()
    path.write_text("id,amount\n1,9.5\n2,20.0\n3,3.25\n")
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    result = dag_runner.run(dag_runner.write("input_fault", SOURCE.format(path=str(path))), "input_fault")

    assert result.task_states["validate"] == "failed"
    assert result.verdicts() == {"validate:swap_format": "DETECTED"}
    (rec,) = result.xcom("validate", "chaos_injections")
    assert rec["target"] == str(path) and rec["changes"]["sha256_before"] == before
    assert rec["changes"]["sha256_after"] != before
    detections = result.xcom("validate", "chaos_detections")
    assert any("format" in d["signals"] and not d["passed"] for d in detections)
    assert result.task_states["restore"] == "success"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
