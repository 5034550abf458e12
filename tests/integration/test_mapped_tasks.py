"""@task.chaos on a mapped task: every map index is injected, seeded on its own, and judged on its own."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

SOURCE = """
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import faults
from airflow_chaos.operators import AssertDetectedOperator


@dag(dag_id="mapped_chaos", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task.chaos(faults=[faults.InjectNulls(column="x", fraction=0.5)], seed=3)
    def part(n):
        import pandas as pd

        return pd.DataFrame({"x": [float(n)] * 10, "y": list(range(10))})

    @task
    def null_rows(frames):
        return [[int(i) for i in f.index[f["x"].isna()]] for f in frames]

    null_rows(part.expand(n=[1, 2, 3])) >> AssertDetectedOperator(task_id="assert_detected")


build()
"""


def test_each_map_index_is_injected_with_its_own_seed(dag_runner, chaos_on):
    result = dag_runner.run(dag_runner.write("mapped_chaos", SOURCE), "mapped_chaos")

    assert [result.task_states[f"part[{i}]"] for i in range(3)] == ["success"] * 3
    rows = result.xcom("null_rows")
    assert [len(r) for r in rows] == [5, 5, 5]
    assert len({tuple(r) for r in rows}) > 1  # map_index is part of the seed: not the same rows every time
    results = result.report["results"]
    assert sorted(r["map_index"] for r in results) == [0, 1, 2]
    assert {r["verdict"] for r in results} == {"SILENT"}  # no check on completeness downstream
    assert result.task_states["assert_detected"] == "failed"
