"""Verdict rules, one rule at a time, including the paths tests/unit/experiment/test_verdicts.py leaves open.

The rule for an injection whose own task raised: the task's record says ``outcome="raised"``, and
that alone makes the verdict FAILED_LOUDLY, whatever the run's task states say (the state may be
``up_for_retry``, or missing when the assertion only collected some tasks), with the injected task
named first in the evidence and never twice.
"""

from __future__ import annotations

import pytest

from airflow_chaos.experiment.verdicts import Verdict, build_report, decide_verdicts, score
from airflow_chaos.faults import Delay, DropColumn, HttpError
from airflow_chaos.records import Detection, Injection, InjectionStatus

DOWN = {"extract": {"transform", "validate"}, "transform": {"validate"}, "validate": set()}


def inj(fault=None, status=InjectionStatus.INJECTED, task="transform", **kw) -> Injection:
    return Injection.for_fault(fault or DropColumn(column="price"), status, task_id=task, **kw)


def one(injection, detections=(), states=None, downstream=DOWN):
    (result,) = decide_verdicts([injection], detections, states or {}, downstream)
    return result


# ---------------------------------------------------------------------- the injected task raised
@pytest.mark.parametrize("states", [{}, {"transform": "up_for_retry"}, {"transform": "success"}, {"other": "failed"}])
def test_an_injection_whose_own_task_raised_is_failed_loudly_whatever_the_states_say(states):
    raised = inj(Delay(seconds=1), outcome="raised")
    result = one(raised, states=states)
    assert result.verdict is Verdict.FAILED_LOUDLY
    assert result.reason == "a task raised"
    assert result.evidence == ["transform failed"]


def test_the_raising_injected_task_comes_first_and_once_in_the_evidence():
    raised = inj(Delay(seconds=1), outcome="raised")
    assert one(raised, states={"validate": "failed"}).evidence == ["transform failed", "validate failed"]
    assert one(raised, states={"transform": "failed", "validate": "failed"}).evidence == [
        "transform failed",
        "validate failed",
    ]


def test_an_injection_whose_task_succeeded_is_not_failed_loudly_by_its_outcome():
    assert one(inj(Delay(seconds=1), outcome="success"), states={"transform": "success"}).verdict is Verdict.SILENT
    assert one(inj(Delay(seconds=1)), states={}).verdict is Verdict.SILENT


def test_a_detection_beats_the_raised_outcome():
    det = Detection(check="cols", signals=["schema"], passed=False, task_id="validate")
    assert one(inj(outcome="raised"), [det], {"transform": "failed"}).verdict is Verdict.DETECTED


def test_a_task_upstream_of_the_injection_failing_does_not_count():
    assert one(inj(), states={"extract": "failed", "transform": "success"}).verdict is Verdict.SILENT


def test_only_the_failed_state_is_a_failure():
    for state in ("success", "skipped", "upstream_failed", "up_for_retry", "running"):
        assert one(inj(), states={"validate": state}).verdict is Verdict.SILENT, state
    assert one(inj(), states={"validate": "failed"}).verdict is Verdict.FAILED_LOUDLY


# ---------------------------------------------------------------------- not injected
def test_error_skipped_dry_run_reasons():
    err = one(inj(status=InjectionStatus.ERROR, error="ZeroDivisionError: boom"))
    assert (err.verdict, err.reason) == (Verdict.INJECTION_ERROR, "ZeroDivisionError: boom")
    no_error_text = one(inj(status=InjectionStatus.ERROR, reason="rendering failed"))
    assert no_error_text.reason == "rendering failed"
    assert one(inj(status=InjectionStatus.ERROR)).reason == "the chaos engine failed"
    skipped = one(inj(status=InjectionStatus.SKIPPED, reason="kill switch is on"))
    assert (skipped.verdict, skipped.reason) == (Verdict.SKIPPED, "kill switch is on")
    assert one(inj(status=InjectionStatus.DRY_RUN)).reason == "dry_run"


def test_an_injection_error_beats_a_detection_and_a_raise():
    det = Detection(check="cols", signals=["schema"], passed=False, task_id="validate")
    err = inj(status=InjectionStatus.ERROR, error="x", outcome="raised")
    assert one(err, [det], {"transform": "failed"}).verdict is Verdict.INJECTION_ERROR


