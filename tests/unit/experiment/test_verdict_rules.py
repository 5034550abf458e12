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
    assert (
        report.table().splitlines()[-1] == "resilience score: 0% (1 injected, 1 SILENT, 1 SKIPPED, 1 INJECTION_ERROR)"
    )


def test_the_table_labels_mapped_tasks_and_faults():
    report = build_report([inj(map_index=2)], [], {}, DOWN)
    row = report.table().splitlines()[2]
    assert (
        row
        == "transform[2]  drop_column(column='price')  schema   SILENT   the fault went in and every task went green"
    )
    assert (
        build_report([], [], {}, {}).table().splitlines()[-1] == "resilience score: n/a (0 injected, nothing recorded)"
    )


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
    assert (result.injection_id, result.task_id, result.map_index, result.kind) == (
        injection.id,
        "transform",
        4,
        "drop_column",
    )
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
    assert (
        build_report([inj()], [], {}, DOWN).to_json()["results"][0]["verdict"] == "SILENT"
    )  # JSON mode: plain strings


def test_the_table_joins_evidence_and_labels_map_index_zero():
    dets = [Detection(check=c, signals=["schema"], passed=False, task_id="validate") for c in ("a", "b")]
    rows = build_report([inj(map_index=0)], dets, {}, DOWN).table().splitlines()
    assert rows[2].startswith("transform[0]  ") and rows[2].endswith("validate:a [schema]; validate:b [schema]")


def test_report_json_holds_plain_strings():
    doc = build_report([inj()], [], {}, DOWN).to_json()
    assert type(doc["results"][0]["verdict"]) is str


# ---------------------------------------------------------------------- quiet checks, timing, attribution
def test_a_check_that_reported_a_failure_without_failing_its_task_is_named_in_the_silent_reason():
    quiet = [
        Detection(check=c, signals=["schema"], passed=True, reported_failure=True, task_id="validate")
        for c in ("cols", "types")
    ]
    other_signal = Detection(
        check="nulls", signals=["completeness"], passed=True, reported_failure=True, task_id="validate"
    )
    plain = Detection(check="rows", signals=["schema"], passed=True, task_id="validate")
    result = one(inj(), [*quiet, other_signal, plain])
    assert result.verdict is Verdict.SILENT
    assert (
        result.reason
        == "validate:cols, validate:types reported a failed result without failing its task: nothing noticed"
    )
    assert result.silent_checks == ["validate:cols", "validate:types"], (
        "only checks on a matching signal that said failed"
    )


def test_quiet_checks_are_listed_only_for_a_silent_verdict():
    quiet = Detection(check="cols", signals=["schema"], passed=True, reported_failure=True, task_id="validate")
    failed = Detection(check="types", signals=["schema"], passed=False, task_id="validate")
    result = one(inj(), [quiet, failed])
    assert result.verdict is Verdict.DETECTED and result.silent_checks == []
    assert result.checks == ["validate:cols", "validate:types"] and result.detected_by == ["validate:types"]


def test_time_to_detect_runs_from_the_injections_end_to_the_first_detection():
    from datetime import datetime, timedelta, timezone

    end = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    injection = inj(seed=77, finished_at=end)
    dets = [
        Detection(check=c, signals=["schema"], passed=False, task_id="validate", at=end + timedelta(seconds=s))
        for c, s in (("late", 9.0), ("first", 0.5))
    ]
    result = one(injection, dets)
    assert result.time_to_detect_s == 0.5 and result.seed == 77
    early = Detection(check="c", signals=["schema"], passed=False, task_id="validate", at=end - timedelta(seconds=3))
    assert one(injection, [early]).time_to_detect_s == 0.0, "a check that ran before the fault ended: no negative time"
    assert one(injection).time_to_detect_s is None


def test_a_detection_crediting_several_injections_marks_each_shared_with_the_others():
    det = Detection(check="cols", signals=["schema"], passed=False, task_id="validate")
    first, second, lone = inj(DropColumn(column="a")), inj(DropColumn(column="b")), inj(Delay(seconds=1))
    results = decide_verdicts([lone, first, second], [det], {}, DOWN)
    assert [r.verdict for r in results] == [Verdict.SILENT, Verdict.DETECTED, Verdict.DETECTED]
    assert (results[0].shared, results[0].shared_with) == (False, [])
    assert (results[1].shared, results[1].shared_with) == (True, [second.id])
    assert (results[2].shared, results[2].shared_with) == (True, [first.id])


def test_the_table_marks_shared_verdicts_and_joins_signals():
    det = Detection(check="c", signals=["schema", "volume"], passed=False, task_id="validate")
    report = build_report([inj(DropColumn(column="a")), inj(DropColumn(column="b"))], [det], {}, DOWN)
    assert all("  DETECTED (shared)  validate:c [schema]" in row for row in report.table().splitlines()[2:4])
    row = build_report([inj(HttpError(status=500))], [], {}, DOWN).table().splitlines()[2]
    assert "  api,volume,completeness  SILENT  " in row


