"""A worker killed with SIGKILL in the middle of an injection, and what puts the world back.

``land`` writes the input file once (never over an existing one: a mutation left behind stays
visible). ``consume`` is armed with ``CorruptBytes(when="before")``: chaos corrupts its input,
journaled, then the task works for ``params.work_seconds``, the window in which the test kills the
process that runs it. No teardown here on purpose: what restores the file is the next run's
preflight (``consume`` of that run undoes what finished runs left) or ``airflow-chaos restore``.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from airflow_chaos import chaos, faults

INPUT = "{{ params.data }}/sigkill/input.csv"


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["e2e", "chaos"],
    params={
        "data": Param("/tmp/chaos-e2e-data", type="string"),
        "work_seconds": Param(0, type="number"),
    },
)
def e2e_sigkill():
    @task
    def land(path: str) -> None:
        from pathlib import Path

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_text("id,value\n" + "".join(f"{i},{i * i}\n" for i in range(500)))

    @task(queue="worker_a")
    def consume() -> None:
        import os
        import time
        from pathlib import Path

        params = get_current_context()["params"]
        Path(params["data"], "sigkill", "working.pid").write_text(str(os.getpid()))
        time.sleep(float(params["work_seconds"]))

    work = consume()
    chaos(work, faults.CorruptBytes(path=INPUT, n_bytes=16, when="before"))
    land(INPUT) >> work


e2e_sigkill()
