"""What the plan policy costs when Airflow parses a DAG folder of 200 DAGs x 20 tasks (4000 tasks).

``task_policy`` runs for every task of every DAG bagged (DAG processor, each task's runner). Measured:

1. Per task, the policy as ``DagBag.bag_dag`` calls it (DAG after DAG, task after task, fresh DAG
   objects each repeat; min of repeats): without a plan (``[chaos] plan`` unset), with a plan none of
   whose selectors match (goal: under 20 microseconds), with a plan arming one task in ten DAGs, and
   with a plan arming every task. Floor: Airflow's own dispatch of a policy hook through pluggy
   (``airflow.settings.task_policy``) with nothing registered but Airflow's default policy.
2. The whole ``DagBag`` parse of the folder, without and with the non-matching plan, interleaved (the
   difference per task is within the parse's noise: the comparison for the record, not the goal).

Times are CPU time of this process (``time.process_time``): on a shared machine, wall time mostly
measures the other processes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

DAGS, TASKS, REPEATS = 200, 20, 3
HOME = Path(tempfile.mkdtemp(prefix="chaos-bench-plan-"))
FOLDER = HOME / "dags"

DAG_FILE = '''
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("bench_{i:03d}", schedule=None, start_date=datetime(2026, 1, 1), tags=["bench", "team_{team}"]) as dag:
    previous = None
    for t in range({tasks}):
        task = BashOperator(task_id=f"step_{{t:02d}}", bash_command="echo 1")
        if previous is not None:
            previous >> task
        previous = task
'''

PLANS = {
    "no selector matches": """
        version: 1
        experiments:
          - name: other-dags
            select: {dag_id: "ml_*", task_id: "train*"}
            faults: [{kind: delay, seconds: 1}]
          - name: other-tags
            select: {tags: [finance]}
            faults: [{kind: inject_nulls, column: qty, fraction: 0.1}]
          - name: other-operators
            select: {operator: [PythonOperator, "@task"]}
            faults: [{kind: false_success}]
    """,
    "1 task in 10 DAGs armed": """
        version: 1
        experiments:
          - name: one-team
            select: {tags: [team_3], task_id: step_07}
            faults: [{kind: delay, seconds: 1}]
    """,
    "every task armed": """
        version: 1
        experiments:
          - name: all
            select: {dag_id: "bench_*"}
            faults: [{kind: delay, seconds: 1}]
    """,
}


def _setup() -> None:
    FOLDER.mkdir(parents=True)
    for i in range(DAGS):
        (FOLDER / f"bench_{i:03d}.py").write_text(DAG_FILE.format(i=i, team=i % 10, tasks=TASKS))
    os.environ.update(
        AIRFLOW_HOME=str(HOME),
        AIRFLOW__CORE__DAGS_FOLDER=str(FOLDER),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="True",
        AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
    )
    for name in ("AIRFLOW__CHAOS__ENABLED", "AIRFLOW__CHAOS__PLAN", "AIRFLOW__CHAOS__ENVIRONMENT"):
        os.environ.pop(name, None)


def _fresh_dags() -> list[Any]:
    """The folder's DAGs as new objects (executing each file, as the DAG processor does), not yet bagged."""
    from airflow.sdk import DAG

    dags = []
    for path in sorted(FOLDER.glob("*.py")):
        namespace: dict[str, Any] = {"__name__": f"bench_{path.stem}"}
        exec(compile(path.read_text(), str(path), "exec"), namespace)  # our own generated files
        dags += [v for v in namespace.values() if isinstance(v, DAG)]
    return dags


def _use(plan: str | None) -> None:
    from airflow_chaos import policy

    policy.reset()
    if plan is None:
        os.environ.pop("AIRFLOW__CHAOS__PLAN", None)
        os.environ.pop("AIRFLOW__CHAOS__ENABLED", None)
        return
    path = HOME / f"plan-{abs(hash(plan))}.yaml"
    path.write_text(textwrap.dedent(plan))
    os.environ["AIRFLOW__CHAOS__ENABLED"] = "true"
    os.environ["AIRFLOW__CHAOS__PLAN"] = str(path)


def per_task(hook: Any, *, arms: bool = False) -> float:
    """Seconds per task of ``hook`` called as bag_dag calls the policy, DAG after DAG: min over passes.

    A plan that arms tasks is timed on fresh DAG objects each pass (arming twice is skipped); otherwise
    the same objects serve every pass, with the policy's per-DAG memory cleared, as for new DAGs.
    """
    import gc

    from airflow_chaos import policy

    best, dags = float("inf"), _fresh_dags()
    n = sum(len(d.tasks) for d in dags)
    for _ in range(REPEATS if arms else 5 * REPEATS):
        dags = _fresh_dags() if arms else dags
        policy._Last.dag = None
        gc.disable()
        started = time.process_time()  # CPU time: other processes on this shared machine do not count
        for dag in dags:
            for task in dag.tasks:
                hook(task)
        best = min(best, (time.process_time() - started) / n)
        gc.enable()
    return best


def armed_count() -> int:
    return sum(getattr(t, "_chaos_arm", None) is not None for d in _fresh_dags_bagged() for t in d.tasks)


def _fresh_dags_bagged() -> list[Any]:
    from airflow_chaos import policy

    dags = _fresh_dags()
    for dag in dags:
        for task in dag.tasks:
            policy.task_policy(task)
    return dags


def parse_seconds(plan: str | None) -> float:
    from airflow.dag_processing.dagbag import DagBag

    _use(plan)
    started = time.process_time()
    bag = DagBag(dag_folder=str(FOLDER))
    assert len(bag.dags) == DAGS and not bag.import_errors, bag.import_errors
    return time.process_time() - started


def main() -> int:
    _setup()
    from airflow import settings

    from airflow_chaos import policy

    n = DAGS * TASKS
    print(f"policy cost per task (CPU time): {DAGS} DAGs x {TASKS} tasks = {n} tasks, min of {5 * REPEATS} passes "
          f"({REPEATS} over fresh DAGs when the plan arms tasks)")
    _use(None)
    floor = per_task(settings.task_policy) - per_task(policy.task_policy)  # pluggy dispatch, every hook
    print(f"  Airflow's dispatch of the policy hooks (pluggy)     {floor * 1e6:7.2f} us  (floor: paid with or without us)")
    off = per_task(policy.task_policy)
    print(f"  no plan ([chaos] plan unset)                        {off * 1e6:7.2f} us")
    results = {}
    for label, plan in PLANS.items():
        _use(plan)
        results[label] = per_task(policy.task_policy, arms=label != "no selector matches")
        goal = "  goal < 20 us" if label == "no selector matches" else ""
        print(f"  plan, {label:<44}{results[label] * 1e6:7.2f} us  ({armed_count()} armed){goal}")
    bare, planned = float("inf"), float("inf")
    for _ in range(3):  # interleaved, so both see the same load
        bare = min(bare, parse_seconds(None))
        planned = min(planned, parse_seconds(PLANS["no selector matches"]))
    print(f"DagBag parse of the folder (CPU time), min of 3 interleaved: no plan {bare:.2f} s ({bare / n * 1e6:.0f} us per task), "
          f"plan with no match {planned:.2f} s ({(planned - bare) / n * 1e6:+.1f} us per task; noisy on a shared machine)")
    ok = results["no selector matches"] < 20e-6
    print("goal met" if ok else "GOAL MISSED: no-match cost >= 20 us per task")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
