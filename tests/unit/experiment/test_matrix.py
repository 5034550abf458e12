"""The pure half of experiments (issue #11): INCONCLUSIVE, shared attribution, time to detect, weights,
the control's steady state, impact against the control, sandboxes and scenario validation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.experiment.matrix import (
    ExperimentPlan,
    PlannedFault,
    PlannedScenario,
    check_scenario_names,
    judge_matrix,
    sandbox_for,
    scenario_faults,
)
from airflow_chaos.experiment.verdicts import Verdict, build_report, decide_verdicts, parse_signal_weights, score
from airflow_chaos.faults import DropColumn, HttpError, InjectNulls, TruncateRows
from airflow_chaos.records import Detection, Injection, InjectionStatus, utcnow

DOWN = {"transform": {"validate"}, "validate": set()}


def inj(fault, task="transform", **kw) -> Injection:
    return Injection.for_fault(fault, InjectionStatus.INJECTED, task_id=task, **kw)


def failed(check, *signals, task="validate", **kw) -> Detection:
    return Detection(check=check, signals=list(signals), passed=False, task_id=task, **kw)


def passed(check, *signals, task="validate", **kw) -> Detection:
    return Detection(check=check, signals=list(signals), passed=True, task_id=task, **kw)


# ---------------------------------------------------------------------- honest attribution
def test_one_detection_crediting_two_faults_marks_both_shared_and_names_each_other():
    age, income = inj(InjectNulls(column="age", fraction=0.3)), inj(InjectNulls(column="income", fraction=0.3))
    results = decide_verdicts([age, income], [failed("not_null:age", "completeness")], {}, DOWN)
    assert [r.verdict for r in results] == [Verdict.DETECTED, Verdict.DETECTED]
    assert [r.shared for r in results] == [True, True]
    assert results[0].shared_with == [income.id] and results[1].shared_with == [age.id]
    assert results[0].detected_by == ["validate:not_null:age"]
    assert "DETECTED (shared)" in build_report([age, income], [failed("x", "completeness")], {}, DOWN).table()


def test_a_fault_with_a_detection_of_its_own_is_not_shared():
    nulls, rows = inj(InjectNulls(column="age", fraction=0.3)), inj(TruncateRows(keep_fraction=0.5))
    dets = [failed("not_null:age", "completeness"), failed("row_count", "volume")]
    results = decide_verdicts([nulls, rows], dets, {}, DOWN)
    assert [(r.verdict, r.shared) for r in results] == [(Verdict.DETECTED, False), (Verdict.DETECTED, False)]


def test_a_fault_with_a_shared_and_an_own_detection_is_not_shared_while_its_partner_is():
    schema, nulls = inj(DropColumn(column="price")), inj(InjectNulls(column="age", fraction=0.3))
    broad = failed("profile", "schema", "completeness")
    narrow = failed("required_columns", "schema")
    results = decide_verdicts([schema, nulls], [broad, narrow], {}, DOWN)
    assert [r.verdict for r in results] == [Verdict.DETECTED, Verdict.DETECTED]
    assert (results[0].shared, results[0].shared_with) == (False, [])
    assert (results[1].shared, results[1].shared_with) == (True, [schema.id])


# ---------------------------------------------------------------------- time to detect
def test_time_to_detect_runs_from_the_injections_end_to_the_first_catching_detection():
    end = utcnow()
    nulls = inj(InjectNulls(column="age", fraction=0.3), finished_at=end)
    late = failed("a", "completeness", at=end + timedelta(seconds=9))
    early = failed("b", "completeness", at=end + timedelta(seconds=2.5))
    unrelated = failed("c", "volume", at=end + timedelta(seconds=1))
    (result,) = decide_verdicts([nulls], [late, early, unrelated], {}, DOWN)
    assert result.time_to_detect_s == pytest.approx(2.5)
    (silent,) = decide_verdicts([nulls], [unrelated], {}, DOWN)
    assert silent.time_to_detect_s is None


# ---------------------------------------------------------------------- a check that reported failure quietly
def test_a_check_that_reported_failure_without_failing_its_task_leaves_the_fault_silent_and_says_so():
    quiet = passed("gx_validate", "completeness", task="validate", reported_failure=True)
    (result,) = decide_verdicts([inj(InjectNulls(column="age", fraction=0.3))], [quiet], {}, DOWN)
    assert result.verdict is Verdict.SILENT
    assert result.silent_checks == ["validate:gx_validate"]
    assert result.reason.startswith("validate:gx_validate reported a failed result without failing its task")


def test_a_quietly_failing_check_does_not_count_toward_recovered():
    quiet = passed("gx_validate", "api", task="validate", reported_failure=True)
    (result,) = decide_verdicts([inj(HttpError(status=500), task="transform")], [quiet], {}, DOWN)
    assert result.verdict is Verdict.SILENT
    (ok,) = decide_verdicts([inj(HttpError(status=500))], [passed("payload", "api")], {}, DOWN)
    assert ok.verdict is Verdict.RECOVERED


# ---------------------------------------------------------------------- weights
def test_weights_weigh_each_injection_by_its_heaviest_signal_and_keep_the_unweighted_score():
    schema, nulls = inj(DropColumn(column="price")), inj(InjectNulls(column="age", fraction=0.3))
    dets = [failed("cols", "schema")]
    report = build_report([schema, nulls], dets, {}, DOWN, signal_weights={"schema": 3.0})
    assert report.unweighted_score == 0.5
    assert report.score == pytest.approx(0.75)
    assert report.score_by_signal == {"completeness": 0.0, "schema": 1.0}
    assert "resilience score: 75% weighted (50% unweighted)" in report.table()
    plain = build_report([schema, nulls], dets, {}, DOWN)
    assert plain.score == plain.unweighted_score == 0.5 and "weighted" not in plain.table()
    results = decide_verdicts([schema, nulls], dets, {}, DOWN)
    assert score(results, {"schema": 0.0, "completeness": 0.0})[0] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("schema=2, completeness=1.5", {"schema": 2.0, "completeness": 1.5}),
        ('{"api": 0, "volume": 4}', {"api": 0.0, "volume": 4.0}),
        ({"feature.skew": 2}, {"feature.skew": 2.0}),
        ("", {}),
        (None, {}),
    ],
)
def test_signal_weights_parse(value, expected):
    assert parse_signal_weights(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("schemaa=2", "unknown signal(s) ['schemaa']"),
        ("schema=-1", "the weight of 'schema' must be a number >= 0, got '-1'"),
        ("schema=heavy", "must be a number >= 0, got 'heavy'"),
        ("schema", "expected 'signal=weight' pairs"),
        ({"schema": True}, "must be a number >= 0, got True"),
        ("{nope", "not a JSON object"),
        (3, "expected a mapping of signal to weight, got int"),
    ],
)
def test_bad_signal_weights_name_the_field(value, message):
    with pytest.raises(ChaosConfigError, match="^signal_weights: ") as err:
        parse_signal_weights(value)
    assert message in str(err.value)


# ---------------------------------------------------------------------- a matrix run
def plan(**kw) -> ExperimentPlan:
    return ExperimentPlan(
        scenarios=[
            PlannedScenario(name="control", control=True),
            PlannedScenario(
                name="nulls", faults=[PlannedFault(task="transform", fault=InjectNulls(column="age", fraction=0.3).to_dict())]
            ),
            PlannedScenario(name="both"),
            PlannedScenario(name="income"),
        ],
        **kw,
    )


DOWN_M = {f"{s}.transform": {f"{s}.validate", f"{s}.train"} for s in ("control", "nulls", "both", "income")}
STATES = {f"{s}.{t}": "success" for s in ("control", "nulls", "both", "income") for t in ("transform", "validate", "train")}


def run_matrix(control_ok=True, **kw):
    age = InjectNulls(column="age", fraction=0.3)
    income = InjectNulls(column="income", fraction=0.3)
    injections = [
        inj(age, task="nulls.transform"),
        inj(age, task="both.transform"),
        inj(income, task="both.transform"),
        inj(income, task="income.transform"),
    ]
    detections = [
        passed("not_null:age", "completeness", task="control.validate") if control_ok
        else failed("not_null:age", "completeness", task="control.validate"),
        failed("not_null:age", "completeness", task="nulls.validate"),
        failed("not_null:age", "completeness", task="both.validate"),
        passed("not_null:age", "completeness", task="income.validate"),
    ]
    metrics = {
        "control.train": {"auc": 0.91},
        "nulls.train": {"auc": 0.74, "note": "text is ignored"},
        "both.train": {"auc": 0.70},
        "income.train": {"auc": 0.85},
    }
    return judge_matrix(
        kw.pop("plan", None) or plan(), injections, detections, STATES, DOWN_M, metrics, dag_id="m", run_id="r"
    )


def test_a_matrix_judges_each_scenario_on_its_own_group_and_measures_impact_against_the_control():
    report = run_matrix()
    assert [(r.scenario, r.kind, r.fault["column"], r.verdict.value) for r in report.results] == [
        ("nulls", "inject_nulls", "age", "DETECTED"),
        ("both", "inject_nulls", "age", "DETECTED"),
        ("both", "inject_nulls", "income", "DETECTED"),
        ("income", "inject_nulls", "income", "SILENT"),
    ]
    assert report.control is not None and report.control.passed
    assert report.control.checks == ["control.validate:not_null:age"]
    by_name = {s.name: s for s in report.scenarios}
    assert by_name["nulls"].metrics == {"auc": 0.74}
    (impact,) = by_name["nulls"].impact
    assert (impact.metric, impact.control, impact.scenario) == ("auc", 0.91, 0.74)
    assert impact.delta == pytest.approx(0.74 - 0.91)
    assert by_name["control"].impact == [] and by_name["control"].control
    assert report.score == 0.75


def test_a_shared_detection_is_confirmed_or_refuted_by_the_single_fault_scenarios():
    report = run_matrix()
    both = [r for r in report.results if r.scenario == "both"]
    assert [r.shared for r in both] == [True, True]
    age, income = both
    assert (age.confirmed_by, age.confirmed) == ("nulls", True)
    assert (income.confirmed_by, income.confirmed) == ("income", False), "alone, the income fault went SILENT"


def test_a_control_that_fails_its_own_checks_makes_every_verdict_inconclusive_never_detected():
    report = run_matrix(control_ok=False)
    assert report.control is not None and not report.control.passed
    assert report.control.failures == ["control.validate:not_null:age [completeness] failed"]
    assert [r.verdict.value for r in report.results] == ["INCONCLUSIVE"] * 4
    assert [r.would_be.value for r in report.results] == ["DETECTED", "DETECTED", "DETECTED", "SILENT"]
    assert report.counts["INCONCLUSIVE"] == 4 and report.counts["DETECTED"] == 0
    assert report.score is None and report.injected == 4
    assert "FAILED its steady state" in report.table()
    assert all("the control failed its own steady state" in r.reason for r in report.results)


def test_declared_steady_state_checks_only_those_tasks_and_a_task_that_did_not_run_fails_it():
    report = run_matrix(control_ok=False, plan=plan(steady_state=["train"]))
    assert report.control.passed, "validate is not part of the declared steady state"
    states = {**STATES, "control.train": "upstream_failed"}
    report = judge_matrix(plan(steady_state=["train"]), [], [], states, DOWN_M, {})
    assert report.control.failures == ["control.train upstream_failed"]
    del states["control.train"]
    assert judge_matrix(plan(steady_state=["train"]), [], [], states, DOWN_M, {}).control.failures == [
        "control.train did not run"
    ]


def test_a_scenario_without_the_metric_says_where_the_pipeline_stopped():
    states = {**STATES, "nulls.train": "upstream_failed"}
    report = judge_matrix(plan(), [], [], states, DOWN_M, {"control.train": {"auc": 0.9}})
    nulls = next(s for s in report.scenarios if s.name == "nulls")
    assert nulls.impact == []
    assert nulls.note == "no auc recorded: the pipeline stopped before recording it (nulls.train)"


# ---------------------------------------------------------------------- sandboxes and scenarios
def test_every_scenario_gets_its_own_sandbox():
    a, b = sandbox_for("/srv/chaos", "suite", "nulls"), sandbox_for("/srv/chaos", "suite", "control", control=True)
    assert a.data_dir == "/srv/chaos/suite/nulls" and a.path("raw.csv") == "/srv/chaos/suite/nulls/raw.csv"
    assert (a.mlflow_experiment, a.feast_project, a.journal_namespace) == ("suite/nulls", "suite_nulls", "nulls")
    assert len({a.data_dir, b.data_dir}) == 2 and b.control and not a.control
    assert sandbox_for("/r", "my-dag.v2", "x-1").feast_project == "my_dag_v2_x_1"


def test_scenario_faults_take_a_mapping_or_a_function_of_the_sandbox():
    box = sandbox_for("/r", "d", "s")
    nulls = InjectNulls(column="age", fraction=0.3)
    assert scenario_faults("s", {"transform": nulls}, box) == {"transform": (nulls,)}
    built = scenario_faults("s", lambda sb: {"load": [DropColumn(column=sb.scenario)]}, box)
    assert built == {"load": (DropColumn(column="s"),)}
    with pytest.raises(ChaosConfigError, match=r"scenarios\['s'\]\['load'\]: expected a Fault or a list of Faults"):
        scenario_faults("s", {"load": "InjectNulls"}, box)
    with pytest.raises(ChaosConfigError, match=r"scenarios\['s'\]: expected a mapping of task ids to faults"):
        scenario_faults("s", [nulls], box)


@pytest.mark.parametrize(
    ("names", "control", "message"),
    [
        ([], True, "give at least one scenario"),
        (["has.dot"], True, "must be 1-100 letters, digits, '_' or '-'"),
        (["control"], True, "'control' is the control's name"),
    ],
)
def test_bad_scenario_names_are_refused_naming_the_field(names, control, message):
    with pytest.raises(ChaosConfigError, match="field 'scenarios'") as err:
        check_scenario_names(names, control)
    assert message in str(err.value)
    assert check_scenario_names(["control"], False) == ["control"]


def test_a_model_quality_checks_metric_counts_for_impact_and_a_recorded_metric_wins():
    def quality(task, value):
        return Detection(
            check="model_quality", signals=["model.quality"], passed=True, task_id=task,
            observed={"metric": "accuracy", "value": value, "threshold": 0.5},
        )

    detections = [quality("control.check_model", 0.9), quality("nulls.check_model", 0.8), quality("both.check_model", 0.7)]
    report = judge_matrix(plan(), [], detections, STATES, DOWN_M, {"both.check_model": {"accuracy": 0.75}})
    impact = {s.name: [(i.metric, i.scenario, round(i.delta, 6)) for i in s.impact] for s in report.scenarios}
    assert impact["nulls"] == [("accuracy", 0.8, -0.1)]
    assert impact["both"] == [("accuracy", 0.75, -0.15)], "the task's own chaos_metrics wins over its detection"
