"""Load for the kill switch: 4 lanes of 6 armed steps, a few seconds each, so that injections keep
starting while the test flips the ``chaos_kill_switch`` Variable. Every step nulls half of its
column; nothing downstream checks it (this DAG is about which injections happen, not verdicts), so
the run succeeds whether chaos is on or off. The test reads the ``chaos_injections`` records back
through the REST API: every step started after the flip must have injected nothing.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from airflow_chaos import faults

LANES = 4
STEPS = 6


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["e2e", "chaos"],
    params={"step_seconds": Param(3, type="number")},
)
def e2e_kill_switch_under_load():
    @task.chaos(faults=[faults.InjectNulls(column="x", fraction=0.5)], seed=3)
    def step(previous=None):
        import time

        import pandas as pd

        time.sleep(float(get_current_context()["params"]["step_seconds"]))
        return pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})

    for lane in range(LANES):
        previous = None
        for index in range(STEPS):
            previous = step.override(task_id=f"lane{lane}_step{index}")(previous)


e2e_kill_switch_under_load()
