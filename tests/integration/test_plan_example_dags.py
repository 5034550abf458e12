"""A plan applied to DAGs this package did not write: the Airflow standard provider's own example DAGs,
unchanged, loaded from their installed files, armed by the ``airflow.policy`` entry point.

In-process (``dag.test()``) and in a real ``airflow dags test`` subprocess, the injections land on
exactly the tasks the plan selects, each recorded with the plan as its source, and nowhere else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import airflow.providers.standard.example_dags as provider_examples
import pytest

from tests.harness import DagRunResult, _collect, _migrate

pytestmark = pytest.mark.integration

EXAMPLES = Path(provider_examples.__file__).parent
BIN = Path(sys.executable).parent

PLAN = """\
version: 1
experiments:
  - name: slow-loop
    select:
      dag_id: example_bash_operator
      task_id: "runme_[02]"
      operator: BashOperator
    faults:
      - kind: delay
        seconds: 0.01
    seed: 7
  - name: short-circuits
    select:
      tags: [example]
      operator: ShortCircuitOperator
      run_type: manual
    faults:
      - kind: delay
        seconds: 0.01
  - name: nowhere
    select:
      dag_id: "no_such_dag_*"
    faults:
      - kind: false_success
"""

# what the plan selects among every example DAG of the provider: nothing else may be armed
SELECTED = {
    ("example_bash_operator", "runme_0"): "plan:plan.yaml#slow-loop",
    ("example_bash_operator", "runme_2"): "plan:plan.yaml#slow-loop",
    ("example_short_circuit_operator", "condition_is_True"): "plan:plan.yaml#short-circuits",
    ("example_short_circuit_operator", "condition_is_False"): "plan:plan.yaml#short-circuits",
    ("example_short_circuit_operator", "short_circuit"): "plan:plan.yaml#short-circuits",
}


@pytest.fixture
def plan_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "true")
    monkeypatch.setenv("AIRFLOW__CHAOS__PLAN", str(plan))
    return plan


@pytest.fixture
def provider_examples_folder(monkeypatch: pytest.MonkeyPatch) -> Path:
    """``dag.test()`` runs DAGs of the configured bundle: make the provider's installed folder that bundle."""
    from airflow import settings

    monkeypatch.setattr(settings, "DAGS_FOLDER", str(EXAMPLES))
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(EXAMPLES))
    return EXAMPLES


def _armed(bag: Any) -> dict[tuple[str, str], str]:
    out = {}
    for dag in bag.dags.values():
        for task in dag.tasks:
            arm = getattr(task, "_chaos_arm", None)
            if arm is not None:
                out[(dag.dag_id, task.task_id)] = ",".join(arm.sources)
    return out


def _run(dag_id: str) -> DagRunResult:
    from airflow.dag_processing.dagbag import DagBag

    _migrate()
    bag = DagBag(dag_folder=str(EXAMPLES / f"{dag_id}.py"))  # the installed file itself, not a copy
    assert not bag.import_errors, bag.import_errors
    dr = bag.dags[dag_id].test()
    states, xcoms = _collect(dag_id, dr.run_id)
    return DagRunResult(dag_id=dag_id, run_id=dr.run_id, state=str(dr.state), task_states=states, xcoms=xcoms)


def _injections(result: DagRunResult) -> dict[str, list[dict[str, Any]]]:
    return {task: value for (task, key), value in result.xcoms.items() if key == "chaos_injections"}


def test_the_plan_arms_exactly_the_selected_tasks_of_every_provider_example_dag(plan_on):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(EXAMPLES))
    assert len(bag.dags) > 20  # every example DAG of the provider was parsed (and went through the policy)
    assert _armed(bag) == SELECTED
    bash = bag.dags["example_bash_operator"]
    assert type(bash.get_task("runme_0")).__name__ == "BashOperator"
    assert type(bash.get_task("runme_0")).__module__ == "airflow.providers.standard.operators.bash"


def test_without_the_switch_the_same_plan_arms_nothing(plan_on, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "false")
    assert _armed(DagBag(dag_folder=str(EXAMPLES))) == {}


def test_dag_test_records_injections_on_exactly_the_selected_tasks(plan_on, provider_examples_folder):
    bash = _run("example_bash_operator")
    assert bash.state == "success"
    records = _injections(bash)
    assert sorted(records) == ["runme_0", "runme_2"]
    for task_id, recs in records.items():
        assert [(r["kind"], r["status"], r["source"]) for r in recs] == [("delay", "injected", "plan:plan.yaml#slow-loop")]
        assert recs[0]["task_id"] == task_id and recs[0]["outcome"] == "success"
        assert recs[0]["changes"]["delayed_seconds"] >= 0.01
    assert bash.task_states["runme_1"] == "success"  # selected by dag and operator, not by the task glob

    short = _run("example_short_circuit_operator")
    records = _injections(short)
    assert sorted(records) == ["condition_is_False", "condition_is_True", "short_circuit"]
    for recs in records.values():  # run_type [manual] is checked at run time: dag.test makes a manual run
        assert [(r["status"], r["source"]) for r in recs] == [("injected", "plan:plan.yaml#short-circuits")]
    assert short.task_states["false_1"] == "skipped"  # the DAG behaves as it always did: the delay is harmless


def test_airflow_dags_test_arms_through_the_entry_point(plan_on, airflow_home):
    import importlib.metadata

    assert [e.value for e in importlib.metadata.entry_points(group="airflow.policy")] == ["airflow_chaos.policy"]
    assert not list(Path(airflow_home).rglob("airflow_local_settings.py"))  # nothing registers it by hand
    _migrate()
    env = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES),
        "AIRFLOW__CHAOS__ENABLED": "true",
        "AIRFLOW__CHAOS__PLAN": os.environ["AIRFLOW__CHAOS__PLAN"],
    }
    date = datetime(2026, 3, 1, tzinfo=timezone.utc)
    out = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "example_bash_operator", date.isoformat()],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id="example_bash_operator", logical_date=date).one()
        run_id = run.run_id
    _, xcoms = _collect("example_bash_operator", run_id)
    records = {task: value for (task, key), value in xcoms.items() if key == "chaos_injections"}
    assert sorted(records) == ["runme_0", "runme_2"]
    assert {r["source"] for recs in records.values() for r in recs} == {"plan:plan.yaml#slow-loop"}
    assert all(r["status"] == "injected" for recs in records.values() for r in recs)
