"""Two runs at once, each with its own seed and sandbox: does either touch the other's files or journal?

``land`` writes the same orders file into the run's sandbox (``params.sandbox`` under
``params.data``); ``inject`` corrupts 16 of its bytes, journaled, at positions drawn from the run's
seed (no seed is given, so the run id decides: two runs differ); ``hold`` waits until the test
drops ``release`` in the data directory, so both runs are mid-experiment together; ``read_back``
returns the checksum the run sees; ``restore`` (a teardown) undoes this run's mutations only.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task

from airflow_chaos import faults
from airflow_chaos.operators import ChaosRestoreOperator, InjectFaultOperator

ORDERS = "{{ params.data }}/{{ params.sandbox }}/orders.csv"


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=2,
    tags=["e2e", "chaos"],
    params={"data": Param("/tmp/chaos-e2e-data", type="string"), "sandbox": Param("a", type="string")},
)
def e2e_seeded_sandboxes():
    @task
    def land(path: str) -> str:
        import hashlib
        from pathlib import Path

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("order_id,amount\n" + "".join(f"{i},{i * 1.5:.2f}\n" for i in range(200)))
        return hashlib.sha256(target.read_bytes()).hexdigest()

    inject = InjectFaultOperator(task_id="inject", faults=[faults.CorruptBytes(path=ORDERS, n_bytes=16)])

    @task.sensor(poke_interval=1, timeout=600, mode="poke")
    def hold(data: str) -> bool:
        from pathlib import Path

        return (Path(data) / "release").exists()

    @task
    def read_back(path: str) -> str:
        import hashlib
        from pathlib import Path

        return hashlib.sha256(Path(path).read_bytes()).hexdigest()

    landed = land(ORDERS)
    (
        landed
        >> inject
        >> hold("{{ params.data }}")
        >> read_back(ORDERS)
        >> ChaosRestoreOperator(task_id="restore").as_teardown()
    )


e2e_seeded_sandboxes()
