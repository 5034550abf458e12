"""One line per verdict a user must act on (issue #8 item 9): what SILENT means and which check to add."""

from __future__ import annotations

from airflow_chaos.experiment.verdicts import build_report
from airflow_chaos.faults import DropColumn, HttpError
from airflow_chaos.records import Detection, Injection, InjectionStatus
from airflow_chaos.report.explain import explain, missed


def _report(*injections: Injection, detections: tuple[Detection, ...] = ()):
    return build_report(list(injections), list(detections), {}, {"transform": ["validate"], "fetch": []})


def test_a_silent_fault_gets_one_line_naming_its_signal_task_and_a_check():
    report = _report(Injection.for_fault(DropColumn(column="price"), InjectionStatus.INJECTED, task_id="transform"))
    assert [r.verdict.value for r in missed(report)] == ["SILENT"]
    assert explain(report) == [
        "SILENT means the fault went in and every check stayed green: add a check that fails on schema "
        "downstream of 'transform', e.g. ValidateDataOperator(required_columns=[...]) or an "
        "expect_column_to_exist expectation"
    ]


def test_a_silent_http_fault_names_every_signal_and_the_first_known_check():
    report = _report(Injection.for_fault(HttpError(status=503), InjectionStatus.INJECTED, task_id="fetch"))
    (line,) = explain(report)
    assert "fails on api or volume or completeness downstream of 'fetch'" in line
    assert line.endswith(
        "e.g. ValidateApiPayloadOperator on the response, or an extract task that raises on HTTP errors"
    )


def test_a_detected_fault_needs_no_explanation():
    injection = Injection.for_fault(DropColumn(column="price"), InjectionStatus.INJECTED, task_id="transform")
    detection = Detection(check="required_columns", signals=["schema"], passed=False, task_id="validate")
    report = _report(injection, detections=(detection,))
    assert missed(report) == [] and explain(report) == []


def test_an_engine_failure_and_nothing_injected_are_explained():
    failed = Injection.for_fault(
        DropColumn(column="price"), InjectionStatus.ERROR, task_id="transform", error="column 'price' not found"
    )
    (line,) = explain(_report(failed))
    assert line.startswith("INJECTION_ERROR means the chaos engine itself failed on drop_column in 'transform'")
    assert "column 'price' not found" in line

    skipped = Injection.for_fault(DropColumn(column="price"), InjectionStatus.SKIPPED, task_id="transform")
    lines = explain(_report(skipped))
    assert (
        len(lines) == 1 and lines[0].startswith("nothing was injected") and "AIRFLOW__CHAOS__ENABLED=true" in lines[0]
    )