# ---------------------------------------------------------------------- signal weights
def test_signal_weights_parse_from_text_json_and_mappings():
    from airflow_chaos.experiment.verdicts import parse_signal_weights

    assert parse_signal_weights("schema=2, completeness = 1.5") == {"schema": 2.0, "completeness": 1.5}
    assert parse_signal_weights('{"api": 0, "volume": "3"}') == {"api": 0.0, "volume": 3.0}
    assert parse_signal_weights({"freshness": 1}) == {"freshness": 1.0}
    for empty in (None, "", "   ", {}):
        assert parse_signal_weights(empty) == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nosuch=2", r"^signal_weights: unknown signal\(s\) \['nosuch'\]"),
        ("schema=-1", r"^signal_weights: the weight of 'schema' must be a number >= 0, got '-1'$"),
        ({"schema": True}, r"^signal_weights: the weight of 'schema' must be a number >= 0, got True$"),
        ("schema", r"^signal_weights: expected 'signal=weight' pairs"),
        (3, r"^signal_weights: expected a mapping of signal to weight, got int$"),
    ],
)
def test_invalid_signal_weights_name_the_owner_and_the_problem(value, message):
    from airflow_chaos.exceptions import ChaosConfigError
    from airflow_chaos.experiment.verdicts import parse_signal_weights

    with pytest.raises(ChaosConfigError, match=message):
        parse_signal_weights(value)
    with pytest.raises(ChaosConfigError, match=r"^report\.weights: "):
        parse_signal_weights(value, "report.weights")


def _results(*pairs):
    """VerdictResults with the given (signals, verdict), as the rules would give them."""
    from airflow_chaos.experiment.verdicts import VerdictResult

    return [
        VerdictResult(injection_id=str(i), task_id="t", kind="k", fault={}, signals=list(s), verdict=v, reason="")
        for i, (s, v) in enumerate(pairs)
    ]


def test_a_weighted_score_counts_each_injection_by_its_heaviest_signal():
    results = _results(
        (["schema"], Verdict.DETECTED), (["api", "volume"], Verdict.SILENT), (["freshness"], Verdict.SILENT)
    )
    # schema 3, api/volume max(0.5, 2) = 2, freshness unweighted = 1: 3 caught of 6
    assert score(results, {"schema": 3, "api": 0.5, "volume": 2})[0] == pytest.approx(3 / 6)
    assert score(results)[0] == pytest.approx(1 / 3)
    assert score(results, {"schema": 0, "api": 0, "volume": 0, "freshness": 0})[0] is None, "all weights 0: no score"
    no_signal = _results(([], Verdict.DETECTED), (["api"], Verdict.SILENT))
    assert score(no_signal, {"api": 3})[0] == pytest.approx(1 / 4), "an injection without signals weighs 1"
    assert score(no_signal)[0] == pytest.approx(1 / 2)


def test_a_report_with_weights_scores_weighted_and_keeps_the_unweighted_score():
    from airflow_chaos.experiment.verdicts import summarize

    results = _results((["schema"], Verdict.DETECTED), (["api"], Verdict.SILENT))
    report = summarize(results, signal_weights={"schema": 3})
    assert (report.score, report.unweighted_score) == (pytest.approx(3 / 4), pytest.approx(1 / 2))
    assert report.signal_weights == {"schema": 3.0} and report.detections == 0
    assert report.table().splitlines()[-1] == (
        "resilience score: 75% weighted (50% unweighted) (2 injected, 1 DETECTED, 1 SILENT)"
    )
    plain = summarize(results, 4)
    assert (plain.score, plain.unweighted_score, plain.signal_weights, plain.detections) == (0.5, 0.5, {}, 4)
    assert plain.table().splitlines()[-1] == "resilience score: 50% (2 injected, 1 DETECTED, 1 SILENT)"


def test_build_report_applies_the_signal_weights():
    det = Detection(check="c", signals=["schema"], passed=False, task_id="validate")
    report = build_report([inj(), inj(Delay(seconds=1))], [det], {}, DOWN, signal_weights={"freshness": 3})
    assert [r.verdict for r in report.results] == [Verdict.DETECTED, Verdict.SILENT]
    assert (report.score, report.unweighted_score) == (pytest.approx(1 / 4), pytest.approx(1 / 2))


def test_the_table_ends_with_the_controls_steady_state():
    from airflow_chaos.experiment.verdicts import SteadyState, summarize

    held = summarize([], control=SteadyState(passed=True, checks=["v:a", "v:b"])).table().splitlines()
    assert held[-1] == "control 'control': steady state held (2 check(s) passed unfaulted)"
    failed = SteadyState(scenario="base", passed=False, failures=["v:a failed"])
    assert summarize([], control=failed).table().splitlines()[-1] == (
        "control 'base' FAILED its steady state (v:a failed): every verdict is INCONCLUSIVE"
    )
