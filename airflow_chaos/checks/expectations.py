"""Great Expectations (GX Core 1.x) checks: validate a DataFrame and return one Detection per expectation.

Expectations come as GX expectation objects, as plain dicts (so DAG files need not import GX at
parse time), as an ``ExpectationSuite`` (object, dict or JSON file path), or are derived from a
reference dataset by :func:`profile_expectations`. Each expectation type maps to a signal
(:func:`signals_for`); its severity is ``critical`` unless ``meta={"severity": "warning"}`` (or the
expectation's own GX ``severity``) says otherwise.

Pure: no Airflow imports, and ``great_expectations`` is imported only inside the functions that run
a validation (it costs about 10 s and 300 MB).

Example::

    validate_frame(df, [
        {"type": "expect_column_values_to_not_be_null", "column": "qty"},
        {"type": "expect_column_mean_to_be_between", "column": "price", "min_value": 5, "max_value": 15,
         "meta": {"severity": "warning"}},
    ])
"""

from __future__ import annotations

import copy
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.records import SIGNALS, Detection

if TYPE_CHECKING:
    import pandas as pd

RESULT_FORMATS: tuple[str, ...] = ("BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE")
#: Validation engines (:func:`airflow_chaos.checks.native.validate`): native when it can, native only, or GE.
ENGINES: tuple[str, ...] = ("auto", "native", "gx")
SEVERITIES: tuple[str, ...] = ("critical", "warning")
MAX_LIST_ITEMS = 1000
_SPEC_KEYS = frozenset({"type", "kwargs", "meta", "id", "severity", "notes", "description", "rendered_content"})

# ---------------------------------------------------------------------- signals
_SIGNAL_BY_TYPE: dict[str, str] = {
    "expect_column_to_exist": "schema",
    "expect_table_columns_to_match_set": "schema",
    "expect_table_columns_to_match_ordered_list": "schema",
    "expect_table_column_count_to_equal": "schema",
    "expect_table_column_count_to_be_between": "schema",
    "expect_column_values_to_be_of_type": "schema",
    "expect_column_values_to_be_in_type_list": "schema",
    "expect_column_values_to_not_be_null": "completeness",
    "expect_column_values_to_be_null": "completeness",
    "expect_column_values_to_be_between": "validity",
    "expect_column_values_to_be_in_set": "validity",
    "expect_column_values_to_not_be_in_set": "validity",
    "expect_column_values_to_match_regex": "validity",
    "expect_column_values_to_not_match_regex": "validity",
    "expect_column_values_to_match_regex_list": "validity",
    "expect_column_values_to_be_unique": "validity",
    "expect_column_value_lengths_to_be_between": "validity",
    "expect_column_value_lengths_to_equal": "validity",
    "expect_column_min_to_be_between": "validity",
    "expect_column_max_to_be_between": "validity",
    "expect_column_mean_to_be_between": "distribution",
    "expect_column_median_to_be_between": "distribution",
    "expect_column_stdev_to_be_between": "distribution",
    "expect_column_sum_to_be_between": "distribution",
    "expect_column_quantile_values_to_be_between": "distribution",
    "expect_column_kl_divergence_to_be_less_than": "distribution",
    "expect_column_unique_value_count_to_be_between": "distribution",
    "expect_column_proportion_of_unique_values_to_be_between": "distribution",
    "expect_column_most_common_value_to_be_in_set": "distribution",
    "expect_column_distinct_values_to_be_in_set": "validity",
    "expect_column_distinct_values_to_contain_set": "distribution",
    "expect_column_distinct_values_to_equal_set": "distribution",
    "expect_table_row_count_to_be_between": "volume",
    "expect_table_row_count_to_equal": "volume",
    "expect_table_row_count_to_equal_other_table": "volume",
    "expect_column_values_to_be_increasing": "ordering",
    "expect_column_values_to_be_decreasing": "ordering",
}
_SIGNAL_BY_PATTERN: tuple[tuple[str, str], ...] = (
    (r"null", "completeness"),
    (r"row_count", "volume"),
    (r"increasing|decreasing", "ordering"),
    (r"type|to_exist|table_column", "schema"),
    (r"mean|median|stdev|quantile|kl_divergence|sum|proportion|unique_value_count", "distribution"),
)
_RECENCY_TYPES = frozenset({"expect_column_max_to_be_between", "expect_column_min_to_be_between"})


