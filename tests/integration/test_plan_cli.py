"""``airflow-chaos plan validate|preview|schema`` and ``airflow-chaos run`` on the quickstart.

Exit codes, the same for every command: 0 ok, 1 a verdict failed (SILENT or INJECTION_ERROR), 2 bad input.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_chaos.cli import main
from tests.harness import _migrate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "example_dags" / "quickstart.py"
EXAMPLE_PLAN = ROOT / "example_dags" / "plans" / "quickstart.yaml"
BIN = Path(sys.executable).parent

GOOD = """\
version: 1
experiments:
  - name: nulls
    select:
      dag_id: chaos_quickstart
      task_id: extract
    faults:
      - kind: inject_nulls
        column: qty
        fraction: 0.5
    seed: 7
"""

OTHER_DAG = """
from datetime import datetime

from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["reports"])
def weekly_report():
    @task
    def extract():
        return [1, 2]

    @task
    def each(x):
        return x

    each.expand(x=extract())


weekly_report()
"""


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands set [chaos] for their own run through the environment: undo it after each test."""
    for name in ("AIRFLOW__CHAOS__ENABLED", "AIRFLOW__CHAOS__PLAN", "AIRFLOW__CHAOS__SEED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


# ---------------------------------------------------------------------- plan validate
def test_validate_a_good_plan(tmp_path, capsys):
    plan = tmp_path / "good.yaml"
    plan.write_text(GOOD)
    assert main(["plan", "validate", str(plan)]) == 0
    assert capsys.readouterr().out == f"{plan}: valid plan: 1 experiment(s), 1 fault(s)\n"


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        (("kind: inject_nulls", "kind: nulls"), 8, "experiments[0].faults[0].kind", "unknown fault kind 'nulls'"),
        (("fraction: 0.5", "fraction: -0.2"), 10, "experiments[0].faults[0].fraction", "Input should be greater than 0 (got -0.2)"),
        (("    seed: 7", "    seeds: 7"), 11, "experiments[0].seeds", "unknown field (did you mean 'seed'?)"),
        (("task_id: extract", "task_id: 'extract]'"), 6, "experiments[0].select.task_id", "bad glob 'extract]'"),
        (("seed: 7", "seed: [7]"), 11, "experiments[0].seed", "Input should be a valid integer"),
    ],
    ids=["unknown-fault", "bad-fraction", "unknown-key", "bad-glob", "wrong-type"],
)
def test_validate_a_bad_plan_is_one_line_and_exit_2(tmp_path, capsys, change, line, field, message):
    plan = tmp_path / "bad.yaml"
    plan.write_text(GOOD.replace(*change))
    assert main(["plan", "validate", str(plan)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (error,) = captured.err.splitlines()
    assert error.startswith(f"airflow-chaos plan validate: {plan}:{line}: field '{field}': ")
    assert message in error


def test_validate_a_missing_file_exits_2(capsys):
    assert main(["plan", "validate", "/nonexistent/plan.yaml"]) == 2
    assert capsys.readouterr().err.startswith("airflow-chaos plan validate: /nonexistent/plan.yaml: cannot read")


def test_schema_is_the_plan_json_schema(capsys):
    from airflow_chaos.plans import plan_json_schema

    assert main(["plan", "schema"]) == 0
    assert json.loads(capsys.readouterr().out) == plan_json_schema()


# ---------------------------------------------------------------------- plan preview
def test_preview_shows_which_tasks_would_be_armed_with_what(tmp_path, capsys, isolated_env):
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(QUICKSTART, dags / "quickstart.py")
    (dags / "weekly_report.py").write_text(OTHER_DAG)
    assert main(["plan", "preview", str(EXAMPLE_PLAN), "--dags-folder", str(dags)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"plan {EXAMPLE_PLAN}: 1 experiment(s); 2 DAG(s) parsed; environment 'dev'",
        "dag               task      operator              experiment       faults           conditions",
        "----------------  --------  --------------------  ---------------  ---------------  ----------",
        "chaos_quickstart  validate  ValidateDataOperator  blind-validator  false_success()  seed=7",
        "1 task(s) in 1 DAG(s) would be armed; nothing was run.",
        "note: [chaos] enabled is False here: the policy arms nothing until it is True",
        "note: [chaos] plan is not set: set it to this file to apply it when DAGs are parsed",
    ]


def test_preview_shows_conditions_and_says_what_is_not_armed(tmp_path, capsys, isolated_env, monkeypatch):
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(QUICKSTART, dags / "quickstart.py")
    (dags / "weekly_report.py").write_text(OTHER_DAG)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        GOOD.replace("task_id: extract", "task_id: [extract, transform]\n      run_type: [scheduled]")
        + "    probability: 0.25\n    window: {start: '22:00', end: '06:00'}\n    max_injections_per_dag_per_day: 3\n"
        + """\
  - name: everything-weekly
    select: {tags: reports}
    faults: [{kind: delay, seconds: 1}]
  - name: staging-only
    select: {dag_id: "*"}
    faults: [{kind: delay, seconds: 1}]
    environments: [staging]
  - name: parked
    select: {dag_id: "*"}
    faults: [{kind: delay, seconds: 1}]
    enabled: false
"""
    )
    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "true")
    monkeypatch.setenv("AIRFLOW__CHAOS__PLAN", str(plan))
    assert main(["plan", "preview", str(plan), "--dags-folder", str(dags)]) == 0
    conditions = "p=0.25 seed=7 window=22:00-06:00 UTC run_type=scheduled max_injections_per_dag_per_day=3"
    assert capsys.readouterr().out.splitlines() == [
        f"plan {plan}: 4 experiment(s); 2 DAG(s) parsed; environment 'dev'",
        "dag               task       operator  experiment         faults                                    conditions",
        "----------------  ---------  --------  -----------------  ----------------------------------------  "
        + "-" * len(conditions),
        f"chaos_quickstart  extract    @task     nulls              inject_nulls(column='qty', fraction=0.5)  {conditions}",
        f"chaos_quickstart  transform  @task     nulls              inject_nulls(column='qty', fraction=0.5)  {conditions}",
        "weekly_report     extract    @task     everything-weekly  delay(seconds=1.0)                        -",
        "3 task(s) in 2 DAG(s) would be armed; nothing was run.",
        "note: weekly_report.each: a mapped task is not armed by a plan (use @task.chaos)",
        "note: experiment 'staging-only' arms nothing in environment 'dev' (environments: ['staging'])",
        "note: experiment 'parked' is disabled (enabled: false): it arms nothing",
    ]


def test_preview_of_a_bad_plan_or_folder_exits_2(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text(GOOD)
    assert main(["plan", "preview", str(plan), "--dags-folder", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"airflow-chaos plan preview: --dags-folder {str(tmp_path / 'nope')!r} is not a directory"
    ]
    plan.write_text(GOOD.replace("seed: 7", "seed: x"))
    assert main(["plan", "preview", str(plan), "--dags-folder", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"airflow-chaos plan preview: {plan}:11: field 'experiments[0].seed'")


# ---------------------------------------------------------------------- run
def test_run_the_quickstart_prints_the_verdict_table_and_exits_0(dag_runner, capsys, isolated_env):
    _migrate()
    dag_runner.copy(QUICKSTART)
    assert main(["run", "chaos_quickstart", "--seed", "3"]) == 0
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    start = next(i for i, line in enumerate(out) if line.startswith("chaos verdicts for chaos_quickstart / "))
    assert out[start].endswith("(run success)")
    assert out[start + 1].split() == ["task", "fault", "signals", "verdict", "evidence"]
    assert out[start + 3].split() == [
        "transform", "drop_column(column='price')", "schema", "DETECTED", "validate:required_columns", "[schema]"
    ]
    assert out[start + 4] == "resilience score: 100% (1 injected, 1 DETECTED)"
    assert "[4/4] assert_detected done" in captured.err  # the progress display (a live bar on a terminal)


def test_run_with_a_plan_that_blinds_the_validator_exits_1_on_silent(dag_runner, isolated_env, airflow_home):
    """A real ``airflow-chaos`` process: its exit code, the plan parsed by the policy, the table."""
    _migrate()
    dag_runner.copy(QUICKSTART)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__CHAOS__") or k.endswith("JOURNAL_PATH")}
    out = subprocess.run(
        [str(BIN / "airflow-chaos"), "run", "chaos_quickstart", "--plan", str(EXAMPLE_PLAN)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-3000:]
    lines = out.stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in lines if line.startswith(("transform ", "validate "))}
    assert rows["transform"][1:4] == ["drop_column(column='price')", "schema", "SILENT"]
    assert rows["validate"][1:4] == ["false_success()", "volume,freshness", "SILENT"]
    assert "resilience score: 0% (2 injected, 2 SILENT)" in lines
    assert "validate: false_success armed by plan:quickstart.yaml#blind-validator" in lines


def test_run_bad_input_exits_2(tmp_path, capsys, dag_runner, isolated_env):
    plan = tmp_path / "bad.yaml"
    plan.write_text(GOOD.replace("kind: inject_nulls", "kind: nope"))
    assert main(["run", "chaos_quickstart", "--plan", str(plan)]) == 2
    assert capsys.readouterr().err.startswith(f"airflow-chaos run: {plan}:8: field 'experiments[0].faults[0].kind'")
    dag_runner.copy(QUICKSTART)
    assert main(["run", "no_such_dag"]) == 2
    assert "airflow-chaos run: no DAG 'no_such_dag' in " in capsys.readouterr().err