def test_an_armed_fault_that_never_triggered_is_skipped_even_when_the_task_raised():
    never = inj(HttpError(status=500), outcome="raised", changes={"effective": False})
    result = one(never, states={"transform": "failed"})
    assert (result.verdict, result.reason) == (Verdict.SKIPPED, "armed, but never triggered")
    assert one(inj(HttpError(status=500), changes={"effective": True}), states={}).verdict is Verdict.SILENT


# ---------------------------------------------------------------------- detections and scope
def test_detection_evidence_names_the_task_check_and_matching_signals():
    det = Detection(check="c", signals=["volume", "schema", "api"], passed=False, task_id="validate")
    result = one(inj(HttpError(status=500)), [det])
    assert result.verdict is Verdict.DETECTED and result.evidence == ["validate:c [api,volume]"]


def test_a_detection_without_a_task_id_counts_anywhere():
    det = Detection(check="c", signals=["schema"], passed=False)
    assert one(inj(), [det]).evidence == ["?:c [schema]"]


def test_without_a_downstream_map_every_task_of_the_run_is_in_scope():
    det = Detection(check="c", signals=["schema"], passed=False, task_id="extract")
    assert one(inj(), [det], {"extract": "success"}, downstream=None).verdict is Verdict.DETECTED
    assert one(inj(), [], {"extract": "failed"}, downstream=None).verdict is Verdict.FAILED_LOUDLY
    assert one(inj(), [det], {"extract": "success"}).verdict is Verdict.SILENT


def test_a_passed_check_is_not_a_detection():
    det = Detection(check="c", signals=["schema"], passed=True, task_id="validate")
    assert one(inj(), [det]).verdict is Verdict.SILENT


# ---------------------------------------------------------------------- recovered
def test_recovered_needs_a_recoverable_fault_and_a_passing_check_in_scope():
    passed = Detection(check="rows", signals=["volume"], passed=True, task_id="validate")
    upstream_pass = Detection(check="rows", signals=["volume"], passed=True, task_id="extract")
    first_try = one(inj(HttpError(status=500), outcome="success"), [passed])
    assert first_try.verdict is Verdict.RECOVERED
    assert first_try.reason == "the task absorbed the fault and the checks on its output passed"
    assert first_try.evidence == ["validate:rows passed"]
    assert one(inj(HttpError(status=500)), [upstream_pass]).verdict is Verdict.SILENT
    assert one(inj(DropColumn(column="a")), [passed]).verdict is Verdict.SILENT
    retried = one(inj(HttpError(status=500), try_number=3), [passed])
    assert retried.reason == "the task retried (try 3) and the checks on its output passed"


# ---------------------------------------------------------------------- score and report
def test_score_counts_caught_over_injected_per_signal():
    results = decide_verdicts(
        [
            inj(DropColumn(column="a"), task="transform"),  # DETECTED (schema)
            inj(Delay(seconds=1), task="transform", outcome="raised"),  # FAILED_LOUDLY (freshness)
            inj(HttpError(status=500), task="transform"),  # SILENT (api, volume, completeness)
            inj(status=InjectionStatus.ERROR, error="x"),  # not counted
            inj(status=InjectionStatus.SKIPPED),  # not counted
        ],
        [Detection(check="c", signals=["schema"], passed=False, task_id="validate")],
        {},
        DOWN,
    )
    overall, by_signal = score(results)
    assert overall == pytest.approx(2 / 3)
    assert by_signal == {"api": 0.0, "completeness": 0.0, "freshness": 1.0, "schema": 1.0, "volume": 0.0}
    assert list(by_signal) == sorted(by_signal)


def test_report_counts_every_verdict_and_names_the_run():
    report = build_report(
        [inj(), inj(status=InjectionStatus.SKIPPED), inj(status=InjectionStatus.ERROR)],
        [Detection(check="c", signals=["schema"], passed=True, task_id="validate")],
        {},
        DOWN,
        dag_id="d",
        run_id="r",
    )
    assert (report.dag_id, report.run_id, report.detections, report.injected) == ("d", "r", 1, 1)
    assert report.counts == {v.value: 0 for v in Verdict} | {"SILENT": 1, "SKIPPED": 1, "INJECTION_ERROR": 1}
    assert report.score == 0.0
    assert report.table().splitlines()[-1] == "resilience score: 0% (1 injected, 1 SILENT, 1 SKIPPED, 1 INJECTION_ERROR)"


