"""DESIGN §5.6 through real Airflow (dag.test on SQLite): a chaos-engine failure never touches the task.

tests/integration/test_safety_dags.py covers a fault failing in the ``after`` phase. Here a
test-only fault fails in each other phase (``before``; ``around`` on the way in and on the way out;
``instead`` before and after running the work), one fault's template does not render, and the
preflight's journal read fails. Every task must succeed with its own return value, run its work
exactly once, and record the injection as ``error``; ``assert_detected`` reports INJECTION_ERROR.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

PHASES_SOURCE = '''
import contextlib
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.faults.base import Fault
from airflow_chaos.operators import AssertDetectedOperator

COUNTER = {counter!r}


class BrokenBefore(Fault):
    kind = "test_dag_broken_before"
    signals = ("freshness",)
    phase = "before"

    def before(self, ctx):
        raise ZeroDivisionError("before: bug inside the chaos engine")


class BrokenAroundEnter(Fault):
    kind = "test_dag_broken_around_enter"
    signals = ("api",)
    phase = "around"

    def around(self, ctx):
        raise ZeroDivisionError("around (entering): bug inside the chaos engine")


class BrokenAroundExit(Fault):
    kind = "test_dag_broken_around_exit"
    signals = ("api",)
    phase = "around"

    @contextlib.contextmanager
    def around(self, ctx):
        yield
        raise ZeroDivisionError("around (leaving): bug inside the chaos engine")


class BrokenInstead(Fault):
    kind = "test_dag_broken_instead"
    signals = ("volume",)
    phase = "instead"

    def instead(self, call, ctx):
        raise ZeroDivisionError("instead: bug inside the chaos engine")


class BrokenInsteadAfterWork(Fault):
    kind = "test_dag_broken_instead_after_work"
    signals = ("volume",)
    phase = "instead"

    def instead(self, call, ctx):
        call()
        raise ZeroDivisionError("instead (after the work): bug inside the chaos engine")


def work(name):
    with open(COUNTER, "a") as fh:
        fh.write(name + "\\n")
    return {{"task": name, "rows": [1, 2, 3]}}


@dag(dag_id="engine_phases", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def before_bug():
        return work("before_bug")

    @task
    def around_enter_bug():
        return work("around_enter_bug")

    @task
    def around_exit_bug():
        return work("around_exit_bug")

    @task
    def instead_bug():
        return work("instead_bug")

    @task
    def instead_after_work_bug():
        return work("instead_after_work_bug")

    @task
    def template_bug():
        return work("template_bug")

    armed = [
        chaos(before_bug(), BrokenBefore()),
        chaos(around_enter_bug(), BrokenAroundEnter()),
        chaos(around_exit_bug(), BrokenAroundExit()),
        chaos(instead_bug(), BrokenInstead()),
        chaos(instead_after_work_bug(), BrokenInsteadAfterWork()),
        chaos(template_bug(), faults.DropColumn(column="rows", path="/tmp/{{{{ 1 // 0 }}}}.csv")),
    ]
    armed >> AssertDetectedOperator(task_id="assert_detected")


build()
'''

TASKS = {
    "before_bug": ("test_dag_broken_before", "ZeroDivisionError: before:"),
    "around_enter_bug": ("test_dag_broken_around_enter", "ZeroDivisionError: around (entering):"),
    "around_exit_bug": ("test_dag_broken_around_exit", "ZeroDivisionError: around (leaving):"),
    "instead_bug": ("test_dag_broken_instead", "ZeroDivisionError: instead:"),
    "instead_after_work_bug": ("test_dag_broken_instead_after_work", "ZeroDivisionError: instead (after the work):"),
    "template_bug": ("drop_column", "rendering ['path'] failed: ZeroDivisionError"),
}


def test_an_engine_failure_in_every_phase_leaves_the_task_untouched(dag_runner, chaos_on, tmp_path):
    counter = tmp_path / "calls.txt"
    path = dag_runner.write("engine_phases", PHASES_SOURCE.format(counter=str(counter)))
    result = dag_runner.run(path, "engine_phases")

    calls = counter.read_text().splitlines()
    for task_id, (kind, error) in TASKS.items():
        assert result.task_states[task_id] == "success", task_id
        assert result.xcom(task_id) == {"task": task_id, "rows": [1, 2, 3]}, task_id
        assert calls.count(task_id) == 1, f"{task_id} ran its work {calls.count(task_id)} times"
        (rec,) = result.xcom(task_id, "chaos_injections")
        assert rec["kind"] == kind and rec["status"] == "error", task_id
        assert rec["error"].startswith(error), (task_id, rec["error"])
    assert result.verdicts() == {f"{t}:{kind}": "INJECTION_ERROR" for t, (kind, _) in TASKS.items()}
    assert result.task_states["assert_detected"] == "failed"


PREFLIGHT_SOURCE = """
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults


@dag(dag_id="preflight_fails", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def table():
        import pandas as pd

        return pd.DataFrame({"y": [1, 2], "z": [3, 4]})

    chaos(table(), faults.DropColumn(column="y"))


build()
"""


def test_a_failing_preflight_is_logged_and_the_run_goes_on(dag_runner, chaos_on, monkeypatch):
    """What is simulated: the journal store failing on read (``Journal.pending`` raising OSError)."""
    from airflow_chaos.experiment.journal import Journal

    reads: list[str] = []

    def unreachable(self, **match):
        reads.append(str(match.get("dag_id")))
        raise OSError("journal store unreachable")

    monkeypatch.setattr(Journal, "pending", unreachable)
    result = dag_runner.run(dag_runner.write("preflight_fails", PREFLIGHT_SOURCE), "preflight_fails")
    assert reads == ["preflight_fails"], "the preflight did not read the journal"
    assert result.task_states["table"] == "success"
    assert list(result.xcom("table").columns) == ["z"]
    (rec,) = result.xcom("table", "chaos_injections")
    assert rec["status"] == "injected" and rec["changes"]["columns_dropped"] == ["y"]
