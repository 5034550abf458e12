"""AssertDetectedOperator writes the run's scorecards and logs their paths (issue #11); per-experiment
weights; a plan (matrix) with metrics; an unwritable reports directory never changes the verdicts."""

from __future__ import annotations

import json

import pytest

from airflow_chaos.experiment.matrix import ExperimentPlan, PlannedScenario
from airflow_chaos.faults import InjectNulls
from tests.unit.operators.test_assertion import SCHEMA_FAILED, inj, run_assert


def _logged(capfd) -> str:
    captured = capfd.readouterr()  # the task logger writes structlog lines to the console
    return captured.out + captured.err


class Lines:
    """The operator's logger, recording each line (the test environment logs at WARNING only)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def _add(self, msg: str, *args: object) -> None:
        self.lines.append(msg % args if args else msg)

    info = warning = error = debug = _add


def test_the_three_scorecards_are_written_under_dag_and_run_and_their_paths_logged(tmp_path, monkeypatch):
    from airflow_chaos.operators import AssertDetectedOperator

    log = Lines()
    monkeypatch.setattr(AssertDetectedOperator, "log", log)
    outcome, report = run_assert([inj()], [SCHEMA_FAILED], reports_dir=str(tmp_path))
    logged = "\n".join(log.lines)
    directory = tmp_path / "orders" / "manual__2026-01-01"
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["scorecard.html", "scorecard.json", "scorecard.md"]
    assert json.loads((directory / "scorecard.json").read_text())["results"][0]["verdict"] == "DETECTED"
    assert str(directory / "scorecard.html") in logged and "chaos verdicts for orders" in logged
    assert outcome == report


def test_weights_given_to_the_operator_weigh_the_score(tmp_path):
    nulls = inj(InjectNulls(column="qty", fraction=0.2))
    _, report = run_assert([inj(), nulls], [SCHEMA_FAILED], fail_on=(), reports_dir=str(tmp_path), signal_weights="schema=3")
    assert report["score"] == pytest.approx(0.75) and report["unweighted_score"] == 0.5
    assert report["signal_weights"] == {"schema": 3.0}


def test_no_scorecards_when_switched_off_and_an_unwritable_directory_is_only_a_warning(tmp_path, capfd):
    run_assert([inj()], [SCHEMA_FAILED], reports_dir=str(tmp_path / "off"), scorecards=False)
    assert not (tmp_path / "off").exists()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    capfd.readouterr()
    outcome, _ = run_assert([inj()], [SCHEMA_FAILED], reports_dir=str(blocker / "reports"))
    assert isinstance(outcome, dict), "the verdicts passed: the missing scorecards do not fail the task"
    assert "chaos scorecards not written" in _logged(capfd)


def test_a_plan_given_as_json_and_bad_weights_at_parse_time():
    from airflow_chaos.exceptions import ChaosConfigError
    from airflow_chaos.operators import AssertDetectedOperator

    plan = ExperimentPlan(scenarios=[PlannedScenario(name="control", control=True), PlannedScenario(name="drop")])
    op = AssertDetectedOperator(task_id="assert_detected", plan=plan.model_dump(), fail_on=(), scorecards=False)
    assert op.plan == plan
    with pytest.raises(ChaosConfigError, match=r"^a: field 'signal_weights': the weight of 'schema' must be a number >= 0"):
        AssertDetectedOperator(task_id="a", signal_weights="schema=-2")