def signals_for(expectation_type: str, meta: Mapping[str, Any] | None = None, temporal: bool = False) -> list[str]:
    """The signal(s) an expectation covers.

    ``meta={"signals": [...]}`` overrides; a min/max check on a timestamp column (``temporal``) is
    ``freshness``; unknown types are classified by name, defaulting to ``validity``.
    """
    override = (meta or {}).get("signals")
    if override:
        chosen = [override] if isinstance(override, str) else list(override)
        unknown = [s for s in chosen if s not in SIGNALS]
        if unknown:
            raise ChaosConfigError(f"{expectation_type}: meta 'signals': unknown {unknown}; allowed: {SIGNALS}")
        return chosen
    if temporal and expectation_type in _RECENCY_TYPES:
        return ["freshness"]
    if expectation_type in _SIGNAL_BY_TYPE:
        return [_SIGNAL_BY_TYPE[expectation_type]]
    for pattern, signal in _SIGNAL_BY_PATTERN:
        if re.search(pattern, expectation_type):
            return [signal]
    return ["validity"]


def severity_of(meta: Mapping[str, Any] | None, gx_severity: Any = None) -> str:
    """``meta["severity"]`` if set, else the GX expectation's own severity; GX ``info`` counts as warning."""
    raw = (meta or {}).get("severity", gx_severity) or "critical"
    value = str(getattr(raw, "value", raw)).lower()
    if value == "info":
        return "warning"
    if value not in SEVERITIES:
        raise ChaosConfigError(f"meta 'severity': got {value!r}; allowed: {', '.join(SEVERITIES)}")
    return value


# ---------------------------------------------------------------------- JSON safety
def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _json_sequence(value: Sequence[Any] | set[Any] | frozenset[Any]) -> list[Any]:
    items = list(value)
    return [json_safe(v) for v in items[:MAX_LIST_ITEMS]]


def _plain(value: int | str) -> int | str:
    return int(value) if isinstance(value, int) else str(value)


def json_safe(value: Any) -> Any:
    """Convert numpy scalars, timestamps, NaN and containers into plain JSON values (lists capped)."""
    if value is None or type(value) in (bool, int, str):
        return value
    if isinstance(value, (int, str)):  # subclasses such as numpy.str_ or IntEnum
        return _plain(value)
    if isinstance(value, float):  # numpy.float64 is a float subclass
        return _json_float(float(value))
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return _json_sequence(value)
    if hasattr(value, "isoformat"):
        return None if str(value) == "NaT" else value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return json_safe(value.tolist())
    if hasattr(value, "to_json_dict"):
        return json_safe(value.to_json_dict())
    return str(value)


# ---------------------------------------------------------------------- expectation specs without GX
def check_spec(spec: Any, field: str = "expect") -> None:
    """Validate a dict expectation spec without importing GX (for operator ``__init__``)."""
    if not isinstance(spec, Mapping):
        return
    kind = spec.get("type")
    if not isinstance(kind, str) or not kind.startswith("expect_"):
        raise ChaosConfigError(
            f"field {field!r}: a dict expectation needs a 'type' like 'expect_column_values_to_not_be_null', got {kind!r}"
        )
    for key in ("meta", "kwargs"):
        if not isinstance(spec.get(key) or {}, Mapping):
            raise ChaosConfigError(f"field {field!r}: {kind}: '{key}' must be a mapping, got {spec[key]!r}")
    meta = spec.get("meta") or {}
    severity_of(meta, spec.get("severity"))
    if "signals" in meta:
        signals_for(kind, meta)


