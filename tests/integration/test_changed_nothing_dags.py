"""Issue #8 item 2 through real Airflow: a fault that changes nothing ends SKIPPED, and the run stays green.

``InjectNulls`` on an empty frame used to be recorded as injected with 0 rows affected: its verdict
was SILENT and ``assert_detected`` failed a healthy run. Here the same DAG runs through ``dag.test``
with real Great Expectations: the injection is recorded ``effective=False`` with the reason, the
verdict is SKIPPED with that reason, and ``assert_detected`` passes. The same holds for the file
variant (``path=``), whose empty Parquet file is left byte-identical.
"""

from __future__ import annotations

import hashlib

import pytest

from airflow_chaos.experiment.verdicts import ExperimentReport

pytestmark = pytest.mark.integration

REASON = "no rows to corrupt: the table is empty"

RETURN_VALUE_DAG = """
from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateDataOperator


@dag(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test", "chaos"])
def empty_orders():
    @task
    def produce():
        import pandas as pd

        return pd.DataFrame({{"order_id": pd.Series([], dtype="int64"), "qty": pd.Series([], dtype="int64")}})

    produced = chaos(produce(), faults.InjectNulls(column="qty", fraction=0.2), seed=7)
    validate = ValidateDataOperator(
        task_id="validate", data=produced, expect=[{{"type": "expect_column_values_to_not_be_null", "column": "qty"}}]
    )
    validate >> AssertDetectedOperator(task_id="assert_detected")


empty_orders()
"""

FILE_DAG = """
from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateDataOperator

DATA_PATH = {path!r}


@dag(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test", "chaos"])
def empty_export():
    @task
    def export():
        import pandas as pd

        pd.DataFrame({{"order_id": pd.Series([], dtype="int64"), "qty": pd.Series([], dtype="int64")}}).to_parquet(DATA_PATH)
        return DATA_PATH

    exported = chaos(export(), faults.InjectNulls(column="qty", fraction=0.2, path=DATA_PATH), seed=7)
    validate = ValidateDataOperator(
        task_id="validate", data=exported, expect=[{{"type": "expect_column_values_to_not_be_null", "column": "qty"}}]
    )
    validate >> AssertDetectedOperator(task_id="assert_detected")


empty_export()
"""


def assert_skipped_and_green(result, task_id: str) -> None:
    assert result.task_states == {task_id: "success", "validate": "success", "assert_detected": "success"}
    assert result.state == "success"
    (record,) = result.xcom(task_id, "chaos_injections")
    assert record["kind"] == "inject_nulls" and record["status"] == "injected"
    assert record["effective"] is False and record["reason"] == REASON
    assert record["changes"]["rows_affected"] == 0
    assert result.verdicts() == {f"{task_id}:inject_nulls": "SKIPPED"}
    report = ExperimentReport.model_validate(result.report)
    (verdict,) = report.results
    assert verdict.reason == REASON
    assert report.injected == 0 and report.score is None and report.counts["SILENT"] == 0
    assert REASON in report.table()  # the table assert_detected logs


def test_inject_nulls_on_an_empty_frame_ends_skipped_and_assert_detected_passes(dag_runner, chaos_on):
    dag_id = "chaos_changed_nothing_return_value"
    result = dag_runner.run(dag_runner.write(dag_id, RETURN_VALUE_DAG.format(dag_id=dag_id)), dag_id)
    assert_skipped_and_green(result, "produce")


def test_inject_nulls_on_an_empty_file_ends_skipped_and_leaves_the_file_alone(dag_runner, chaos_on, tmp_path):
    path = tmp_path / "orders.parquet"
    dag_id = "chaos_changed_nothing_file"
    result = dag_runner.run(dag_runner.write(dag_id, FILE_DAG.format(dag_id=dag_id, path=str(path))), dag_id)
    assert_skipped_and_green(result, "export")
    (record,) = result.xcom("export", "chaos_injections")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["changes"]["sha256_before"] == record["changes"]["sha256_after"] == digest
