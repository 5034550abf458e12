"""Journals across Celery workers: a fault journaled on one worker, undone on the other.

Tasks are pinned to the two workers' queues (``worker_a``, ``worker_b``; each worker has its own
``AIRFLOW_HOME`` and scratch directory and shares only the data directory and the chaos journal).

- ``e2e_cross_worker_teardown``: ``inject`` on worker_a corrupts the shared file (journaled);
  ``read_back`` on worker_b sees the corruption; the ``restore`` teardown on worker_b puts it back.
- ``e2e_cross_worker_preflight``: ``probe`` on worker_b is an armed task, so its preflight undoes
  what finished runs of the DAG left behind; ``inject`` on worker_a corrupts the file and there is no
  teardown: with ``params.crash`` the run then fails, leaving the corruption for the next run.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import ChaosRestoreOperator, InjectFaultOperator

PARAMS = {"data": Param("/tmp/chaos-e2e-data", type="string"), "crash": Param(False, type="boolean")}


@task(queue="worker_b")
def read_back(path: str) -> str:
    import hashlib
    from pathlib import Path

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _land(path: str) -> str:
    import hashlib
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_text("id,value\n" + "".join(f"{i},{i % 7}\n" for i in range(300)))
    return hashlib.sha256(target.read_bytes()).hexdigest()


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["e2e", "chaos"], params=PARAMS)
def e2e_cross_worker_teardown():
    path = "{{ params.data }}/cross_worker/teardown.csv"
    land = task(queue="worker_a", task_id="land")(_land)(path)
    inject = InjectFaultOperator(task_id="inject", queue="worker_a", faults=[faults.CorruptBytes(path=path, n_bytes=8)])
    restore = ChaosRestoreOperator(task_id="restore", queue="worker_b").as_teardown()
    land >> inject >> read_back(path) >> restore


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["e2e", "chaos"], params=PARAMS)
def e2e_cross_worker_preflight():
    path = "{{ params.data }}/cross_worker/preflight.csv"

    @task(queue="worker_b")
    def probe() -> None:
        """Armed with a fault that changes nothing that matters: what counts is its preflight."""

    armed_probe = probe()
    chaos(armed_probe, faults.Delay(seconds=0.1))
    land = task(queue="worker_b", task_id="land")(_land)(path)
    inject = InjectFaultOperator(task_id="inject", queue="worker_a", faults=[faults.CorruptBytes(path=path, n_bytes=8)])

    @task(queue="worker_b")
    def maybe_crash() -> None:
        if get_current_context()["params"]["crash"]:
            raise RuntimeError("crash requested: this run ends before anything restores its mutation")

    armed_probe >> land >> inject >> maybe_crash()


e2e_cross_worker_teardown()
e2e_cross_worker_preflight()
