"""A stand-in for the Airflow task runtime, enough to drive the chaos wrapper (``ArmedRun``) in-process.

Only what the wrapper touches is modelled: the task instance's ids, its XCom store (push and pull by
task id), ``get_dr_count`` for the preflight, and the DAG's task ids. The task itself is a real
``PythonOperator``, so Jinja rendering of fault templates is Airflow's own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_chaos.operators.chaos import ArmedRun, ChaosArm


@dataclass
class FakeTaskInstance:
    dag_id: str = "dag"
    run_id: str = "manual__2026-01-01"
    task_id: str = "produce"
    map_index: int = -1
    try_number: int = 1
    store: dict[tuple[str, str], Any] = field(default_factory=dict)
    active_runs: int = 0

    def xcom_push(self, key: str, value: Any) -> None:
        self.store[(self.task_id, key)] = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", map_indexes: Any = None) -> Any:
        if isinstance(task_ids, str):
            return self.store.get((task_ids, key))
        return [self.store[(t, key)] for t in task_ids if (t, key) in self.store]

    def get_dr_count(self, **_: Any) -> int:
        return self.active_runs


@dataclass
class FakeDag:
    task_ids: list[str]


def make_task(task_id: str = "produce") -> Any:
    from airflow.providers.standard.operators.python import PythonOperator

    return PythonOperator(task_id=task_id, python_callable=lambda: None)


def context(ti: FakeTaskInstance | None = None, task_ids: list[str] | None = None) -> dict[str, Any]:
    ti = ti or FakeTaskInstance()
    return {"ti": ti, "dag": FakeDag(task_ids or [ti.task_id]), "ds": "2026-01-01"}


def armed_run(*faults: Any, ctx: dict[str, Any] | None = None, **arm: Any) -> ArmedRun:
    """An ``ArmedRun`` of a real operator under ``faults``, on the fake runtime."""
    ctx = ctx or context()
    return ArmedRun(make_task(ctx["ti"].task_id), ctx, ChaosArm.build(list(faults), **arm))


def run(*faults: Any, execute: Callable[[Any], Any], ctx: dict[str, Any] | None = None, **arm: Any) -> Any:
    """Run ``execute`` armed with ``faults``; returns (result or raised exception, pushed injection records)."""
    ctx = ctx or context()
    runner = armed_run(*faults, ctx=ctx, **arm)
    try:
        outcome: Any = runner.run(execute)
    except Exception as exc:  # the test inspects what the task raised
        outcome = exc
    return outcome, ctx["ti"].store.get((ctx["ti"].task_id, "chaos_injections"))
