"""The DAG ``chaos_matrix`` builds (issue #11), without running it: a task group per scenario and one for
the control, independent of each other (the scheduler runs them in parallel), every scenario's faults
armed on its own tasks only, one assertion over all with the plan, a restore teardown,
``max_active_runs=1`` and no catchup; bad arguments name the field."""

from __future__ import annotations

import pytest

from airflow_chaos import chaos_matrix, faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.operators.chaos import armed_faults

SCENARIOS = {
    "nulls": {"transform": faults.InjectNulls(column="qty", fraction=0.2)},
    "late": lambda sb: {"extract": [faults.Delay(seconds=1), faults.TruncateFile(path=sb.path("raw.csv"), keep_fraction=0.5)]},
}


def pipeline(sandbox):
    from airflow.providers.standard.operators.empty import EmptyOperator

    extract = EmptyOperator(task_id="extract")
    transform = EmptyOperator(task_id="transform")
    validate = EmptyOperator(task_id="validate")
    extract >> transform >> validate
    pipeline.seen.append(sandbox)


pipeline.seen = []


def build(**kwargs):
    pipeline.seen.clear()
    return chaos_matrix(pipeline, kwargs.pop("scenarios", SCENARIOS), dag_id="suite", sandbox_root="/srv/chaos", **kwargs)


def test_one_group_per_scenario_and_the_control_each_with_its_own_sandbox():
    dag = build(schedule="@weekly", seed=5, steady_state=["validate"])
    assert sorted(dag.task_group_dict) == ["control", "late", "nulls"]
    assert [s.scenario for s in pipeline.seen] == ["control", "nulls", "late"]
    assert [s.data_dir for s in pipeline.seen] == ["/srv/chaos/suite/control", "/srv/chaos/suite/nulls", "/srv/chaos/suite/late"]
    assert pipeline.seen[0].control and not pipeline.seen[1].control
    assert dag.max_active_runs == 1 and dag.catchup is False


def test_groups_do_not_depend_on_each_other_and_one_assertion_judges_them_all():
    dag = build()
    for task_id, task in dag.task_dict.items():
        group = task_id.split(".")[0]
        if task_id in {"assert_detected", "chaos_restore"}:
            continue
        assert all(up.split(".")[0] == group for up in task.upstream_task_ids), task_id
    judge = dag.task_dict["assert_detected"]
    assert judge.upstream_task_ids == {"control.validate", "nulls.validate", "late.validate"}
    assert dag.task_dict["chaos_restore"].is_teardown and judge.trigger_rule == "all_done"


def test_each_scenarios_faults_arm_its_own_tasks_only_and_the_plan_records_them():
    dag = build(seed=5)
    armed = {t: [f.kind for f in armed_faults(task)] for t, task in dag.task_dict.items() if armed_faults(task)}
    assert armed == {"nulls.transform": ["inject_nulls"], "late.extract": ["delay", "truncate_file"]}
    assert dag.task_dict["late.extract"].__class__.__name__ == "EmptyOperator"
    plan = dag.task_dict["assert_detected"].plan
    assert [(s.name, s.control, [f.task for f in s.faults], s.seed) for s in plan.scenarios] == [
        ("control", True, [], 5),
        ("nulls", False, ["transform"], 5),
        ("late", False, ["extract", "extract"], 5),
    ]
    assert plan.scenarios[2].faults[1].fault["path"] == "/srv/chaos/suite/late/raw.csv"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scenarios": {"x": {"load": faults.Delay(seconds=1)}}}, r"scenarios\['x'\]: no task 'load' in the pipeline; its tasks: extract, transform, validate"),
        ({"steady_state": ["check"]}, r"field 'steady_state': no task\(s\) \['check'\] in the pipeline"),
        ({"max_active_runs": 3}, r"field 'max_active_runs' must be 1 \(got 3\): every run reuses the scenarios' sandboxes"),
        ({"catchup": True}, r"field 'catchup' must be False"),
        ({"scenarios": {"control": SCENARIOS["nulls"]}}, r"'control' is the control's name"),
        ({"signal_weights": "schema=x"}, r"field 'signal_weights': the weight of 'schema' must be a number"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(kwargs, message):
    with pytest.raises(ChaosConfigError, match=message):
        build(**kwargs)
