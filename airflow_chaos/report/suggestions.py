"""What to add, for every SILENT verdict: the check that would have caught it, built from the fault itself.

``InjectNulls(column='age')`` went unnoticed: add ``expect_column_values_to_not_be_null(column='age')``
to ``validate_raw``. For a table fault the suggestion is a Great Expectations expectation as the dict
``ValidateDataOperator(expect=[...])`` takes, ready to paste; its bounds come from what the injection
recorded (row counts, the column's mean and standard deviation before the fault). A value the fault
cannot tell (the valid range of a column, its allowed categories) is written ``"<fill in: ...>"`` and
listed in ``fill_in``. Faults no expectation can see (HTTP, timing, files, features, the registry)
get the operator or sensor that would have caught them.

The task to add it to is a check already downstream of the faulted task: the one running GX
expectations first, then any check; else a new ``ValidateDataOperator`` downstream of the faulted task.
No Airflow imports (DESIGN §2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from airflow_chaos.experiment.verdicts import Verdict, VerdictResult

#: How far from the mean measured before the fault a suggested mean bound lies, in standard deviations.
MEAN_TOLERANCE_STDS = 0.5
#: A suggested row-count floor: this fraction of the rows the fault saw.
ROW_COUNT_FLOOR = 0.9


class Suggestion(BaseModel):
    """The check that would have caught one SILENT injection."""

    injection_id: str
    scenario: str = ""
    fault: str
    add_to: str | None = None
    expectation: dict[str, Any] | None = None
    check: str
    fill_in: list[str] = Field(default_factory=list)
    text: str


def _defaults(kind: str) -> dict[str, Any]:
    """The fields of fault ``kind`` that have a plain default, and their defaults ({} for an unknown kind)."""
    from airflow_chaos.faults import Fault

    cls = Fault.kinds().get(kind)
    if cls is None:
        return {}
    fields = cls.model_fields.items()
    return {name: f.default for name, f in fields if f.default_factory is None and not f.is_required()}


def fault_label(kind: str, fault: Mapping[str, Any]) -> str:
    """``InjectNulls(column='age', fraction=0.3)``: the fault as its class would be written, defaults left out."""
    defaults = _defaults(kind)
    cls = "".join(part.capitalize() for part in kind.split("_"))
    params = ", ".join(
        f"{k}={v!r}" for k, v in fault.items() if k != "kind" and v is not None and not (k in defaults and defaults[k] == v)
    )
    return f"{cls}({params})"


def _fill(what: str) -> str:
    return f"<fill in: {what}>"


def _expect(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, **kwargs}


# ---------------------------------------------------------------------- table faults -> expectations
def _column_exists(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    return _expect("expect_column_to_exist", column=f["column"])


def _not_null(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    return _expect("expect_column_values_to_not_be_null", column=f["column"])


def _in_range(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    return _expect(
        "expect_column_values_to_be_between",
        column=f["column"],
        min_value=_fill("the lowest valid value"),
        max_value=_fill("the highest valid value"),
    )


def _in_set(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    return _expect("expect_column_values_to_be_in_set", column=f["column"], value_set=[_fill("the valid categories")])


def _distribution(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    mean, std = changes.get("mean_before"), changes.get("std_before")
    if not isinstance(mean, (int, float)) or not isinstance(std, (int, float)):
        return _expect(
            "expect_column_mean_to_be_between",
            column=f.get("column") or f.get("a"),
            min_value=_fill("the lowest normal mean"),
            max_value=_fill("the highest normal mean"),
        )
    if not f.get("mean_shift") and f.get("std_scale", 1.0) != 1.0:
        return _expect(
            "expect_column_stdev_to_be_between",
            column=f["column"],
            min_value=round(std * 0.75, 6),
            max_value=round(std * 1.25, 6),
        )
    half = MEAN_TOLERANCE_STDS * std
    return _expect(
        "expect_column_mean_to_be_between",
        column=f["column"],
        min_value=round(mean - half, 6),
        max_value=round(mean + half, 6),
    )


def _row_count(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    rows = changes.get("rows_before")
    if isinstance(rows, int) and rows > 0:
        return _expect("expect_table_row_count_to_be_between", min_value=int(rows * ROW_COUNT_FLOOR), max_value=rows)
    return _expect("expect_table_row_count_to_be_between", min_value=_fill("the fewest rows a good run has"))


def _no_duplicates(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    rows = changes.get("rows_before")
    if isinstance(rows, int) and rows > 0:
        return _expect("expect_table_row_count_to_be_between", min_value=int(rows * ROW_COUNT_FLOOR), max_value=rows)
    return _expect("expect_compound_columns_to_be_unique", column_list=[_fill("the key columns")])


def _increasing(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    return _expect("expect_column_values_to_be_increasing", column=f.get("column") or _fill("the ordering column"))


def _ordered_columns(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    before = changes.get("previous_order")
    return _expect(
        "expect_table_columns_to_match_ordered_list",
        column_list=list(before) if isinstance(before, list) else [_fill("the columns in order")],
    )


def _column_set(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    return _expect(
        "expect_table_columns_to_match_set", column_set=[_fill("the expected columns")], exact_match=True
    )


_PANDAS_TYPE = {"double": "float64", "float": "float32", "int64": "int64", "int32": "int32", "bool": "bool"}


def _column_type(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    before = str(changes.get("from_type") or "")
    return _expect(
        "expect_column_values_to_be_of_type",
        column=f["column"],
        type_=_PANDAS_TYPE.get(before) or _fill(f"the column's type before the fault ({before or 'unknown'})"),
    )


def _swap(f: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    return _expect(
        "expect_column_mean_to_be_between",
        column=f["a"],
        min_value=_fill(f"the lowest normal mean of {f['a']!r}"),
        max_value=_fill(f"the highest normal mean of {f['a']!r}"),
    )


_EXPECTATIONS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]] = {
    "drop_column": _column_exists,
    "rename_column": _column_exists,
    "add_column": _column_set,
    "cast_column": _column_type,
    "reorder_columns": _ordered_columns,
    "inject_nulls": _not_null,
    "out_of_range": _in_range,
    "corrupt_categories": _in_set,
    "shift_distribution": _distribution,
    "swap_columns": _swap,
    "truncate_rows": _row_count,
    "drop_partition": _row_count,
    "duplicate_rows": _no_duplicates,
    "shuffle_rows": _increasing,
    "out_of_order_timestamps": _increasing,
    "partial_output": _row_count,
    "empty_file": lambda f, changes: _expect("expect_table_row_count_to_be_between", min_value=1),
}

# ---------------------------------------------------------------------- everything else -> an operator or sensor
_HTTP = "ValidateApiPayloadOperator(min_rows=1) on the response, or response.raise_for_status() in the extract task"
_OPERATORS: dict[str, str] = {
    "backdate_timestamps": "DataFreshnessSensor(path=..., max_age=...) on the data, or a max-timestamp expectation",
    "flip_labels": "a model-quality check on a holdout set (signal model.quality) after training",
    "corrupt_bytes": "ValidateDataOperator(data=<the file>) reading the file (an unreadable file is a format detection)",
    "swap_format": "ValidateDataOperator(data=<the file>, data_format=...) reading the file as its format",
    "truncate_file": "ValidateDataOperator(data=<the file>) reading the file (an unreadable file is a format detection)",
    "hold_back_file": "FileArrivalSensor(path=<the file>, arrival_sla=...) before the task that reads it",
    "delay": "DataFreshnessSensor(max_age=...) on the output, or execution_timeout on the task",
    "jitter": "DataFreshnessSensor(max_age=...) on the output, or execution_timeout on the task",
    "false_success": "ValidateDataOperator(expect=[{'type': 'expect_table_row_count_to_be_between', 'min_value': 1}])",
    "stale_features": "CheckFeaturesOperator(materialization=True), or a FeatureFreshnessSensor",
    "feature_lag": "a FeatureFreshnessSensor, or CheckFeaturesOperator on the view's freshness",
    "corrupt_features": "CheckFeaturesOperator(ranges={'<view>:<feature>': (low, high)})",
    "drop_feature": "CheckFeaturesOperator(features=[...]) reading every feature the model uses",
    "serving_skew": "CheckFeaturesOperator with a skew check against the offline store",
    "feature_version_mismatch": "CheckFeaturesOperator with the schema the model was trained on",
    "repoint_alias": "a registry check comparing the alias's version with the expected one (registry.version)",
    "change_signature": "a registry check of the model's signature (registry.metadata)",
    "strip_metadata": "a registry check of the model's signature, tags and description (registry.metadata)",
    "registry_outage": "a task that fails when the registry is unreachable (registry.availability)",
    "broken_model": "a model-quality check of the model behind the alias (model.quality, model.predictions)",
}


def _strip(task_id: str, scenario: str) -> str:
    return task_id.removeprefix(f"{scenario}.") if scenario else task_id


#: Check names of a ValidateDataOperator: a task that takes ``expect=[...]``.
_VALIDATION_CHECKS = ("expect_", "required_columns", "readable_as_")


def target_check_task(result: VerdictResult) -> str | None:
    """The check downstream of the faulted task to add a suggestion to: a GX validation first, then any check."""
    tasks = [key.split(":", 1) for key in result.checks if ":" in key]
    for task, check in tasks:
        if check.startswith(_VALIDATION_CHECKS) and task != result.task_id:
            return _strip(task, result.scenario)
    other = next((task for task, _ in tasks if task != result.task_id), None)
    return _strip(other, result.scenario) if other else None


def _call(expectation: Mapping[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in expectation.items() if k != "type")
    return f"{expectation['type']}({args})"


def suggest(result: VerdictResult) -> Suggestion:
    """The check that would have caught ``result`` (meant for SILENT verdicts, works for any)."""
    label = fault_label(result.kind, result.fault)
    add_to = target_check_task(result)
    build = _EXPECTATIONS.get(result.kind)
    faulted = _strip(result.task_id, result.scenario)
    if build is not None:
        expectation = build(result.fault, result.changes)
        check = _call(expectation)
        fill_in = [k for k, v in expectation.items() if "<fill in:" in repr(v)]
        where = f"to `{add_to}`" if add_to else f"to a new ValidateDataOperator downstream of `{faulted}`"
        text = f"`{label}` went unnoticed: add `{check}` {where}"
        if fill_in:
            text += f" (fill in {', '.join(fill_in)})"
        return Suggestion(
            injection_id=result.injection_id,
            scenario=result.scenario,
            fault=label,
            add_to=add_to,
            expectation=expectation,
            check=check,
            fill_in=fill_in,
            text=text,
        )
    check = _OPERATORS.get(result.kind) or (_HTTP if {"api"} & set(result.signals) else _generic(result.signals))
    return Suggestion(
        injection_id=result.injection_id,
        scenario=result.scenario,
        fault=label,
        add_to=None,
        check=check,
        text=f"`{label}` went unnoticed: add {check} downstream of `{faulted}`",
    )


def _generic(signals: Sequence[str]) -> str:
    return f"a check that fails on {' or '.join(signals) or 'the fault'}"


def suggestions(results: Sequence[VerdictResult]) -> list[Suggestion]:
    """One suggestion per SILENT verdict."""
    return [suggest(r) for r in results if r.verdict is Verdict.SILENT]
