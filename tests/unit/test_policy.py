"""The cluster policy (airflow_chaos/policy.py) through real DagBags: what it arms, when it stays inert,
the serialized DAG it leaves unchanged, a broken plan as an import error, a changed plan reloaded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from airflow_chaos import faults, policy

DAGS = '''
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

from airflow_chaos import chaos, faults

with DAG("plan_orders", schedule=None, start_date=datetime(2026, 1, 1), tags=["ml", "nightly"]):
    extract = BashOperator(task_id="extract", bash_command="echo 1")

    @task
    def transform(rows):
        return rows

    @task
    def each(x):
        return x

    chaos(transform(extract.output), faults.DropColumn(column="price"), seed=3)
    each.expand(x=[1, 2])
    EmptyOperator(task_id="load")
    for i in range(6):
        BashOperator(task_id=f"shard_{i}", bash_command="echo 1")

with DAG("plan_billing", schedule=None, start_date=datetime(2026, 1, 1), tags=["finance"]):
    BashOperator(task_id="extract", bash_command="echo 1")
'''

PLAN = """\
version: 1
experiments:
  - name: ml
    select:
      tags: [ml]
      task_id: [extract, transform, each]
    faults:
      - kind: delay
        seconds: 0.01
    probability: 0.5
    seed: 11
