"""Data-quality faults caught by Great Expectations.

A feature table comes out of ``build_features`` with three silent problems armed on it: 20% of
``qty`` missing (MAR: where prices are high), 5% of ``price`` a thousand times too large, and
``discount`` shifted by two standard deviations. ``validate`` holds one expectation per problem
(plain dicts, so this file imports no Great Expectations at parse time), and ``assert_detected``
checks that each fault tripped a check on its signal: completeness, validity, distribution.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateDataOperator

EXPECTATIONS = [
    {"type": "expect_column_values_to_not_be_null", "column": "qty"},
    {"type": "expect_column_values_to_be_between", "column": "price", "min_value": 0, "max_value": 500},
    {"type": "expect_column_mean_to_be_between", "column": "discount", "min_value": 0.09, "max_value": 0.11},
    {"type": "expect_table_row_count_to_be_between", "min_value": 900},
]


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["example", "chaos"])
def chaos_data_quality():
    @task.chaos(
        faults=[
            faults.InjectNulls(column="qty", fraction=0.2, mechanism="MAR", condition_column="price"),
            faults.OutOfRange(column="price", fraction=0.05, scale=1000),
            faults.ShiftDistribution(column="discount", mean_shift=2.0),
        ],
        seed=7,
    )
    def build_features():
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(0)
        n = 1000
        return pd.DataFrame(
            {
                "order_id": np.arange(n),
                "price": rng.uniform(1, 200, n).round(2),
                "qty": rng.integers(1, 10, n),
                "discount": rng.normal(0.1, 0.02, n).clip(0, 1),
            }
        )

    validate = ValidateDataOperator(task_id="validate", data=build_features(), expect=EXPECTATIONS)
    validate >> AssertDetectedOperator(task_id="assert_detected")


chaos_data_quality()
