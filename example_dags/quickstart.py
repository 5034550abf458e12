"""Quickstart: arm one task with a fault and prove that a check downstream catches it.

extract -> transform (armed: DropColumn "price") -> validate (price must exist) -> assert_detected

Chaos is inert unless enabled: run with ``AIRFLOW__CHAOS__ENABLED=true``. ``assert_detected``
then reports the DropColumn injection as DETECTED, because ``validate`` failed on the ``schema``
signal. Remove ``"price"`` from ``required_columns`` and the verdict becomes SILENT: the fault went
in, every task went green, and ``assert_detected`` fails the run.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateDataOperator


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["example", "chaos"])
def chaos_quickstart():
    @task
    def extract():
        import pandas as pd

        return pd.DataFrame({"order_id": [1, 2, 3, 4], "price": [9.5, 20.0, 3.25, 11.0], "qty": [1, 3, 2, 5]})

    @task
    def transform(orders):
        return orders.assign(revenue=orders["price"] * orders["qty"])

    transformed = chaos(transform(extract()), faults.DropColumn(column="price"), seed=7)

    validate = ValidateDataOperator(
        task_id="validate", data=transformed, required_columns=["order_id", "price", "qty", "revenue"]
    )
    validate >> AssertDetectedOperator(task_id="assert_detected")


chaos_quickstart()