"""


@pytest.fixture
def dag_file(tmp_path: Path) -> Path:
    path = tmp_path / "dags" / "plan_dags.py"
    path.parent.mkdir()
    path.write_text(DAGS)
    return path


@pytest.fixture
def plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "true")
    monkeypatch.setenv("AIRFLOW__CHAOS__PLAN", str(path))
    return path


def _bag(path: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(path))


def _armed(bag: Any) -> dict[str, tuple[str, ...]]:
    return {
        f"{dag.dag_id}.{t.task_id}": t._chaos_arm.sources
        for dag in bag.dags.values()
        for t in dag.tasks
        if getattr(t, "_chaos_arm", None) is not None
    }


def test_the_policy_is_registered_through_the_entry_point_in_airflows_plugin_manager():
    import importlib.metadata

    from airflow import settings

    (entry,) = importlib.metadata.entry_points(group="airflow.policy", name="airflow_chaos")
    assert entry.value == "airflow_chaos.policy"
    plugins = settings.get_policy_plugin_manager().get_plugins()
    assert policy in plugins  # loaded by Airflow itself, not by this test


def test_a_plan_arms_the_selected_tasks_and_keeps_the_codes_faults(dag_file, plan):
    bag = _bag(dag_file)
    assert not bag.import_errors
    assert _armed(bag) == {
        "plan_orders.extract": ("plan:plan.yaml#ml",),
        "plan_orders.transform": ("code", "plan:plan.yaml#ml"),  # armed in code too: both lists
    }  # "each" is mapped (not armable), plan_billing lacks the tag
    transform = bag.dags["plan_orders"].get_task("transform")
    members = [(f, a.source, a.probability, a.seed) for f, a in transform._chaos_arm.members()]
    assert members == [
        (faults.DropColumn(column="price"), "code", 1.0, 3),
        (faults.Delay(seconds=0.01), "plan:plan.yaml#ml", 0.5, 11),
    ]
    extract = bag.dags["plan_orders"].get_task("extract")
    assert (type(extract).__name__, type(extract).__module__) == (
        "BashOperator",
        "airflow.providers.standard.operators.bash",
    )


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("AIRFLOW__CHAOS__ENABLED", "false"),
        ("AIRFLOW__CHAOS__PLAN", ""),
        ("AIRFLOW__CHAOS__ENVIRONMENT", "prod"),
    ],
)
def test_without_the_switch_a_plan_or_an_allowed_environment_nothing_is_armed(dag_file, plan, monkeypatch, env, value):
    monkeypatch.setenv(env, value)
    assert _armed(_bag(dag_file)) == {"plan_orders.transform": ("code",)}


def test_an_experiments_environments_and_enabled_are_honoured(dag_file, plan, monkeypatch):
    plan.write_text(PLAN + "    environments: [staging]\n")
    assert "plan_orders.extract" not in _armed(_bag(dag_file))
    monkeypatch.setenv("AIRFLOW__CHAOS__ENVIRONMENT", "staging")
    assert "plan_orders.extract" in _armed(_bag(dag_file))
    plan.write_text(PLAN + "    enabled: false\n")
    assert "plan_orders.extract" not in _armed(_bag(dag_file))


def test_arming_leaves_the_serialized_dag_unchanged(dag_file, plan, monkeypatch):
    from airflow.serialization.serialized_objects import DagSerialization

    def serialized(bag: Any) -> dict[str, Any]:
        data = DagSerialization.to_dict(bag.dags["plan_orders"])
        return {k: v for k, v in data["dag"].items() if k not in ("fileloc", "last_loaded")}

    armed = serialized(_bag(dag_file))
    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "false")
    plain = serialized(_bag(dag_file))
    assert armed == plain
    assert armed["tasks"] and len(armed["tasks"]) == len(plain["tasks"])


def test_max_tasks_per_run_arms_the_same_tasks_in_every_parse(dag_file, plan):
    plan.write_text(PLAN.replace("task_id: [extract, transform, each]", "task_id: 'shard_*'") + "    max_tasks_per_run: 2\n")
    first, second = _armed(_bag(dag_file)), _armed(_bag(dag_file))
    shards = sorted(k for k in first if ".shard_" in k)
    assert len(shards) == 2 and first == second


def test_parsing_a_task_again_arms_it_once(dag_file, plan):
    bag = _bag(dag_file)
    extract = bag.dags["plan_orders"].get_task("extract")
    policy.task_policy(extract)
    assert len(extract._chaos_arm.members()) == 1


def test_a_broken_plan_is_an_import_error_naming_file_line_and_field(dag_file, plan):
    plan.write_text(PLAN.replace("seconds: 0.01", "seconds: soon"))
    bag = _bag(dag_file)
    assert bag.dags == {}
    (error,) = bag.import_errors.values()
    assert f"{plan}:9: field 'experiments[0].faults[0].seconds': Input should be a valid number" in str(error)


def test_an_unreachable_plan_url_is_an_import_error(dag_file, plan, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__PLAN", "nosuchscheme://bucket/plan.yaml")
    (error,) = _bag(dag_file).import_errors.values()
    assert "[chaos] plan: cannot read the plan file 'nosuchscheme://bucket/plan.yaml'" in str(error)


def test_a_missing_plan_file_is_an_import_error(dag_file, plan):
    plan.unlink()
    (error,) = _bag(dag_file).import_errors.values()
    assert f"[chaos] plan: cannot read the plan file {str(plan)!r}: No such file or directory" in str(error)


def test_an_edited_plan_is_read_again(dag_file, plan):
    assert "plan_orders.extract" in _armed(_bag(dag_file))
    plan.write_text(PLAN.replace("task_id: [extract, transform, each]", "task_id: load"))
    os.utime(plan, ns=(plan.stat().st_mtime_ns + 10**9,) * 2)
    armed = _armed(_bag(dag_file))
    assert "plan_orders.extract" not in armed and "plan_orders.load" in armed


def test_a_plan_at_an_object_storage_url(dag_file, plan, monkeypatch):
    import fsspec
    from airflow.sdk import ObjectStoragePath
    from airflow.sdk.io import attach

    attach("memory", fs=fsspec.filesystem("memory"))  # an object store without a server (no S3 here)
    url = "memory://chaos-test-plans/plan.yaml"
    ObjectStoragePath(url).write_text(PLAN.replace("task_id: [extract, transform, each]", "task_id: load"))
    monkeypatch.setenv("AIRFLOW__CHAOS__PLAN", url)
    assert _armed(_bag(dag_file))["plan_orders.load"] == ("plan:plan.yaml#ml",)


def test_a_dag_no_experiment_selects_costs_microseconds_per_task(dag_file, plan):
    """CPU time, with the per-DAG work redone each pass; bench/plan.py measures 200 DAGs x 20 tasks."""
    import time

    tasks = _bag(dag_file).dags["plan_billing"].tasks * 50
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for task in tasks:
            policy._Last.dag = None  # as if each task were the first of a new DAG: settings, plan version, selection
            policy.task_policy(task)
        best = min(best, (time.process_time() - started) / len(tasks))
    assert best < 20e-6, f"{best * 1e6:.1f} us per task"