def _spec_parts(spec: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(type, kwargs, meta)`` of a dict spec: kwargs nested under ``"kwargs"`` or given flat.

    A top-level ``severity`` (GX's own field) is carried in ``meta``, where :func:`severity_of` reads it.
    """
    check_spec(spec)
    kwargs = dict(spec["kwargs"]) if "kwargs" in spec else {k: v for k, v in spec.items() if k not in _SPEC_KEYS}
    meta = dict(spec.get("meta") or {})
    if spec.get("severity") is not None:
        meta.setdefault("severity", spec["severity"])
    return str(spec["type"]), kwargs, meta


def is_suite_path(value: Any) -> bool:
    return isinstance(value, (str, Path)) and str(value).lower().endswith(".json")


def load_suite_json(path: str | Path) -> dict[str, Any]:
    """Read a suite saved as JSON (``suite.to_json_dict()``)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ChaosConfigError(f"field 'expect': cannot read the suite JSON {str(path)!r}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ChaosConfigError(f"field 'expect': {str(path)!r} is not a suite: no 'expectations' list")
    return data


# ---------------------------------------------------------------------- baseline from a reference
@dataclass(frozen=True)
class ProfileTolerances:
    """How far the validated data may drift from the reference before a baseline expectation fails.

    :param range_margin: min/max widened by this fraction of the reference span on each side.
    :param mean_tolerance: the mean may move by this many reference standard deviations.
    :param stdev_tolerance: the standard deviation may change by this fraction.
    :param row_count_tolerance: the row count may change by this fraction.
    :param null_slack: extra null fraction allowed over the reference's (0 when the reference had none).
    :param max_categories: text columns with at most this many distinct values get an in-set check.
    """

    range_margin: float = 0.1
    mean_tolerance: float = 0.25
    stdev_tolerance: float = 0.25
    row_count_tolerance: float = 0.2
    null_slack: float = 0.01
    max_categories: int = 20


def _kind(series: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "text"


_TYPE_FAMILIES: dict[str, list[str]] = {
    "bool": ["bool", "boolean", "bool_"],
    "int": [
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
    ],
    "float": ["float16", "float32", "float64", "Float32", "Float64"],
    "datetime": ["datetime64", "datetime64[ns]", "datetime64[us]", "datetime64[ms]", "Timestamp", "DatetimeTZDtype"],
    "text": ["object", "object_", "str", "string", "StringDtype", "category", "CategoricalDtypeType"],
}


def _type_spec(column: str, series: pd.Series) -> dict[str, Any] | None:
    kind = _kind(series)
    if kind == "datetime" and getattr(series.dtype, "tz", None) is not None:
        # GX 1.24 reports tz-aware columns as "Timestamp" and only expect_column_values_to_be_of_type accepts it.
        return {"type": "expect_column_values_to_be_of_type", "column": column, "type_": "Timestamp"}
    family = _TYPE_FAMILIES.get(kind)
    if family is None or str(series.dtype) == "category":  # GX 1.24 rejects categoricals in a type list
        return None
    return {"type": "expect_column_values_to_be_in_type_list", "column": column, "type_list": family}


def _base_column(column: str, series: pd.Series, tol: ProfileTolerances) -> list[dict[str, Any]]:
    specs: list[dict[str, Any]] = [{"type": "expect_column_to_exist", "column": column}]
    type_spec = _type_spec(column, series)
    if type_spec:
        specs.append(type_spec)
    null_fraction = float(series.isna().mean()) if len(series) else 0.0
    not_null: dict[str, Any] = {"type": "expect_column_values_to_not_be_null", "column": column}
    if null_fraction > 0:
        not_null["mostly"] = round(max(0.0, 1.0 - null_fraction * 1.5 - tol.null_slack), 6)
    specs.append(not_null)
    return specs


def _numeric_column(column: str, series: pd.Series, tol: ProfileTolerances) -> list[dict[str, Any]]:
    values = series.dropna().astype("float64")
    if values.empty:
        return []
    low, high, mean, std = float(values.min()), float(values.max()), float(values.mean()), float(values.std(ddof=0))
    margin = (high - low) * tol.range_margin or abs(high) * tol.range_margin or 1.0
    specs: list[dict[str, Any]] = [
        {
            "type": "expect_column_values_to_be_between",
            "column": column,
            "min_value": low - margin,
            "max_value": high + margin,
        },
    ]
    if std > 0:
        shift = std * tol.mean_tolerance
        specs += [
            {
                "type": "expect_column_mean_to_be_between",
                "column": column,
                "min_value": mean - shift,
                "max_value": mean + shift,
            },
            {
                "type": "expect_column_stdev_to_be_between",
                "column": column,
                "min_value": std * (1 - tol.stdev_tolerance),
                "max_value": std * (1 + tol.stdev_tolerance),
            },
        ]
    return specs


def _text_column(column: str, series: pd.Series, tol: ProfileTolerances) -> list[dict[str, Any]]:
    values = series.dropna()
    distinct = values.unique()
    if len(values) < 2 * tol.max_categories or not 0 < len(distinct) <= tol.max_categories:
        return []
    return [{"type": "expect_column_values_to_be_in_set", "column": column, "value_set": sorted(map(str, distinct))}]


def profile_expectations(reference: Any, tolerances: ProfileTolerances | None = None) -> list[dict[str, Any]]:
    """A baseline suite (as dict specs) from a reference dataset.

    Per column: exists, type family, not-null (with the reference's null rate plus slack), and for
    numeric columns a widened range, mean and standard deviation; low-cardinality text columns get
    an in-set check. For the table: the row count within ``row_count_tolerance``.
    """
    from airflow_chaos.checks.formats import to_frame

    tol = tolerances or ProfileTolerances()
    frame = to_frame(reference)
    rows = len(frame)
    specs: list[dict[str, Any]] = [
        {
            "type": "expect_table_row_count_to_be_between",
            "min_value": math.floor(rows * (1 - tol.row_count_tolerance)),
            "max_value": math.ceil(rows * (1 + tol.row_count_tolerance)),
        }
    ]
    for name in frame.columns:
        column, series = str(name), frame[name]
        specs += _base_column(column, series, tol)
        kind = _kind(series)
        if kind in ("int", "float", "numeric"):
            specs += _numeric_column(column, series, tol)
        elif kind == "text":
            specs += _text_column(column, series, tol)
    for spec in specs:
        spec.setdefault("meta", {})["profiled"] = True
    return json_safe(specs)


# ---------------------------------------------------------------------- building GX objects
def _recency(kwargs: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """Resolve ``max_age_seconds`` into ``min_value = now - max_age`` in the column's timezone."""
    import pandas as pd

    age = kwargs.pop("max_age_seconds", None)
    if age is None:
        return kwargs
    column = kwargs.get("column")
    tz = getattr(frame[column].dtype, "tz", None) if column in frame.columns else None
    cutoff = pd.Timestamp(datetime.now(timezone.utc) - timedelta(seconds=float(age)))
    kwargs["min_value"] = cutoff if tz is not None else cutoff.tz_localize(None)
    return kwargs


def _from_spec(spec: Mapping[str, Any], frame: pd.DataFrame) -> Any:
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    kind, kwargs, meta = _spec_parts(spec)
    try:
        return ExpectationConfiguration(type=kind, kwargs=_recency(kwargs, frame), meta=meta).to_domain_obj()
    except Exception as exc:
        raise ChaosConfigError(f"field 'expect': invalid expectation {kind!r}: {exc}") from exc


def _expectation_list(expect: Any) -> list[Any]:
    """Flatten ``expect`` (one item, a list, a suite object, a suite dict or a suite JSON path) into items."""
    if expect is None:
        return []
    if is_suite_path(expect):
        return list(load_suite_json(expect)["expectations"])
    if isinstance(expect, Mapping) and "expectations" in expect:
        return list(expect["expectations"])
    if hasattr(expect, "expectations") and not isinstance(expect, Mapping):
        return list(expect.expectations)
    if isinstance(expect, (list, tuple)):
        return [item for part in expect for item in _expectation_list(part)]
    return [expect]


def _to_gx(item: Any, frame: pd.DataFrame) -> Any:
    if isinstance(item, Mapping):
        return _from_spec(item, frame)
    if not hasattr(item, "expectation_type") and not hasattr(item, "configuration"):
        raise ChaosConfigError(
            f"field 'expect': expected a GX expectation, a dict with 'type', or a suite; got {type(item).__name__}"
        )
    duplicate = copy.copy(item)
    duplicate.id = None
    return duplicate


def build_suite(expect: Any, frame: pd.DataFrame, name: str = "airflow_chaos") -> tuple[Any, list[str]]:
    """A fresh ``ExpectationSuite`` holding copies of the expectations, and their ids in the order given.

    GX needs an active context to build a suite: call :func:`gx_context` first.
    """
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name)
    ids: list[str] = []
    for item in _expectation_list(expect):
        added = suite.add_expectation(_to_gx(item, frame))
        kept = next((e for e in suite.expectations if e is added), None) or _equalish(suite, added)
        if kept.id is None:
            kept.id = str(uuid.uuid4())
        ids.append(kept.id)
    return suite, ids


def _equalish(suite: Any, expectation: Any) -> Any:
    """The expectation already in ``suite`` that GX judged equal to ``expectation`` (a suite is set-like)."""
    skip = {"id", "rendered_content", "notes", "meta"}
    wanted = (expectation.expectation_type, expectation.dict(exclude=skip))
    return next(e for e in suite.expectations if (e.expectation_type, e.dict(exclude=skip)) == wanted)


def gx_context() -> Any:
    """An ephemeral GX context with progress bars and analytics off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def check_result_format(result_format: str) -> None:
    if result_format not in RESULT_FORMATS:
        raise ChaosConfigError(f"field 'result_format': got {result_format!r}; allowed: {', '.join(RESULT_FORMATS)}")


def run_suite(context: Any, frame: pd.DataFrame, suite: Any, result_format: str = "SUMMARY") -> Any:
    """Validate ``frame`` against ``suite`` in ``context``; the GX suite validation result."""
    check_result_format(result_format)
    asset = context.data_sources.add_pandas("airflow_chaos").add_dataframe_asset("data")
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format=result_format)


# ---------------------------------------------------------------------- results into Detections
def _error_of(exception_info: Any) -> str | None:
    """The exception message of a result, whether GX keyed it by metric id or not."""
    if not isinstance(exception_info, Mapping):
        return None
    if "raised_exception" in exception_info:
        return exception_info.get("exception_message") if exception_info.get("raised_exception") else None
    messages = [v.get("exception_message") for v in exception_info.values() if isinstance(v, Mapping)]
    return "; ".join(m for m in messages if m) or None


def _check_name(kind: str, kwargs: Mapping[str, Any]) -> str:
    if "column" in kwargs:
        return f"{kind}:{kwargs['column']}"
    if "column_A" in kwargs:
        return f"{kind}:{kwargs['column_A']},{kwargs.get('column_B')}"
    return kind


def _is_temporal(frame: pd.DataFrame, column: Any) -> bool:
    import pandas as pd

    return column in frame.columns and bool(pd.api.types.is_datetime64_any_dtype(frame[column]))


def detection_of(result: Any, frame: pd.DataFrame) -> Detection:
    """One Detection from one GX ``ExpectationValidationResult``."""
    config = result.expectation_config
    kwargs = {k: v for k, v in dict(config.kwargs).items() if k != "batch_id"}
    meta = dict(config.meta or {})
    observed: dict[str, Any] = {
        "expectation": config.type,
        "kwargs": json_safe(kwargs),
        **json_safe(result.result or {}),
    }
    error = _error_of(result.exception_info)
    if error:
        observed["error"] = error
    observed["engine"] = "gx"
    return Detection(
        check=_check_name(config.type, kwargs),
        signals=signals_for(config.type, meta, _is_temporal(frame, kwargs.get("column"))),
        passed=bool(result.success),
        observed=observed,
        severity=severity_of(meta, getattr(config, "severity", None)),
    )


def detections_from(results: Any, ids: Sequence[str], frame: pd.DataFrame) -> list[Detection]:
    """Detections in the order the expectations were given, matched by ``expectation_config.id``."""
    by_id = {r.expectation_config.id: r for r in results.results}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise RuntimeError(f"GX returned no result for {len(missing)} expectation(s): {missing}")
    seen: set[str] = set()
    ordered = []
    for expectation_id in ids:
        if expectation_id not in seen:
            seen.add(expectation_id)
            ordered.append(detection_of(by_id[expectation_id], frame))
    return ordered


def validate_frame(
    data: Any,
    expect: Any = None,
    *,
    profile_from: Any = None,
    result_format: str = "SUMMARY",
    tolerances: ProfileTolerances | None = None,
) -> list[Detection]:
    """Validate ``data`` with Great Expectations; one Detection per expectation.

    :param data: a pandas DataFrame, an Arrow table, a list of records or a dict of columns.
    :param expect: one expectation, a list, a suite, a suite dict or a suite JSON path.
    :param profile_from: a reference dataset; its baseline (:func:`profile_expectations`) is added.
    :param result_format: GX result format: BOOLEAN_ONLY, BASIC, SUMMARY (default) or COMPLETE.
    """
    from airflow_chaos.checks.formats import to_frame

    frame = to_frame(data)
    items = _expectation_list(expect)
    if profile_from is not None:
        items += profile_expectations(profile_from, tolerances)
    if not items:
        raise ChaosConfigError("give at least one expectation: field 'expect' or 'profile_from'")
    check_result_format(result_format)
    context = gx_context()
    suite, ids = build_suite(items, frame)
    return detections_from(run_suite(context, frame, suite, result_format), ids, frame)
