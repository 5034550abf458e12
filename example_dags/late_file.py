"""A late input file, caught by a freshness sensor; everything put back by a teardown.

Chaos holds ``orders.csv`` back from the sensor that waits for it and releases it after a few
seconds, past the sensor's arrival SLA. ``wait_for_orders`` records a failed ``freshness``
detection, so the verdict is DETECTED. ``restore`` (a teardown) puts back any file chaos still
holds, verified by checksum, whatever happened in between.

The drop folder is ``$AIRFLOW_CHAOS_DROP_ROOT/<YYYYMMDD>/``, the day the run was due (``run_after``: a run
triggered without a logical date has no ``ds``), default root ``/tmp/airflow-chaos-drop``.
The path starts with a fixed directory on purpose: chaos keeps a rendered path inside its template's
fixed directory (and ``[chaos] allowed_paths``), so ``{{ params.dir }}/orders.csv`` would be refused.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ChaosRestoreOperator
from airflow_chaos.sensors import FileArrivalSensor

DROP_ROOT = os.environ.get("AIRFLOW_CHAOS_DROP_ROOT", "/tmp/airflow-chaos-drop")
ORDERS = DROP_ROOT + "/{{ dag_run.run_after | ds_nodash }}/orders.csv"


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "chaos"],
)
def chaos_late_file():
    @task
    def land_orders(orders: str):
        from pathlib import Path

        path = Path(orders)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("order_id,price,qty\n1,9.5,1\n2,20.0,3\n")
        return str(path)

    wait = FileArrivalSensor(task_id="wait_for_orders", path=ORDERS, arrival_sla=2, timeout=8, poke_interval=0.5)
    chaos(wait, faults.HoldBackFile(path=ORDERS, release_after=4), seed=1)

    land_orders(ORDERS) >> wait
    wait >> AssertDetectedOperator(task_id="assert_detected") >> ChaosRestoreOperator(task_id="restore").as_teardown()


chaos_late_file()
