"""Scorecards (issue #11): JSON valid against the shipped schema, Markdown and HTML with every injection,
suggestions for every SILENT verdict, shared detections, the detection matrix, history from earlier runs."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import jsonschema
import pytest

from airflow_chaos.experiment.matrix import ExperimentPlan, PlannedScenario, judge_matrix
from airflow_chaos.experiment.verdicts import build_report
from airflow_chaos.faults import DropColumn, HttpError, InjectNulls, ShiftDistribution, TruncateFile
from airflow_chaos.records import Detection, Injection, InjectionStatus, utcnow
from airflow_chaos.report.files import write_scorecards
from airflow_chaos.report.html import render_html
from airflow_chaos.report.markdown import render_markdown
from airflow_chaos.report.scorecard import (
    SCHEMA_VERSION,
    build_scorecard,
    fault_row,
    generated_schema,
    read_history,
    row_label,
    schema,
    scorecard_dir,
)

NAMES = ("control", "nulls", "both", "shift", "api")
T0 = utcnow()


def _inj(fault, task, **kw):
    return Injection.for_fault(fault, InjectionStatus.INJECTED, task_id=task, finished_at=T0, **kw)


def _det(check, signals, task, ok, seconds=1.0):
    return Detection(check=check, signals=signals, passed=ok, task_id=task, at=T0 + timedelta(seconds=seconds))


def matrix_report(control_ok: bool = True, run_id: str = "manual__1"):
    plan = ExperimentPlan(
        scenarios=[PlannedScenario(name=n, control=n == "control", seed=7) for n in NAMES],
        signal_weights={"completeness": 2.0},
    )
    age, income = InjectNulls(column="age", fraction=0.3), InjectNulls(column="income", fraction=0.3)
    shift = ShiftDistribution(column="income", mean_shift=2.0)
    injections = [
        _inj(age, "nulls.prepare"),
        _inj(age, "both.prepare"),
        _inj(income, "both.prepare"),
        _inj(shift, "shift.prepare", changes={"mean_before": 50.0, "std_before": 10.0, "rows_affected": 100}),
        _inj(HttpError(status=500), "api.extract", outcome="raised"),
    ]
    expect = "expect_column_values_to_not_be_null:age"
    ran = [n for n in NAMES if n != "api"]  # the api scenario's extract failed: its checks never ran
    detections = [_det(expect, ["completeness"], f"{n}.validate", ok=n not in {"nulls", "both"}, seconds=2.5) for n in ran]
    if not control_ok:
        detections[0] = _det(expect, ["completeness"], "control.validate", ok=False)
    states = {f"{n}.{t}": "success" for n in NAMES for t in ("extract", "prepare", "validate", "train")}
    states.update({"api.extract": "failed", "api.prepare": "upstream_failed", "api.validate": "upstream_failed", "api.train": "upstream_failed"})
    down = {f"{n}.{t}": {f"{n}.{d}" for d in downs} for n in NAMES for t, downs in {
        "extract": ("prepare", "validate", "train"), "prepare": ("validate", "train"), "validate": (), "train": ()
    }.items()}
    metrics = {"control.train": {"auc": 0.91}, "nulls.train": {"auc": 0.74}, "both.train": {"auc": 0.7}, "shift.train": {"auc": 0.88}}
    return judge_matrix(plan, injections, detections, states, down, metrics, dag_id="suite", run_id=run_id)


@pytest.fixture(scope="module")
def card():
    return build_scorecard(matrix_report())


def test_the_json_scorecard_validates_against_the_shipped_versioned_schema(card):
    shipped = schema()
    assert shipped == generated_schema(), "scorecard.v1.schema.json is stale: regenerate it from Scorecard"
    assert shipped["$id"] == "urn:airflow-chaos:scorecard:v1" and card.schema_version == SCHEMA_VERSION == "1.0"
    validator = jsonschema.Draft202012Validator(shipped)
    data = json.loads(json.dumps(card.to_json()))
    assert list(validator.iter_errors(data)) == []
    broken = {**data, "score": "high"}
    assert any(e.path and e.path[0] == "score" for e in validator.iter_errors(broken))
    broken = {**data, "results": [{**data["results"][0], "verdict": "MAYBE"}]}
    assert list(validator.iter_errors(broken)), "an unknown verdict is not a valid scorecard"


def test_the_scorecard_carries_verdicts_weights_impact_control_and_time_to_detect(card):
    verdicts = [(r.scenario, r.kind, r.verdict.value) for r in card.results]
    assert verdicts == [
        ("nulls", "inject_nulls", "DETECTED"),
        ("both", "inject_nulls", "DETECTED"),
        ("both", "inject_nulls", "DETECTED"),
        ("shift", "shift_distribution", "SILENT"),
        ("api", "http_error", "FAILED_LOUDLY"),
    ]
    assert card.unweighted_score == pytest.approx(4 / 5)
    # completeness weighs 2; HttpError declares it too (api, volume, completeness), ShiftDistribution does not
    assert card.score == pytest.approx((2 + 2 + 2 + 0 + 2) / (2 + 2 + 2 + 1 + 2))
    assert card.control is not None and card.control.passed
    impact = {s.name: [(i.metric, i.delta) for i in s.impact] for s in card.scenarios}
    assert impact["nulls"] == [("auc", pytest.approx(0.74 - 0.91))]
    assert impact["api"] == [] and "no auc recorded" in next(s.note for s in card.scenarios if s.name == "api")
    assert [r.time_to_detect_s for r in card.results][:3] == [pytest.approx(2.5)] * 3


def test_every_silent_verdict_carries_a_pasteable_expectation_for_the_check_task(card):
    (suggestion,) = card.suggestions
    silent = next(r for r in card.results if r.verdict.value == "SILENT")
    assert suggestion.injection_id == silent.injection_id and suggestion.add_to == "validate"
    assert suggestion.expectation == {
        "type": "expect_column_mean_to_be_between",
        "column": "income",
        "min_value": 45.0,
        "max_value": 55.0,
    }
    assert suggestion.fill_in == []
    assert suggestion.text == (
        "`ShiftDistribution(column='income', mean_shift=2.0)` went unnoticed: add "
        "`expect_column_mean_to_be_between(column='income', min_value=45.0, max_value=55.0)` to `validate`"
    )


def test_shared_detections_are_reported_with_what_single_fault_scenarios_confirmed(card):
    (group,) = card.shared
    assert group.scenario == "both" and group.checks == ["both.validate:expect_column_values_to_not_be_null:age"]
    assert sorted(group.confirmed.values(), key=str) == [None, True], "age confirmed by 'nulls'; income has no single run"


def test_the_detection_matrix_has_a_row_per_fault_and_shares_check_columns_across_scenarios(card):
    matrix = card.matrix
    assert matrix.checks == ["validate:expect_column_values_to_not_be_null:age"]
    assert matrix.faults == [
        "InjectNulls(column='age', fraction=0.3) @ prepare",
        "InjectNulls(column='income', fraction=0.3) @ prepare",
        "ShiftDistribution(column='income', mean_shift=2.0) @ prepare",
    ], "one row per fault (age ran in two scenarios); the HTTP fault's checks never ran: no row"
    assert matrix.cells == [[1.0], [1.0], [0.0]]


def test_markdown_and_html_contain_every_injection_and_the_suggestion(card):
    md, page = render_markdown(card), render_html(card)
    for result in card.results:
        assert row_label(result) in md
        assert fault_row(result).replace("'", "&#x27;") in page, "the HTML has a scenario column of its own"
    assert md.count("| nulls: InjectNulls") == 1
    assert '"type": "expect_column_mean_to_be_between"' in md
    assert page.count("<tr data-verdict=") == len(card.results)
    assert "expect_column_mean_to_be_between" in page and 'id="control" data-state="passed"' in page
    assert "Shared detections" in md and "NOT caught alone" not in md


def test_the_html_page_is_self_contained_with_every_plot_as_inline_svg(card):
    page = render_html(card)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "nothing fetched from a network"
    assert "<script" not in page and "<link" not in page
    figures = re.findall(r'<figure class="plot" id="plot-([a-z-]+)"[^>]*><svg', page)
    assert figures == ["heatmap", "impact", "time-to-detect"]
    assert 'id="no-plot-history"' in page, "no earlier scorecard: the history plot says so"


def test_an_inconclusive_scorecard_says_the_control_failed():
    card = build_scorecard(matrix_report(control_ok=False))
    assert {r.verdict.value for r in card.results} == {"INCONCLUSIVE"}
    assert card.score is None and not card.control.passed
    assert "failed its own steady state" in render_markdown(card)
    assert 'data-state="failed"' in render_html(card)
    assert card.suggestions == [], "an inconclusive run suggests nothing: no verdict is SILENT"


def test_written_scorecards_land_under_dag_and_run_and_feed_the_next_runs_history(tmp_path):
    first, files = write_scorecards(matrix_report(run_id="scheduled__1"), tmp_path)
    assert files.directory == scorecard_dir(tmp_path, "suite", "scheduled__1") == tmp_path / "suite" / "scheduled__1"
    assert [p.name for p in (files.json, files.markdown, files.html)] == ["scorecard.json", "scorecard.md", "scorecard.html"]
    assert json.loads(files.json.read_text())["run_id"] == "scheduled__1"
    assert first.history == []
    (tmp_path / "suite" / "broken").mkdir()
    (tmp_path / "suite" / "broken" / "scorecard.json").write_text("{not json")
    second, files2 = write_scorecards(matrix_report(run_id="scheduled__2"), tmp_path)
    assert [p.run_id for p in second.history] == ["scheduled__1"], "the unreadable scorecard is skipped"
    assert re.search(r'<figure class="plot" id="plot-history"[^>]*><svg', files2.html.read_text())
    assert [p.run_id for p in read_history(tmp_path, "suite")] == ["scheduled__1", "scheduled__2"]


def test_a_plain_run_without_a_matrix_also_gets_a_scorecard():
    injection = Injection.for_fault(DropColumn(column="price"), InjectionStatus.INJECTED, task_id="transform")
    file_fault = Injection.for_fault(TruncateFile(path="/tmp/x.csv", keep_fraction=0.5), InjectionStatus.INJECTED, task_id="load")
    report = build_report([injection, file_fault], [], {}, {"transform": [], "load": []}, dag_id="d", run_id="r")
    card = build_scorecard(report)
    assert card.scenarios == [] and card.control is None
    assert [s.check for s in card.suggestions] == [
        "expect_column_to_exist(column='price')",
        "ValidateDataOperator(data=<the file>) reading the file (an unreadable file is a format detection)",
    ]
    assert card.suggestions[0].text.endswith("to a new ValidateDataOperator downstream of `transform`")
    assert "No control run" in render_markdown(card)
    jsonschema.validate(card.to_json(), schema())


def test_impact_reads_as_a_sentence_per_scenario(card):
    from airflow_chaos.report.markdown import impact_sentences

    sentences = impact_sentences(card)
    assert sentences[0] == (
        "nulls: InjectNulls(column='age', fraction=0.3) DETECTED by validate; unchecked, auc would have gone from 0.91 to 0.74"
    )
    assert sentences[-1] == "shift: ShiftDistribution(column='income', mean_shift=2.0) SILENT; auc went from 0.91 to 0.88"
    assert f"- {sentences[0]}" in render_markdown(card) and '<ul id="impact">' in render_html(card)
