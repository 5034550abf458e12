"""What to add, for every SILENT verdict (issue #11): generated from the fault and its parameters."""

from __future__ import annotations

import pytest

from airflow_chaos.experiment.verdicts import Verdict, VerdictResult
from airflow_chaos.faults import Fault
from airflow_chaos.report.suggestions import _EXPECTATIONS, _OPERATORS, fault_label, suggest, suggestions


def silent(kind: str, fault: dict, *, checks=(), changes=None, task="prepare", scenario="") -> VerdictResult:
    return VerdictResult(
        injection_id="i1",
        task_id=f"{scenario}.{task}" if scenario else task,
        kind=kind,
        fault={"kind": kind, **fault},
        signals=list(Fault.kinds()[kind].signals) if kind in Fault.kinds() else ["validity"],
        verdict=Verdict.SILENT,
        reason="the fault went in and every task went green",
        checks=list(checks),
        changes=changes or {},
        scenario=scenario,
    )


def test_every_fault_kind_gets_a_specific_suggestion():
    generic = [
        kind
        for kind, cls in Fault.kinds().items()
        if cls.__module__.startswith("airflow_chaos.")  # other tests register kinds of their own
        and kind not in _EXPECTATIONS
        and kind not in _OPERATORS
        and "api" not in cls.signals
    ]
    assert generic == [], "a fault kind without its own suggestion: add it to report/suggestions.py"


def test_the_issue_example_inject_nulls_names_the_expectation_and_the_check_task():
    result = silent(
        "inject_nulls",
        {"column": "age", "fraction": 0.3, "mechanism": "MCAR", "condition_column": None, "path": None},
        checks=["nulls.validate_raw:expect_table_row_count_to_be_between", "nulls.train:task_outcome"],
        scenario="nulls",
    )
    s = suggest(result)
    assert s.expectation == {"type": "expect_column_values_to_not_be_null", "column": "age"}
    assert s.add_to == "validate_raw" and s.scenario == "nulls"
    assert s.text == (
        "`InjectNulls(column='age', fraction=0.3)` went unnoticed: add "
        "`expect_column_values_to_not_be_null(column='age')` to `validate_raw`"
    )


def test_row_count_bounds_come_from_what_the_injection_recorded():
    s = suggest(silent("truncate_rows", {"keep_fraction": 0.5}, changes={"rows_before": 1000, "rows_after": 500}))
    assert s.expectation == {"type": "expect_table_row_count_to_be_between", "min_value": 900, "max_value": 1000}
    assert s.fill_in == [] and s.add_to is None
    assert s.text.endswith("to a new ValidateDataOperator downstream of `prepare`")


def test_a_value_the_fault_cannot_tell_is_a_named_placeholder():
    s = suggest(silent("out_of_range", {"column": "price", "fraction": 0.1, "scale": 100.0, "value": None}))
    assert s.expectation["type"] == "expect_column_values_to_be_between"
    assert s.expectation["min_value"] == "<fill in: the lowest valid value>"
    assert s.fill_in == ["min_value", "max_value"] and s.text.endswith("(fill in min_value, max_value)")


def test_reordered_columns_get_the_order_they_had():
    s = suggest(silent("reorder_columns", {"order": None}, changes={"previous_order": ["a", "b", "c"]}))
    assert s.expectation == {"type": "expect_table_columns_to_match_ordered_list", "column_list": ["a", "b", "c"]}


@pytest.mark.parametrize(
    ("kind", "fault", "expected"),
    [
        ("http_error", {"status": 500}, "ValidateApiPayloadOperator(min_rows=1)"),
        ("delay", {"seconds": 1.0}, "DataFreshnessSensor"),
        ("corrupt_features", {"feature": "conv_rate", "fraction": 0.2, "repo": "/r", "feature_view": "v"}, "CheckFeaturesOperator(ranges="),
        ("truncate_file", {"path": "/d/raw.csv", "keep_fraction": 0.5}, "ValidateDataOperator(data=<the file>)"),
    ],
)
def test_faults_no_expectation_sees_get_the_operator_that_would_catch_them(kind, fault, expected):
    s = suggest(silent(kind, fault))
    assert s.expectation is None and expected in s.check
    assert s.text.startswith(f"`{fault_label(kind, {'kind': kind, **fault})}` went unnoticed: add ")


def test_only_silent_verdicts_get_suggestions():
    caught = silent("inject_nulls", {"column": "age", "fraction": 0.3}).model_copy(update={"verdict": Verdict.DETECTED})
    assert [s.check for s in suggestions([caught, silent("drop_column", {"column": "x"})])] == [
        "expect_column_to_exist(column='x')"
    ]
