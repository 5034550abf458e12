"""chaos() and @task.chaos at DAG-parse time: validation, arming in place, serialization unchanged."""

from __future__ import annotations

from datetime import datetime

import pytest

from airflow_chaos import chaos, faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.operators.chaos import ChaosArm, armed_faults


def _dag():
    from airflow.sdk import DAG

    return DAG(dag_id="parse_time", schedule=None, start_date=datetime(2026, 1, 1))


def test_chaos_arms_in_place_and_keeps_the_operator_type():
    from airflow.providers.standard.operators.python import PythonOperator

    with _dag():
        op = PythonOperator(task_id="t", python_callable=lambda: 1)
    cls = type(op)
    same = chaos(op, faults.DropColumn(column="a"), seed=3)
    assert same is op
    assert isinstance(op, PythonOperator)
    assert type(op).__name__ == cls.__name__ and type(op).__module__ == cls.__module__
    assert armed_faults(op) == (faults.DropColumn(column="a"),)
    chaos(op, faults.Delay(seconds=1))
    assert [f.kind for f in armed_faults(op)] == ["drop_column", "delay"]
    assert type(op).__mro__[1] is cls  # armed twice, wrapped once


def test_armed_dag_serializes_like_the_unarmed_one():
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.serialization.serialized_objects import DagSerialization

    with _dag() as plain:
        PythonOperator(task_id="t", python_callable=print)
    with _dag() as armed:
        chaos(PythonOperator(task_id="t", python_callable=print), faults.DropColumn(column="a"))

    def task_of(dag):
        return DagSerialization.serialize_dag(dag)["tasks"][0]["__var"]

    a, b = task_of(plain), task_of(armed)
    assert a["task_type"] == b["task_type"] == "PythonOperator"
    assert a["_task_module"] == b["_task_module"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"probability": 1.5}, "probability"),
        ({"probability": True}, "probability"),
        ({"seed": "seven"}, "seed"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"max_fraction": 0}, "max_fraction"),
    ],
)
def test_bad_wrapper_arguments_fail_at_parse_time(kwargs, field):
    with pytest.raises(ChaosConfigError, match=f"field '{field}'"):
        ChaosArm.build([faults.Delay(seconds=1)], **kwargs)


def test_faults_must_be_fault_objects():
    with pytest.raises(ChaosConfigError, match=r"field 'faults\[0\]'"):
        ChaosArm.build(["drop_column"])
    with pytest.raises(ChaosConfigError, match="field 'faults'"):
        ChaosArm.build([])


def test_chaos_refuses_non_operators():
    with pytest.raises(ChaosConfigError, match="field 'task'"):
        chaos(lambda: 1, faults.Delay(seconds=1))


def test_task_chaos_validates_at_parse_time():
    from airflow.sdk import task

    with _dag(), pytest.raises(ChaosConfigError, match="probability"):

        @task.chaos(faults=[faults.Delay(seconds=1)], probability=2)
        def f():
            return 1

        f()


# ---------------------------------------------------------------------- issue #8 item 4: misuse is a ChaosConfigError naming the field
def _operator():
    from airflow.providers.standard.operators.python import PythonOperator

    with _dag():
        return PythonOperator(task_id="t", python_callable=print)


def test_chaos_with_none_names_the_fault_position():
    with pytest.raises(ChaosConfigError, match=r"field 'faults\[0\]'.*NoneType"):
        chaos(_operator(), None)


@pytest.mark.parametrize(
    ("extra", "field", "hint"),
    [
        (0.5, r"faults\[1\]", "by name"),
        (7, r"faults\[1\]", "by name"),
        ([faults.Delay(seconds=1)], r"faults\[1\]", r"\*faults"),
        ({"kind": "delay", "seconds": 1}, r"faults\[1\]", "from_dict"),
    ],
)
def test_positional_misuse_of_chaos_names_the_field_and_says_what_to_do(extra, field, hint):
    with pytest.raises(ChaosConfigError, match=rf"field '{field}'.*{hint}"):
        chaos(_operator(), faults.DropColumn(column="x"), extra)


@pytest.mark.parametrize("value", [None, 5, "drop_column", {"kind": "delay", "seconds": 1}, faults.Delay])
def test_arm_faults_of_the_wrong_shape_name_the_faults_field(value):
    with pytest.raises(ChaosConfigError, match="field 'faults'"):
        ChaosArm.build(value)


@pytest.mark.parametrize("value", [None, 5, "drop_column"])
def test_task_chaos_with_faults_of_the_wrong_shape_fails_at_parse_time(value):
    from airflow.sdk import task

    with _dag(), pytest.raises(ChaosConfigError, match=r"@task.chaos\(f\): field 'faults"):

        @task.chaos(faults=value)
        def f():
            return 1

        f()


def test_task_chaos_given_a_fault_positionally_names_the_faults_field():
    from airflow.sdk import task

    with _dag(), pytest.raises(ChaosConfigError, match=r"field 'faults'.*by name"):

        @task.chaos(faults.Delay(seconds=1))
        def f():
            return 1

        f()
