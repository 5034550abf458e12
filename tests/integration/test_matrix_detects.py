"""``detects(task, signals=[...])`` on checks this package did not write (issue #11), through real Airflow.

- ``orders_not_null``: the ``common.sql`` provider's own ``SQLCheckOperator`` on a real SQLite file
  (the SQLite provider is not installed here, so the operator gets its ``DbApiHook`` from a six-line
  subclass over :mod:`sqlite3`; the operator's ``execute`` is the provider's). Marked, its failure
  makes the upstream InjectNulls DETECTED; the same check unmarked leaves it FAILED_LOUDLY.
- ``qty_positive``: a plain ``@task`` that raises on bad data, marked: DETECTED.
- ``gx_style``: a task that returns ``{"success": False}`` without failing (as the GX provider's
  operators do by default), marked: SILENT, and the verdict says which check reported failure quietly.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

SOURCE = '''
import sqlite3
from datetime import datetime

from airflow.providers.common.sql.hooks.sql import DbApiHook
from airflow.providers.common.sql.operators.sql import SQLCheckOperator
from airflow.sdk import dag, task

from airflow_chaos import chaos, detects, faults
from airflow_chaos.operators import AssertDetectedOperator

DB = {db!r}


class SqliteFileHook(DbApiHook):
    conn_name_attr = "sqlite_conn_id"
    conn_type = "sqlite"
    hook_name = "SQLite file"

    def get_conn(self):
        return sqlite3.connect(DB)


class SqliteCheckOperator(SQLCheckOperator):  # the provider's execute; only the hook comes from here
    def get_db_hook(self):
        return SqliteFileHook()


def orders():
    import pandas as pd

    return pd.DataFrame({{"order_id": list(range(50)), "price": [10.0 + i for i in range(50)], "qty": [1 + i % 4 for i in range(50)]}})


@dag(dag_id="detects_existing_checks", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def produce_marked():
        return orders()

    @task
    def produce_unmarked():
        return orders()

    @task
    def write_marked(frame):
        with sqlite3.connect(DB) as conn:
            frame.to_sql("orders_marked", conn, if_exists="replace", index=False)

    @task
    def write_unmarked(frame):
        with sqlite3.connect(DB) as conn:
            frame.to_sql("orders_unmarked", conn, if_exists="replace", index=False)

    @task
    def produce_qty():
        return orders()

    @task
    def qty_positive(frame):
        if (frame["qty"] <= 0).any():
            raise ValueError(f"{{int((frame['qty'] <= 0).sum())}} orders with a quantity <= 0")

    @task
    def produce_gx():
        return orders()

    @task
    def gx_style(frame):
        nulls = int(frame["price"].isna().sum())
        return {{"success": nulls == 0, "statistics": {{"unexpected_count": nulls}}}}

    marked = chaos(produce_marked(), faults.InjectNulls(column="price", fraction=0.2), seed=3)
    unmarked = chaos(produce_unmarked(), faults.InjectNulls(column="price", fraction=0.2), seed=3)
    qty = chaos(produce_qty(), faults.OutOfRange(column="qty", fraction=0.2, value=-5), seed=3)
    gx = chaos(produce_gx(), faults.InjectNulls(column="price", fraction=0.2), seed=3)

    sql = "SELECT COUNT(*) = 0 FROM {{}} WHERE price IS NULL"
    checked = SqliteCheckOperator(task_id="orders_not_null", sql=sql.format("orders_marked"), conn_id="unused")
    detects(checked, signals=["completeness"])
    loud = SqliteCheckOperator(task_id="orders_not_null_unmarked", sql=sql.format("orders_unmarked"), conn_id="unused")

    write_marked(marked) >> checked
    write_unmarked(unmarked) >> loud
    qty_check = detects(qty_positive(qty), signals=["validity"])
    gx_check = detects(gx_style(gx), signals=["completeness"])
    [checked, loud, qty_check, gx_check] >> AssertDetectedOperator(task_id="assert_detected", fail_on=())


build()
'''


def test_existing_checks_marked_with_detects_count_as_detections(dag_runner, chaos_on, tmp_path):
    path = dag_runner.write("detects_existing_checks", SOURCE.format(db=str(tmp_path / "warehouse.db")))
    result = dag_runner.run(path, "detects_existing_checks")
    states = result.task_states
    assert states["orders_not_null"] == "failed" and states["orders_not_null_unmarked"] == "failed"
    assert states["qty_positive"] == "failed" and states["gx_style"] == "success"
    results = {r["task_id"]: r for r in result.report["results"]}
    assert {t: r["verdict"] for t, r in results.items()} == {
        "produce_marked": "DETECTED",
        "produce_unmarked": "FAILED_LOUDLY",
        "produce_qty": "DETECTED",
        "produce_gx": "SILENT",
    }
    assert results["produce_marked"]["evidence"] == ["orders_not_null:task_outcome [completeness]"]
    assert results["produce_qty"]["evidence"] == ["qty_positive:task_outcome [validity]"]
    assert results["produce_unmarked"]["evidence"] == ["orders_not_null_unmarked failed"]
    quiet = results["produce_gx"]
    assert quiet["silent_checks"] == ["gx_style:task_outcome"]
    assert quiet["reason"] == "gx_style:task_outcome reported a failed result without failing its task: nothing noticed"
    (detection,) = result.xcom("orders_not_null", "chaos_detections")
    assert detection["passed"] is False and "Test failed" in detection["observed"]["error"]
    (gx_detection,) = result.xcom("gx_style", "chaos_detections")
    assert gx_detection["passed"] is True and gx_detection["reported_failure"] is True


def test_detects_refuses_bad_arguments_at_parse_time():
    from airflow.providers.standard.operators.empty import EmptyOperator

    from airflow_chaos import detects
    from airflow_chaos.exceptions import ChaosConfigError

    task = EmptyOperator(task_id="check")
    with pytest.raises(ChaosConfigError, match=r"detects\(check\): field 'signals': unknown signal\(s\) \['nul'\]"):
        detects(task, signals=["nul"])
    with pytest.raises(ChaosConfigError, match=r"give a list of signals, e.g. signals=\['completeness'\], got 'schema'"):
        detects(task, signals="schema")
    with pytest.raises(ChaosConfigError, match="field 'task': expected an operator, got str"):
        detects("check", signals=["schema"])
    marked = detects(task, signals=["schema"])
    assert marked is task and type(task).__name__ == "EmptyOperator" and task._chaos_detects == ("schema",)


def test_task_chaos_takes_detects_too():
    from datetime import datetime

    from airflow.sdk import DAG, task

    from airflow_chaos import faults
    from airflow_chaos.exceptions import ChaosConfigError

    with DAG(dag_id="decorated_check", schedule=None, start_date=datetime(2026, 1, 1)):

        @task.chaos(faults=[faults.Delay(seconds=0.1)], detects=["freshness", "volume"])
        def load_and_check():
            return 1

        operator = load_and_check().operator
    assert operator._chaos_detects == ("freshness", "volume")
    assert type(operator).__name__ == "_ChaosDecoratedOperator" and operator.custom_operator_name == "@task.chaos"
    assert type(operator)._chaos_checked_class is type(operator)
    bad_check = r"detects\(bad\): field 'signals': unknown signal"
    with pytest.raises(ChaosConfigError, match=bad_check), DAG(dag_id="bad", schedule=None, start_date=datetime(2026, 1, 1)):

        @task.chaos(task_id="bad", faults=[faults.Delay(seconds=0.1)], detects=["fresh"])
        def bad():
            return 1

        bad()