def test_the_table_labels_mapped_tasks_and_faults():
    report = build_report([inj(map_index=2)], [], {}, DOWN)
    row = report.table().splitlines()[2]
    assert row == "transform[2]  drop_column(column='price')  schema   SILENT   the fault went in and every task went green"
    assert build_report([], [], {}, {}).table().splitlines()[-1] == "resilience score: n/a (0 injected, nothing recorded)"


# ---------------------------------------------------------------------- exact texts and edge cases
def test_the_table_in_full():
    det = Detection(check="cols", signals=["schema"], passed=False, task_id="validate")
    report = build_report([inj(), inj(Delay(seconds=1), map_index=2)], [det], {}, DOWN)
    assert report.table().splitlines() == [
        "task          fault                                 signals    verdict   evidence" + " " * 35,
        "------------  ------------------------------------  ---------  --------  " + "-" * 43,
        "transform     drop_column(column='price')           schema     DETECTED  validate:cols [schema]" + " " * 21,
        "transform[2]  delay(seconds=1.0, defer_above=60.0)  freshness  SILENT    the fault went in and every task went green",
        "resilience score: 50% (2 injected, 1 DETECTED, 1 SILENT)",
    ]


def test_detected_reason_and_recovered_evidence_texts():
    det = Detection(check="cols", signals=["schema"], passed=False, task_id="validate")
    assert one(inj(), [det]).reason == "a check on a matching signal failed"
    anonymous = Detection(check="rows", signals=["volume"], passed=True)
    assert one(inj(HttpError(status=500)), [anonymous]).evidence == ["?:rows passed"]


def test_a_task_missing_from_the_downstream_map_has_only_itself_in_scope():
    det = Detection(check="c", signals=["schema"], passed=False, task_id="validate")
    assert one(inj(task="load"), [det], {"validate": "failed"}, downstream={}).verdict is Verdict.SILENT
    assert one(inj(task="load", outcome="raised"), [], {}, downstream={}).evidence == ["load failed"]


def test_a_result_carries_the_injections_changes_and_identity():
    injection = inj(changes={"rows_affected": 3}, map_index=4)
    result = one(injection)
    assert result.changes == {"rows_affected": 3}
    assert (result.injection_id, result.task_id, result.map_index, result.kind) == (injection.id, "transform", 4, "drop_column")
    assert result.fault == injection.fault and result.signals == ["schema"]


def test_the_score_per_signal_is_a_share():
    results = decide_verdicts(
        [inj(), inj(DropColumn(column="b")), inj(DropColumn(column="c"), task="extract")],
        [Detection(check="c", signals=["schema"], passed=False, task_id="validate")],
        {},
        {"transform": {"validate"}, "extract": set()},
    )
    assert [r.verdict for r in results] == [Verdict.DETECTED, Verdict.DETECTED, Verdict.SILENT]
    assert score(results) == (pytest.approx(2 / 3), {"schema": pytest.approx(2 / 3)})


def test_a_report_without_a_run_names_none():
    report = build_report([], [])
    assert (report.dag_id, report.run_id) == ("", "")
    assert report.to_json()["counts"] == {v.value: 0 for v in Verdict}
    assert build_report([inj()], [], {}, DOWN).to_json()["results"][0]["verdict"] == "SILENT"  # JSON mode: plain strings


def test_the_table_joins_evidence_and_labels_map_index_zero():
    dets = [Detection(check=c, signals=["schema"], passed=False, task_id="validate") for c in ("a", "b")]
    rows = build_report([inj(map_index=0)], dets, {}, DOWN).table().splitlines()
    assert rows[2].startswith("transform[0]  ") and rows[2].endswith("validate:a [schema]; validate:b [schema]")


def test_report_json_holds_plain_strings():
    doc = build_report([inj()], [], {}, DOWN).to_json()
    assert type(doc["results"][0]["verdict"]) is str
