"""One line per verdict a user must act on: what it means and what to add to the pipeline.

A verdict table says *that* a fault went SILENT; a first-time user also needs to hear what SILENT
means and which check would have caught it. :func:`explain` gives that, one line per SILENT or
INJECTION_ERROR verdict (and one line when every fault was SKIPPED), for the terminal after
the table. No Airflow imports (DESIGN §2).
"""

from __future__ import annotations

from airflow_chaos.experiment.verdicts import ExperimentReport, Verdict, VerdictResult

#: The verdicts that mean "the pipeline missed a fault": ``AssertDetectedOperator``'s default ``fail_on``.
MISSED = frozenset({Verdict.SILENT, Verdict.INJECTION_ERROR})

#: A check that records each signal when it fails, as a user would add it downstream of the faulted task.
CHECK_FOR_SIGNAL: dict[str, str] = {
    "schema": "ValidateDataOperator(required_columns=[...]) or an expect_column_to_exist expectation",
    "completeness": "an expect_column_values_to_not_be_null expectation (ValidateDataOperator(expect=[...]))",
    "validity": "an expect_column_values_to_be_between or _to_be_in_set expectation (ValidateDataOperator)",
    "distribution": "an expect_column_mean_to_be_between or _stdev_to_be_between expectation (ValidateDataOperator)",
    "volume": "an expect_table_row_count_to_be_between expectation, or ValidateApiPayloadOperator(min_rows=...)",
    "freshness": "a FileArrivalSensor or DataFreshnessSensor",
    "ordering": "an expect_column_values_to_be_increasing expectation (ValidateDataOperator)",
    "format": "ValidateDataOperator on the file (an unreadable file is a format detection)",
    "api": "ValidateApiPayloadOperator on the response, or an extract task that raises on HTTP errors",
    "feature.freshness": "a FeatureFreshnessSensor, or CheckFeaturesOperator",
    "feature.validity": "CheckFeaturesOperator",
    "feature.skew": "CheckFeaturesOperator",
    "feature.schema": "CheckFeaturesOperator",
}


def missed(report: ExperimentReport) -> list[VerdictResult]:
    """The results whose verdict means the pipeline missed the fault (SILENT or INJECTION_ERROR)."""
    return [r for r in report.results if r.verdict in MISSED]


def explain(report: ExperimentReport) -> list[str]:
    """One line per SILENT or INJECTION_ERROR verdict, and one line when every fault was SKIPPED."""
    lines = [_explain_one(r) for r in missed(report)]
    if report.results and all(r.verdict is Verdict.SKIPPED for r in report.results):
        lines.append(
            "nothing was injected (every fault SKIPPED): chaos is inert unless enabled "
            "(AIRFLOW__CHAOS__ENABLED=true); the evidence column says what stopped each fault"
        )
    return lines


def _explain_one(result: VerdictResult) -> str:
    task = result.task_id if result.map_index < 0 else f"{result.task_id}[{result.map_index}]"
    if result.verdict is Verdict.INJECTION_ERROR:
        return (
            f"INJECTION_ERROR means the chaos engine itself failed on {result.kind} in {task!r} ({result.reason}) "
            "and the task ran untouched: fix the fault's arguments and run again"
        )
    signals = " or ".join(result.signals) or "any signal"
    hint = next((CHECK_FOR_SIGNAL[s] for s in result.signals if s in CHECK_FOR_SIGNAL), None)
    example = f", e.g. {hint}" if hint else ""
    return (
        f"SILENT means the fault went in and every check stayed green: add a check that fails on {signals} "
        f"downstream of {task!r}{example}"
    )
