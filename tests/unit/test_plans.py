"""Plan files (airflow_chaos/plans.py): loading with line numbers, one-line errors, selectors, caps, gates, schema."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from airflow_chaos import faults
from airflow_chaos.plans import (
    RUN_TYPES,
    ExperimentGate,
    PlanError,
    Window,
    check_glob,
    parse_plan,
    plan_json_schema,
    read_plan,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example_dags" / "plans" / "quickstart.yaml"

BASE = """\
version: 1
experiments:
  - name: nulls
    select:
      dag_id: orders_*
      task_id: extract
    faults:
      - kind: inject_nulls
        column: qty
        fraction: 0.5
    seed: 7
"""


def _plan(text: str = BASE, name: str = "plans/p.yaml"):
    return parse_plan(textwrap.dedent(text), name)


def _error(text: str) -> str:
    with pytest.raises(PlanError) as info:
        _plan(text)
    return str(info.value)


# ---------------------------------------------------------------------- a valid plan
def test_a_valid_plan_builds_the_faults_with_their_models_and_names_each_source():
    loaded = _plan()
    (compiled,) = loaded.experiments
    assert compiled.faults == (faults.InjectNulls(column="qty", fraction=0.5),)
    assert compiled.source == "plan:p.yaml#nulls"
    assert compiled.experiment.seed == 7 and compiled.experiment.probability == 1.0
    assert compiled.gate is None  # no window, run type or daily cap: nothing to check at run time
    assert loaded.fault_count == 1


def test_the_example_plan_is_valid():
    loaded = read_plan(str(EXAMPLE))
    assert [e.experiment.name for e in loaded.experiments] == ["blind-validator"]
    assert loaded.experiments[0].faults == (faults.FalseSuccess(),)


def test_times_stay_strings_and_a_single_value_stands_for_a_list():
    loaded = _plan(BASE + "    window: {start: 09:00, end: 17:30, days: mon}\n")
    window = loaded.plan.experiments[0].window
    assert (window.start, window.end, window.days) == ("09:00", "17:30", ["mon"])  # not 1050 (YAML 1.1 base 60)
    assert loaded.plan.experiments[0].select.dag_id == ["orders_*"]


# ---------------------------------------------------------------------- one line per problem: file, line, field
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("kind: inject_nulls", "kind: inject_null"),
            "plans/p.yaml:8: field 'experiments[0].faults[0].kind': unknown fault kind 'inject_null' "
            "(did you mean 'inject_nulls'?); allowed: add_column,",
        ),
        (
            ("fraction: 0.5", "fraction: 1.5"),
            "plans/p.yaml:10: field 'experiments[0].faults[0].fraction': Input should be less than or equal to 1 "
            "(got 1.5)",
        ),
        (
            ("    seed: 7", "    sead: 7"),
            "plans/p.yaml:11: field 'experiments[0].sead': unknown field (did you mean 'seed'?); allowed: name, select,",
        ),
        (
            ("task_id: extract", "task_id: 'ext[ract'"),
            "plans/p.yaml:6: field 'experiments[0].select.task_id': bad glob 'ext[ract': '[' at position 3 is never "
            "closed with ']' (got 'ext[ract')",
        ),
        (
            ("seed: 7", "seed: seven"),
            "plans/p.yaml:11: field 'experiments[0].seed': Input should be a valid integer (got 'seven')",
        ),
    ],
    ids=["unknown-fault", "bad-fraction", "unknown-key", "bad-glob", "wrong-type"],
)
def test_a_bad_plan_is_one_line_naming_file_line_and_field(change, expected):
    message = _error(BASE.replace(*change))
    assert "\n" not in message
    assert message.startswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BASE.replace("task_id: extract", "task_id: [extract, 'a/b']"), "p.yaml:6: field 'experiments[0].select.task_id[1]': bad glob 'a/b'"),
        (BASE.replace("      task_id: extract", "      taskid: extract"), "p.yaml:6: field 'experiments[0].select.taskid': unknown field (did you mean 'task_id'?); allowed: dag_id, task_id, tags, operator, run_type"),
        (BASE + "    probability: high\n", "p.yaml:12: field 'experiments[0].probability': Input should be a valid number (got 'high')"),
        (BASE + "    enabled: 'yes'\n", "p.yaml:12: field 'experiments[0].enabled': Input should be a valid boolean (got 'yes')"),
        (BASE + "    max_tasks_per_run: 0\n", "p.yaml:12: field 'experiments[0].max_tasks_per_run': Input should be greater than or equal to 1"),
        (BASE.replace("task_id: extract", "task_id: extract\n      run_type: manul"), "p.yaml:7: field 'experiments[0].select.run_type': Input should be 'manual',"),
        (BASE + "    window: {start: '9am', end: '17:00'}\n", "p.yaml:12: field 'experiments[0].window.start': '9am' is not a time of day"),
        (BASE + "    window: {start: '10:00', end: '10:00'}\n", "p.yaml:12: field 'experiments[0].window.end': equals field 'start'"),
        (BASE + "    window: {start: '10:00', end: '11:00', timezone: Mars/Base}\n", "p.yaml:12: field 'experiments[0].window.timezone': unknown time zone 'Mars/Base'"),
        (BASE + "    seed: 8\n", "p.yaml:12: field '<yaml>': not a valid plan file: duplicate key 'seed' (first on line 11)"),
        (BASE.replace("seed: 7", "seed: &s 7\n    max_tasks_per_run: *s"), "p.yaml:12: field '<yaml>': not a valid plan file: anchors and aliases"),
        (BASE + BASE.split("experiments:\n")[1], "p.yaml:12: field 'experiments[1].name': experiment name 'nulls' is already used by experiments[0]"),
        ("version: 2\n" + BASE.split("\n", 1)[1], "p.yaml:1: field 'version': Input should be 1 (got 2)"),
        ("", "p.yaml:1: field '<plan>': a plan is a mapping with 'experiments'; got an empty file"),
        (BASE + "  - [\n", "p.yaml:13: field '<yaml>': not a valid plan file:"),
    ],
)
def test_more_problems_name_their_line_and_field(text, expected):
    message = _error(text)
    assert expected in message.splitlines()[0], message


def test_a_fault_with_two_problems_gives_one_line_each():
    lines = _error(BASE.replace("column: qty", "colum: qty")).splitlines()
    assert lines == [
        "plans/p.yaml:8: field 'experiments[0].faults[0].column': Field required",
        "plans/p.yaml:9: field 'experiments[0].faults[0].colum': unknown field; "
        "allowed: path, column, fraction, mechanism, condition_column (got 'qty')",
    ]


def test_a_missing_file_is_one_line():
    with pytest.raises(PlanError, match=r"^/nonexistent/plan.yaml: cannot read the plan file: No such file"):
        read_plan("/nonexistent/plan.yaml")


def test_run_types_are_airflows():
    from airflow.utils.types import DagRunType

    assert set(RUN_TYPES) == {t.value for t in DagRunType}


# ---------------------------------------------------------------------- globs and selectors
@pytest.mark.parametrize("glob", ["*", "runme_[02]", "task_?", "@task", "@task.bash", "a.b-c_*", "[!x]*"])
def test_good_globs(glob):
    assert check_glob(glob) == glob


@pytest.mark.parametrize(
    ("glob", "why"),
    [("", "empty glob"), ("a/b", "'/' cannot occur"), ("ab[", "never closed"), ("a]", "closes no '['"), ("a b", "' '")],
)
def test_bad_globs(glob, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        check_glob(glob)


def test_selectors_match_dag_ids_tags_task_ids_and_operator_names():
    (e,) = _plan(
        BASE.replace("task_id: extract", "task_id: [extract, 'load_?']\n      tags: [ml, prod]\n      operator: '@task'")
    ).experiments
    assert e.selects_dag("orders_daily", {"ml", "prod", "x"})
    assert not e.selects_dag("orders_daily", {"ml"})  # every tag listed
    assert not e.selects_dag("billing", {"ml", "prod"})
    assert e.selects_task("load_1", ("_PythonDecoratedOperator", "x._PythonDecoratedOperator", "@task"))
    assert not e.selects_task("load_10", ("@task",))
    assert not e.selects_task("extract", ("BashOperator", "airflow.providers.standard.operators.bash.BashOperator"))


def test_max_tasks_per_run_picks_the_same_tasks_every_time_and_keeps_their_order():
    (e,) = _plan(BASE + "    max_tasks_per_run: 2\n").experiments
    tasks = [f"t{i}" for i in range(10)]
    chosen = e.capped("orders_daily", tasks)
    assert len(chosen) == 2 and chosen == [t for t in tasks if t in chosen]
    assert e.capped("orders_daily", list(reversed(tasks))) == list(reversed(chosen))
    assert e.capped("orders_daily", tasks[:2]) == tasks[:2]
    assert {tuple(e.capped(f"dag{i}", tasks)) for i in range(20)} != {tuple(chosen)}  # spread over the tasks


def test_environments_and_enabled_decide_where_an_experiment_applies():
    (e,) = _plan(BASE + "    environments: staging\n").experiments
    assert e.applies_in("staging") and not e.applies_in("dev")
    (off,) = _plan(BASE + "    enabled: false\n").experiments
    assert not off.applies_in("dev")


# ---------------------------------------------------------------------- run-time conditions
def test_a_window_holds_between_its_hours_on_its_days_in_its_time_zone():
    day = Window(start="09:00", end="17:00", days=["mon", "tue"])
    monday = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    assert day.contains(monday)
    assert not day.contains(monday.replace(hour=17))
    assert not day.contains(datetime(2026, 3, 4, 12, 0, tzinfo=timezone.utc))  # a Wednesday
    night = Window(start="22:00", end="06:00")
    assert night.contains(monday.replace(hour=23)) and night.contains(monday.replace(hour=5))
    assert not night.contains(monday.replace(hour=12))
    paris = Window(start="09:00", end="10:00", timezone="Europe/Paris")
    assert paris.contains(monday.replace(hour=8, minute=30))  # 09:30 in Paris (UTC+1 in March)


def test_the_gate_refuses_outside_the_window_and_other_run_types():
    gate = ExperimentGate("plan:p.yaml#x", Window(start="09:00", end="17:00"), ("scheduled",))
    noon = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    assert gate.refuse(run_type="scheduled", now=noon) is None
    assert "outside the plan's window 09:00-17:00 UTC" in gate.refuse(run_type="scheduled", now=noon.replace(hour=20))
    assert "run type 'manual' not selected" in gate.refuse(run_type="manual", now=noon)


def test_the_daily_cap_counts_injections_per_dag_and_day(tmp_path):
    gate = ExperimentGate("plan:p.yaml#x", max_per_dag_per_day=2)
    day1 = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    assert gate.reserve(str(tmp_path), "orders", day1) is None
    assert gate.reserve(str(tmp_path), "orders", day1) is None
    refused = gate.reserve(str(tmp_path), "orders", day1)
    assert refused == "max_injections_per_dag_per_day=2 reached for orders on 2026-03-02 (plan:p.yaml#x)"
    folder = tmp_path / "plan-budget" / "plan_p.yaml_x" / "orders" / "2026-03-02"
    assert len(list(folder.iterdir())) == 2  # the refused attempt took its token back
    assert gate.reserve(str(tmp_path), "billing", day1) is None  # per DAG
    assert gate.reserve(str(tmp_path), "orders", day1.replace(day=3)) is None  # per UTC day


def test_a_slot_taken_by_another_task_counts(tmp_path):
    gate = ExperimentGate("plan:p.yaml#x", max_per_dag_per_day=1)
    now = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    folder = tmp_path / "plan-budget" / "plan_p.yaml_x" / "orders" / "2026-03-02"
    folder.mkdir(parents=True)
    (folder / "99999999999999999999-other").write_bytes(b"")  # another worker's token, even one written later
    assert gate.reserve(str(tmp_path), "orders", now) is not None
    assert ExperimentGate("plan:p.yaml#x", max_per_dag_per_day=0).reserve(str(tmp_path), "x", now) is not None


# ---------------------------------------------------------------------- the JSON Schema
def test_the_json_schema_accepts_the_example_and_rejects_what_the_loader_rejects():
    import jsonschema
    import yaml

    schema = plan_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    example = yaml.safe_load(EXAMPLE.read_text())
    assert list(validator.iter_errors(example)) == []
    plan = yaml.safe_load(BASE)
    assert list(validator.iter_errors(plan)) == []
    for bad in (
        {"kind": "inject_null", "column": "qty"},
        {"kind": "inject_nulls", "column": "qty", "fraction": 1.5},
        {"kind": "inject_nulls", "colum": "qty"},
    ):
        plan["experiments"][0]["faults"] = [bad]
        assert list(validator.iter_errors(plan)), bad
    plan = yaml.safe_load(BASE)
    plan["experiments"][0]["select"]["task_id"] = "a/b"
    assert list(validator.iter_errors(plan))
    plan = yaml.safe_load(BASE)
    plan["experiments"][0]["sead"] = 7
    assert list(validator.iter_errors(plan))

