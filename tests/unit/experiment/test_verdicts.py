"""Verdict rules and the resilience score, on hand-built records."""

from __future__ import annotations

from airflow_chaos.experiment.verdicts import Verdict, build_report
from airflow_chaos.faults import Delay, DropColumn
from airflow_chaos.faults.base import Fault
from airflow_chaos.records import Detection, Injection, InjectionStatus


class _Transient(Fault):
    kind = "test_transient"
    signals = ("api", "volume")
    phase = "around"
    recoverable = True


def _inj(fault=None, status=InjectionStatus.INJECTED, task="transform", **kw):
    return Injection.for_fault(fault or DropColumn(column="price"), status, task_id=task, **kw)


DOWN = {"extract": {"transform", "validate"}, "transform": {"validate"}, "validate": set()}


def _verdict(injection, detections=(), states=None):
    report = build_report([injection], detections, states or {}, DOWN)
    return report.results[0]


def test_failed_check_on_matching_signal_downstream_is_detected():
    det = Detection(check="cols", signals=["schema"], passed=False, task_id="validate")
    result = _verdict(_inj(), [det], {"transform": "success", "validate": "failed"})
    assert result.verdict is Verdict.DETECTED
    assert result.evidence == ["validate:cols [schema]"]


def test_failed_check_on_another_signal_is_not_detection_but_the_failure_is_loud():
    det = Detection(check="nulls", signals=["completeness"], passed=False, task_id="validate")
    result = _verdict(_inj(), [det], {"transform": "success", "validate": "failed"})
    assert result.verdict is Verdict.FAILED_LOUDLY


def test_check_upstream_of_the_injection_does_not_count():
    det = Detection(check="cols", signals=["schema"], passed=False, task_id="extract")
    result = _verdict(_inj(), [det], {"extract": "success", "transform": "success", "validate": "success"})
    assert result.verdict is Verdict.SILENT


def test_all_green_is_silent():
    det = Detection(check="cols", signals=["schema"], passed=True, task_id="validate")
    assert _verdict(_inj(), [det], {"transform": "success", "validate": "success"}).verdict is Verdict.SILENT


def test_injected_task_raising_is_failed_loudly():
    inj = _inj(Delay(seconds=1))
    inj.outcome = "raised"
    assert _verdict(inj, [], {"transform": "failed"}).verdict is Verdict.FAILED_LOUDLY


def test_recoverable_fault_with_passing_checks_is_recovered_but_not_without_checks():
    inj = _inj(_Transient(), try_number=2)
    inj.outcome = "success"
    passed = Detection(check="rows", signals=["volume"], passed=True, task_id="validate")
    result = _verdict(inj, [passed], {"transform": "success", "validate": "success"})
    assert result.verdict is Verdict.RECOVERED and "try 2" in result.reason
    assert _verdict(inj, [], {"transform": "success"}).verdict is Verdict.SILENT


def test_non_recoverable_fault_with_passing_checks_is_silent():
    passed = Detection(check="rows", signals=["volume"], passed=True, task_id="validate")
    assert _verdict(_inj(), [passed], {"validate": "success"}).verdict is Verdict.SILENT


def test_skipped_dry_run_error_and_untriggered():
    assert _verdict(_inj(status=InjectionStatus.SKIPPED, reason="kill switch")).verdict is Verdict.SKIPPED
    assert _verdict(_inj(status=InjectionStatus.DRY_RUN)).verdict is Verdict.SKIPPED
    err = _inj(status=InjectionStatus.ERROR, error="boom")
    assert _verdict(err).verdict is Verdict.INJECTION_ERROR
    untriggered = _inj(_Transient())
    untriggered.changes["effective"] = False
    assert _verdict(untriggered).verdict is Verdict.SKIPPED


def test_score_overall_and_per_signal_ignores_skipped():
    caught = _inj(task="transform")
    missed = _inj(Delay(seconds=1), task="transform")
    skipped = _inj(status=InjectionStatus.SKIPPED)
    det = Detection(check="cols", signals=["schema"], passed=False, task_id="validate")
    report = build_report([caught, missed, skipped], [det], {"transform": "success", "validate": "success"}, DOWN)
    assert [r.verdict for r in report.results] == [Verdict.DETECTED, Verdict.SILENT, Verdict.SKIPPED]
    assert report.injected == 2
    assert report.score == 0.5
    assert report.score_by_signal == {"freshness": 0.0, "schema": 1.0}
    assert report.counts["SKIPPED"] == 1
    table = report.table()
    assert "DETECTED" in table and "SILENT" in table and "resilience score: 50%" in table


def test_no_injections_gives_no_score():
    report = build_report([], [], {}, {})
    assert report.score is None and report.injected == 0


def test_an_injection_that_changed_nothing_is_skipped_with_its_reason_never_silent():
    """Issue #8 item 2: InjectNulls on an empty frame went in with 0 rows affected and ended SILENT."""
    from airflow_chaos.faults import InjectNulls

    reason = "no rows to corrupt: the table is empty"
    nothing = _inj(
        InjectNulls(column="qty", fraction=0.2), changes={"rows_affected": 0}, effective=False, reason=reason
    )
    assert nothing.applied and not nothing.effective
    # green run, no check at all: a fault that did change something would be SILENT here
    report = build_report([nothing], [], {"transform": "success", "validate": "success"}, DOWN)
    (result,) = report.results
    assert (result.verdict, result.reason) == (Verdict.SKIPPED, reason)
    assert report.injected == 0 and report.score is None and report.counts["SILENT"] == 0
    assert reason in report.table()
    # a failed check on its signal does not make it DETECTED either: nothing was there to detect
    det = Detection(check="nulls", signals=["completeness"], passed=False, task_id="validate")
    assert _verdict(nothing, [det], {"validate": "failed"}).verdict is Verdict.SKIPPED
    # the field round-trips through the JSON XCom
    assert Injection.model_validate(nothing.to_json()).effective is False


def test_an_injection_that_changed_something_is_effective_by_default():
    inj = _inj()
    assert inj.effective is True and inj.to_json()["effective"] is True
    assert _verdict(inj, [], {"transform": "success"}).verdict is Verdict.SILENT
