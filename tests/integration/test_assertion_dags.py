"""AssertDetectedOperator's ``fail_on`` and ``min_score`` through real Airflow (dag.test on SQLite).

One run, three assertion tasks on the same verdicts: a DropColumn that a row-count check cannot see
(SILENT) and a TruncateRows that it does see (DETECTED), so the score is 0.5. The check records its
detection without failing its task (``fail_task=False``), so nothing fails loudly.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

SOURCE = """
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateDataOperator


@dag(dag_id="assertion_settings", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def produce():
        import pandas as pd

        return pd.DataFrame({"order_id": list(range(100)), "price": [1.0] * 100})

    produced = chaos(produce(), faults.DropColumn(column="price"), faults.TruncateRows(keep_fraction=0.5), seed=1)
    validate = ValidateDataOperator(
        task_id="validate",
        data=produced,
        expect=[{"type": "expect_table_row_count_to_be_between", "min_value": 90, "max_value": 110}],
        fail_task=False,
    )
    checks = ["produce", "validate"]
    validate >> [
        AssertDetectedOperator(task_id="assert_default", task_ids=checks),
        AssertDetectedOperator(task_id="assert_lenient", task_ids=checks, fail_on=()),
        AssertDetectedOperator(task_id="assert_half", task_ids=checks, fail_on=(), min_score=0.5),
        AssertDetectedOperator(task_id="assert_strict", task_ids=checks, fail_on=(), min_score=0.75),
    ]


build()
"""


def test_fail_on_and_min_score_decide_the_assertion(dag_runner, chaos_on):
    result = dag_runner.run(dag_runner.write("assertion_settings", SOURCE), "assertion_settings")
    report = result.xcom("assert_lenient", "chaos_report")
    assert {r["kind"]: r["verdict"] for r in report["results"]} == {"drop_column": "SILENT", "truncate_rows": "DETECTED"}
    assert report["score"] == 0.5
    assert result.task_states["validate"] == "success", "fail_task=False: the detection is recorded, the task stays green"
    assert result.task_states["assert_default"] == "failed", "the default fail_on includes SILENT"
    assert result.task_states["assert_lenient"] == "success", "fail_on=() ignores SILENT"
    assert result.task_states["assert_half"] == "success", "score 0.5 meets min_score 0.5"
    assert result.task_states["assert_strict"] == "failed", "score 0.5 is below min_score 0.75"
    for task_id in ("assert_default", "assert_lenient", "assert_half", "assert_strict"):
        assert result.xcom(task_id, "chaos_report")["score"] == 0.5, task_id
