"""A late input file, caught by a freshness sensor; everything put back by a teardown.

Chaos holds ``orders.csv`` back from the sensor that waits for it and releases it after a few
seconds, past the sensor's arrival SLA. ``wait_for_orders`` records a failed ``freshness``
detection, so the verdict is DETECTED. ``restore`` (a teardown) puts back any file chaos still
holds, verified by checksum, whatever happened in between.

The drop folder comes from the ``drop_dir`` param.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ChaosRestoreOperator
from airflow_chaos.sensors import FileArrivalSensor

ORDERS = "{{ params.drop_dir }}/orders.csv"


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "chaos"],
    params={"drop_dir": Param("/tmp/airflow-chaos-drop", type="string")},
)
def chaos_late_file():
    @task
    def land_orders(drop_dir: str):
        from pathlib import Path

        path = Path(drop_dir) / "orders.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("order_id,price,qty\n1,9.5,1\n2,20.0,3\n")
        return str(path)

    wait = FileArrivalSensor(task_id="wait_for_orders", path=ORDERS, arrival_sla=2, timeout=8, poke_interval=0.5)
    chaos(wait, faults.HoldBackFile(path=ORDERS, release_after=4), seed=1)

    land_orders("{{ params.drop_dir }}") >> wait
    wait >> AssertDetectedOperator(task_id="assert_detected") >> ChaosRestoreOperator(task_id="restore").as_teardown()


chaos_late_file()
