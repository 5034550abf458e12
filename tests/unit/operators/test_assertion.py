"""AssertDetectedOperator: ``fail_on`` and ``min_score`` decide whether the verdicts fail the run.

``execute`` runs on a real DAG (``extract >> transform >> validate >> assert_detected``) with a
stand-in task instance holding the run's XComs and task states; the same operator through
``dag.test`` is in tests/integration/test_assertion_dags.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from airflow_chaos.exceptions import ChaosAssertionFailed, ChaosConfigError
from airflow_chaos.faults import Delay, DropColumn, HttpError
from airflow_chaos.operators import AssertDetectedOperator
from airflow_chaos.records import Detection, Injection, InjectionStatus
from tests.unit.operators.runtime import FakeTaskInstance


class RunTI(FakeTaskInstance):
    states: dict[str, str]

    def get_task_states(self, dag_id: str, run_ids: list[str]) -> dict[str, dict[str, str]]:
        return {self.run_id: dict(self.states)}


def run_assert(
    injections: list[Injection],
    detections: list[Detection] = (),  # type: ignore[assignment]
    states: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[dict[str, Any] | Exception, dict[str, Any]]:
    """Execute the operator at the end of a real DAG; returns (payload or raised exception, pushed report)."""
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    with DAG(dag_id="orders", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        op = AssertDetectedOperator(task_id="assert_detected", **kwargs)
        EmptyOperator(task_id="extract") >> EmptyOperator(task_id="transform") >> EmptyOperator(task_id="validate") >> op
    ti = RunTI(dag_id="orders", task_id="assert_detected")
    ti.states = states if states is not None else {"extract": "success", "transform": "success", "validate": "success"}
    by_task: dict[str, list[dict[str, Any]]] = {}
    for i in injections:
        by_task.setdefault(i.task_id, []).append(i.to_json())
    for task_id, records in by_task.items():
        ti.store[(task_id, "chaos_injections")] = records
    for d in detections:
        ti.store.setdefault((d.task_id or "validate", "chaos_detections"), []).append(d.to_json())
    try:
        outcome: Any = op.execute({"ti": ti, "dag": dag})
    except ChaosAssertionFailed as exc:
        outcome = exc
    return outcome, ti.store[("assert_detected", "chaos_report")]


def inj(fault=None, task="transform", status=InjectionStatus.INJECTED, **kw) -> Injection:
    return Injection.for_fault(fault or DropColumn(column="price"), status, task_id=task, **kw)


SCHEMA_FAILED = Detection(check="required_columns", signals=["schema"], passed=False, task_id="validate")


# ---------------------------------------------------------------------- fail_on
def test_by_default_a_silent_injection_fails_the_assertion():
    outcome, report = run_assert([inj()])
    assert isinstance(outcome, ChaosAssertionFailed)
    message = str(outcome)
    assert message.startswith("1 injection(s) with verdict in ['SILENT', 'INJECTION_ERROR', 'INCONCLUSIVE']:")
    assert "transform: drop_column -> SILENT (the fault went in and every task went green)" in message
    assert "Full report in XCom 'chaos_report' of task 'assert_detected'." in message
    assert report["counts"]["SILENT"] == 1


def test_by_default_an_injection_error_fails_the_assertion():
    outcome, _ = run_assert([inj(status=InjectionStatus.ERROR, error="ZeroDivisionError: x")])
    assert isinstance(outcome, ChaosAssertionFailed) and "INJECTION_ERROR" in str(outcome)


def test_a_detected_injection_passes_and_returns_the_report():
    outcome, report = run_assert([inj()], [SCHEMA_FAILED], {"transform": "success", "validate": "failed"})
    assert outcome == report
    assert report["counts"]["DETECTED"] == 1 and report["score"] == 1.0
    assert (report["dag_id"], report["run_id"]) == ("orders", "manual__2026-01-01")


def test_an_empty_fail_on_lets_a_silent_run_pass():
    outcome, report = run_assert([inj()], fail_on=())
    assert not isinstance(outcome, Exception)
    assert report["results"][0]["verdict"] == "SILENT"


def test_fail_on_silent_only_lets_an_injection_error_pass():
    outcome, _ = run_assert([inj(status=InjectionStatus.ERROR, error="x")], fail_on=["SILENT"])
    assert not isinstance(outcome, Exception)
    outcome, _ = run_assert([inj()], fail_on=["SILENT"])
    assert isinstance(outcome, ChaosAssertionFailed)


def test_fail_on_can_name_any_verdict():
    outcome, _ = run_assert(
        [inj(Delay(seconds=1), outcome="raised")], states={"transform": "failed"}, fail_on=["FAILED_LOUDLY"]
    )
    assert isinstance(outcome, ChaosAssertionFailed)
    assert str(outcome).startswith("1 injection(s) with verdict in ['FAILED_LOUDLY']")


def test_the_message_lists_every_failing_injection():
    outcome, _ = run_assert([inj(), inj(HttpError(status=500)), inj(status=InjectionStatus.ERROR, error="e")])
    assert isinstance(outcome, ChaosAssertionFailed)
    assert str(outcome).startswith("3 injection(s) with verdict in")
    assert "transform: http_error -> SILENT" in str(outcome) and "transform: drop_column -> INJECTION_ERROR" in str(outcome)


def test_skipped_injections_never_fail_the_default_assertion():
    outcome, report = run_assert([inj(status=InjectionStatus.SKIPPED, reason="kill switch")])
    assert not isinstance(outcome, Exception) and report["score"] is None


# ---------------------------------------------------------------------- min_score
def _half_caught() -> list[Injection]:
    return [inj(DropColumn(column="a")), inj(Delay(seconds=1))]  # DETECTED (schema) + SILENT (freshness)


def test_min_score_fails_a_run_scoring_below_it():
    outcome, report = run_assert(_half_caught(), [SCHEMA_FAILED], fail_on=(), min_score=0.6)
    assert report["score"] == 0.5
    assert isinstance(outcome, ChaosAssertionFailed)
    assert str(outcome).startswith("resilience score 0.50 < min_score 0.6\nFull report in XCom")


def test_min_score_equal_to_the_score_passes():
    outcome, _ = run_assert(_half_caught(), [SCHEMA_FAILED], fail_on=(), min_score=0.5)
    assert not isinstance(outcome, Exception)


def test_min_score_and_fail_on_are_both_reported():
    outcome, _ = run_assert(_half_caught(), [SCHEMA_FAILED], min_score=0.9)
    assert isinstance(outcome, ChaosAssertionFailed)
    first_line = str(outcome).splitlines()[0]
    assert first_line == (
        "1 injection(s) with verdict in ['SILENT', 'INJECTION_ERROR', 'INCONCLUSIVE']; resilience score 0.50 < min_score 0.9:"
    )


def test_min_score_ignores_a_run_with_nothing_injected():
    outcome, report = run_assert([inj(status=InjectionStatus.DRY_RUN)], min_score=1.0)
    assert report["score"] is None and not isinstance(outcome, Exception)


def test_min_score_zero_never_fails_on_the_score():
    outcome, _ = run_assert([inj()], fail_on=(), min_score=0.0)
    assert not isinstance(outcome, Exception)


# ---------------------------------------------------------------------- parse time
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fail_on": ["SILENT", "MISSED"]}, r"field 'fail_on': unknown verdict\(s\) \['MISSED'\]; allowed: \['DETECTED'"),
        ({"fail_on": ["silent"]}, r"field 'fail_on': unknown verdict\(s\) \['silent'\]"),
        ({"min_score": 1.5}, "field 'min_score' must be in \\[0, 1\\], got 1.5"),
        ({"min_score": -0.1}, "field 'min_score' must be in \\[0, 1\\], got -0.1"),
    ],
)
def test_bad_arguments_fail_at_parse_time(kwargs, message):
    with pytest.raises(ChaosConfigError, match=message):
        AssertDetectedOperator(task_id="assert_detected", **kwargs)


def test_defaults():
    op = AssertDetectedOperator(task_id="assert_detected", min_score=1)
    assert op.fail_on == ("SILENT", "INJECTION_ERROR", "INCONCLUSIVE") and op.min_score == 1
    assert op.trigger_rule == "all_done"
