"""The native engine: the common Great Expectations expectations evaluated on Arrow, with GE's verdicts.

Great Expectations stays the reference. This engine evaluates the expectations pipelines use most
(listed in :data:`SUPPORTED`) with ``pyarrow.compute`` and NumPy views of Arrow buffers, never a
Python loop over values, and returns the same Detections as :func:`~airflow_chaos.checks.expectations.validate_frame`:
the same check names, signals and severities, and the same ``result`` fields for each
``result_format`` (``observed_value``, ``element_count``, ``unexpected_count`` and percentages,
``partial_unexpected_list``, ``partial_unexpected_counts``, index lists). It reads the same inputs
(GE expectation objects, dicts, suites, suite files) without importing ``great_expectations``.

:func:`validate` picks the engine: ``auto`` evaluates natively when every expectation (and the data it
reads) is supported and otherwise hands the whole suite to GE; ``native`` refuses what it cannot
evaluate with a :class:`~airflow_chaos.exceptions.ChaosConfigError`; ``gx`` always runs GE. Each
Detection says which engine ran (``observed["engine"]``).

What "GE's verdict" means here, found by running both engines side by side
(``tests/unit/checks/test_parity_native.py``) and matched on purpose:

* **NaN is null.** GE validates a pandas frame, where NaN, None and NaT are all missing; an Arrow
  float column can hold NaN and null apart. Both count as missing here (not-null checks fail on them,
  map checks skip them, aggregates ignore them). ``inf`` is a value, not missing, in both.
* **Map expectations skip missing values**: ``unexpected_percent`` is of the non-missing rows;
  ``expect_column_values_to_not_be_null`` reports no ``missing_*`` fields and its percentage is of
  all rows. A table, or a column, with nothing to check passes (GE: "vacuously true").
* **mostly** is GE's ``(considered - unexpected) / considered >= mostly`` in floats, no tolerance.
* **Bounds are parsed as GE's pydantic models parse them**: numbers and numeric strings become
  floats (``"1.5"``, ``"inf"``); ``"2024-01-02"`` (or a ``date``) is a *date*, which GE cannot compare
  with a timestamp column (the check fails with an error); ISO datetimes with or without an offset are
  datetimes; comparing a naive bound with a tz-aware column (or the reverse) fails with an error, as
  in GE. Row-count bounds must be integers.
* **Aggregates are pandas' own**: mean, median, standard deviation (ddof 1) and quantiles (NumPy's
  ``nearest`` unless ``allow_relative_error`` names another interpolation) are computed by pandas on a
  zero-copy view of the column, as GE does, so the observed values are bit-identical; the mean of a
  float64 or int64 column without missing values is NumPy's pairwise sum over the same buffer (what
  pandas does, without pandas' missing-value pass). An all-missing or empty column has no aggregate:
  the check fails with ``observed_value`` None. Quantile ranges use GE's ``isclose`` (rtol 1e-4).
* **min/max of floats**: ``-0.0`` and ``0.0`` compare equal; which of the two is reported may differ
  (GE keeps pandas' pick). Timestamps come back as ``pd.Timestamp`` in the column's zone.
* **Uniqueness** treats ``-0.0`` and ``0.0`` as the same value (pandas hashes them equal; Arrow does
  not, so floats are normalised first) and reports every occurrence of a duplicated value.
* **In set** compares like ``Series.isin``: numbers against numbers (an int column against a
  non-integral float never matches), strings against strings; a set mixing booleans with numbers,
  or any value set on a timestamp column (pandas parses strings there), goes to GE.
* **Regex** is RE2 here and Python's ``re`` in GE. They agree on ASCII text for the patterns both
  accept; the engine hands a check to GE when the pattern does not compile in both, uses syntax they
  read differently (``{,n}``, POSIX classes ``[:alpha:]``), or the column holds non-ASCII text,
  newlines or the ASCII separators (``\\v``, ``\\x1c``-``\\x1f``) where ``$`` and ``\\s`` differ.
  Regexes run on string and categorical columns only (GE would ``astype(str)`` numbers first).
* **Column types** (``expect_column_values_to_be_of_type`` / ``_in_type_list``) are judged on the
  pandas dtype GE would see (an Arrow int column with nulls is float64 there, a bool column with
  nulls is object) with GE's own lookup of type names; on a text (object) column every value is a
  ``str``, so GE's per-value check passes or fails for all rows at once.
* **Errors are failures.** Where GE's pandas code raises (comparing mismatched kinds, min above max,
  a type name it cannot resolve) the check fails with an ``error`` in ``observed``, as GE's does; the
  message is ours. Whether pandas raises can depend on the data: an ns or tz-aware timestamp column
  refuses a mismatched bound even when it holds no value, other columns only when there is one.
* **Ints as pandas holds them**: an Arrow int column with nulls is float64 in pandas, so its values
  compare, hash and report as floats (``2**53 + 1`` equals ``2**53`` there); ints beyond ``2**53``
  compared with a float bound are rounded to floats first, as NumPy does. In-set checks compare a float
  (or unsigned) column with the Python values exactly, as ``Series.isin`` does.
* **GE bug not copied**: GE 1.24 judges every quantile check on a column in a suite by the quantiles
  of the first one (they share one metric); here each check gets its own.
* **Row labels**: index lists carry the DataFrame's index labels (positions for an Arrow table, or
  the ``RangeIndex`` recorded in its pandas metadata). A named index, an index stored as a column or
  non-string column names go to GE, as does a pair check of a column against itself (GE then reads a
  two-column frame per row) or involving a nullable pandas column (``pd.NA`` compares as NA there).
* **pandas columns** are read zero-copy where pandas allows: NumPy dtypes, tz-aware timestamps,
  string categoricals, text object columns and the nullable ``Int*``/``boolean`` dtypes our null
  faults produce; the aggregates of a DataFrame's column are its own pandas reductions.

Anything else (other expectation types, ``row_condition``, suite parameters, extension or nested
column types, object columns that are not text) is not evaluated natively: ``auto`` runs GE.

Pure: no Airflow imports and no ``great_expectations`` import (asserted by a test).
"""

from __future__ import annotations

import contextlib
import logging
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_chaos.checks import expectations as ex
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.records import Detection

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

ENGINES: tuple[str, ...] = ex.ENGINES
PARTIAL_COUNT = 20  # GE's partial_unexpected_count
MAX_RESULT_RECORDS = 200  # GE's cap on unexpected_list in COMPLETE

Outcome = dict[str, Any]  # {"success": bool, "result": {...}, "error": str | None}
Runner = Callable[[str], Outcome]


class NotNative(Exception):
    """This expectation, or the data it reads, is not evaluated natively (the reason is the message)."""


class _MissingColumn(Exception):
    """The expectation names a column the data does not have: a failed check, as in GE."""


# ---------------------------------------------------------------------- bounds, parsed as GE's pydantic models do
_DATE_RE = re.compile(r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})$")
_DATETIME_RE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[T ](?P<hour>\d{1,2}):(?P<minute>\d{1,2})"
    r"(?::(?P<second>\d{1,2})(?:\.(?P<microsecond>\d{1,6})\d{0,6})?)?(?P<tzinfo>Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def _zone(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    return timezone(sign * timedelta(minutes=minutes))


def _parse_datetime(text: str) -> datetime | date | None:
    found = _DATE_RE.match(text)
    if found:
        return date(*(int(v) for v in found.groups()))
    found = _DATETIME_RE.match(text)
    if not found:
        return None
    parts = found.groupdict()
    micro = (parts["microsecond"] or "0").ljust(6, "0")
    return datetime(
        int(parts["year"]),
        int(parts["month"]),
        int(parts["day"]),
        int(parts["hour"]),
        int(parts["minute"]),
        int(parts["second"] or 0),
        int(micro),
        tzinfo=_zone(parts["tzinfo"]),
    )


def _bound_from_text(text: str, name: str) -> float | date | datetime:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = _parse_datetime(text)
    except ValueError:  # out-of-range month, day, hour...
        parsed = None
    if parsed is None:
        raise NotNative(f"{name} {text!r} is neither a number nor an ISO date or datetime")
    return parsed


def bound(value: Any, name: str, dates: bool = True) -> float | date | datetime | None:
    """A ``min_value``/``max_value`` as GE's model holds it: a float, a date, a datetime, or None."""
    if value is None:
        return None
    if isinstance(value, (bool, Mapping)):
        raise NotNative(f"{name} {value!r} is a boolean or a suite parameter")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError as exc:
            raise NotNative(f"{name} {value!r} does not fit a float") from exc
    if isinstance(value, (datetime, date)):
        parsed: float | date | datetime = value
    elif isinstance(value, str):
        parsed = _bound_from_text(value, name)
    else:
        raise NotNative(f"{name} {value!r} is a {type(value).__name__}")
    if not dates and not isinstance(parsed, float):
        raise NotNative(f"{name} {value!r} must be a number here")
    return parsed


def _int_bound(value: Any, name: str) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise NotNative(f"{name} {value!r} is not an integer")


def _flag(kwargs: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = kwargs.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise NotNative(f"{name} {value!r} is not True or False")
    return value


def _mostly(kwargs: Mapping[str, Any]) -> float:
    value = kwargs.get("mostly", 1.0)
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise NotNative(f"mostly {value!r} is not a number between 0 and 1")
    return float(value)


def _kind_of_bound(value: Any) -> str:
    if isinstance(value, datetime):
        return "naive" if value.tzinfo is None else "aware"
    return "date" if isinstance(value, date) else "number"


# ---------------------------------------------------------------------- the data, as GE's pandas engine sees it
_NUMERIC = ("int", "float")


def _arrow_kind(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind):
        return "int"
    if pa.types.is_float32(kind) or pa.types.is_float64(kind):
        return "float"
    if pa.types.is_boolean(kind):
        return "bool"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    if pa.types.is_dictionary(kind) and (
        pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)
    ):
        return "category"
    if pa.types.is_timestamp(kind):
        return "timestamp"
    return "null" if pa.types.is_null(kind) else "other"


_NULLABLE = frozenset({"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "boolean"})


def _pandas_supported(series: pd.Series) -> bool:
    """Plain NumPy dtypes, tz-aware timestamps, string categoricals, text object columns, nullable ints and booleans."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or str(dtype) in _NULLABLE:
        return True
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.api.types.is_object_dtype(dtype.categories.dtype)
    return isinstance(dtype, np.dtype) and dtype.kind in "iufbMO"


class Column:
    """One column: its Arrow array (converted once from pandas, zero-copy where pandas allows), kind and counts."""

    def __init__(self, name: str, array: pa.ChunkedArray, series: pd.Series | None, kind: str | None = None) -> None:
        self.name = name
        self.array = array
        self.source = series  # the pandas column GE would read, when the data is a DataFrame
        self.kind = kind or _arrow_kind(array.type)
        if series is not None and series.dtype == object and self.kind not in ("string", "null"):
            self.kind = "other"  # an object column holding numbers, dates...: GE compares Python objects

    @cached_property
    def contiguous(self) -> np.ndarray | None:
        """A zero-copy NumPy view of a null-free, single-chunk numeric column, else None."""
        if self.kind not in _NUMERIC or self.array.null_count or self.array.num_chunks != 1:
            return None
        return self.array.chunk(0).to_numpy(zero_copy_only=True)

    @cached_property
    def extremes(self) -> pa.StructScalar:
        """``pc.min_max`` of the column (NaN skipped)."""
        return pc.min_max(self.array)

    @cached_property
    def floats(self) -> bool:
        """Whether pandas holds the column as floats (an Arrow int column with nulls becomes float64)."""
        return self.kind == "float" or (self.kind == "int" and self.pandas_dtype.kind == "f")

    @cached_property
    def as_float(self) -> pa.ChunkedArray:
        return self.array if self.kind == "float" else pc.cast(self.array, pa.float64(), safe=False)

    @cached_property
    def comparable(self) -> pa.ChunkedArray:
        """The column as NumPy compares it with a float: ints beyond 2**53 rounded to floats."""
        if self.kind != "int" or not self.extremes["min"].is_valid:
            return self.array
        if self.floats:
            return self.as_float
        if max(abs(self.extremes["min"].as_py()), abs(self.extremes["max"].as_py())) <= 2**53:
            return self.array
        return self.as_float

    @cached_property
    def plain_sum(self) -> float | None:
        """NumPy's pairwise sum of a contiguous float64/int64 column (as pandas sums it), else None."""
        view = self.contiguous
        plain = self.source is None or isinstance(self.source.dtype, np.dtype)  # not a masked pandas array
        if view is None or view.dtype not in (np.float64, np.int64) or not plain:
            return None
        return float(np.sum(view, dtype=np.float64))

    @cached_property
    def nan_count(self) -> int:
        if self.kind != "float":
            return 0
        if self.plain_sum is not None and not math.isnan(self.plain_sum):
            return 0  # a NaN anywhere makes the sum NaN
        return int(pc.sum(pc.is_nan(self.array)).as_py() or 0)

    @cached_property
    def missing(self) -> int:
        """Rows GE counts as missing: null, and NaN in a float column."""
        return int(self.array.null_count) + self.nan_count

    def series(self) -> pd.Series:
        """The column as pandas holds it for GE (the DataFrame's own, or Arrow's conversion)."""
        return self.source if self.source is not None else self.array.to_pandas()

    @cached_property
    def pandas_dtype(self) -> Any:
        """The dtype GE sees: an Arrow int column with nulls is float64, a bool column with nulls object."""
        if self.source is not None:
            return self.source.dtype
        dtype = self.array.slice(0, 0).to_pandas().dtype
        if self.array.null_count and self.kind == "int":
            return np.dtype("float64")
        if self.array.null_count and self.kind == "bool":
            return np.dtype("O")
        return dtype

    def values_at(self, positions: Sequence[int]) -> pd.Series:
        """The rows at ``positions`` as pandas holds them in the full column (dtype included)."""
        if self.source is not None:
            return self.source.iloc[list(positions)]
        taken = self.array.take(pa.array(positions, pa.int64())).to_pandas()
        return taken if taken.dtype == self.pandas_dtype else taken.astype(self.pandas_dtype)

    def needs(self, *kinds: str, what: str) -> None:
        if self.kind not in kinds:
            raise NotNative(f"{what} on column {self.name!r} of type {self.array.type} is left to GE")


def _plain_numpy(name: Any) -> bool:
    if not isinstance(name, str):
        return False
    try:
        np.dtype(name)
    except TypeError:
        return name == "category" or name.startswith("datetime64")
    return True


def _range_labels(table: pa.Table) -> tuple[int, int] | None:
    """``(start, step)`` of the RangeIndex ``to_pandas`` restores from pandas metadata (None: positions)."""
    meta = table.schema.pandas_metadata
    if not meta:
        return None
    for entry in meta.get("columns", []):
        if entry.get("field_name") not in table.column_names:
            continue
        if entry.get("name") != entry.get("field_name") or not _plain_numpy(entry.get("numpy_type")):
            raise NotNative("the Arrow table's pandas metadata restores other column labels or extension dtypes")
    indexes = meta.get("index_columns") or []
    if any(not isinstance(i, dict) or i.get("kind") != "range" or i.get("name") is not None for i in indexes):
        raise NotNative("the Arrow table's pandas metadata restores an index")
    if not indexes:
        return None
    return int(indexes[0].get("start", 0)), int(indexes[0].get("step", 1))


class Batch:
    """The data under validation, read natively: column names, row count, columns and row labels."""

    def __init__(self, data: Any) -> None:
        from airflow_chaos.checks.formats import to_frame

        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        self.table: pa.Table | None = data if isinstance(data, pa.Table) else None
        self.frame: pd.DataFrame | None = None if self.table is not None else to_frame(data)
        self.range: tuple[int, int] | None = None
        if self.table is not None:
            self.columns: list[str] = list(self.table.column_names)
            self.rows: int = self.table.num_rows
            self.range = _range_labels(self.table)
        else:
            assert self.frame is not None
            self._check_frame(self.frame)
            self.columns = [str(c) for c in self.frame.columns]
            self.rows = len(self.frame)
        if len(set(self.columns)) != len(self.columns):
            raise NotNative("the data has duplicate column names")
        self._cache: dict[str, Column] = {}

    @staticmethod
    def _check_frame(frame: pd.DataFrame) -> None:
        if not all(isinstance(c, str) for c in frame.columns):
            raise NotNative("the DataFrame has non-string column labels")
        if any(name is not None for name in frame.index.names):
            raise NotNative("the DataFrame has a named index (GE reports its labels as dicts)")

    def column(self, name: Any) -> Column:
        if not isinstance(name, str) or name not in self.columns:
            raise _MissingColumn(name)
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def _load(self, name: str) -> Column:
        if self.table is not None:
            return Column(name, self.table.column(name), None)
        assert self.frame is not None
        series = self.frame[name]
        unreadable = Column(name, pa.chunked_array([], pa.null()), series, kind="other")
        if not _pandas_supported(series):
            return unreadable
        floats = series.dtype.kind == "f"  # kept zero-copy with its NaN: the engine counts NaN as missing anyway
        try:
            array = pa.array(series.to_numpy(), from_pandas=False) if floats else pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return unreadable
        return Column(name, pa.chunked_array([array]), series)

    def labels(self, positions: Sequence[int]) -> list[Any]:
        """Row labels GE reports for ``positions``: the DataFrame's index, or the restored RangeIndex."""
        if self.frame is not None:
            return list(self.frame.index[list(positions)].tolist())
        start, step = self.range or (0, 1)
        return [start + step * p for p in positions]


# ---------------------------------------------------------------------- result formats, as GE builds them
def _positions(mask: pa.ChunkedArray, limit: int | None) -> list[int]:
    """Positions where ``mask`` is True (null counts as False), the first ``limit`` of them (all for None)."""
    found: list[int] = []
    offset = 0
    for chunk in mask.chunks:
        if limit is not None and len(found) >= limit:
            break
        flags = chunk.fill_null(False).to_numpy(zero_copy_only=False)
        hits = np.flatnonzero(flags)
        if limit is not None:
            hits = hits[: limit - len(found)]
        found.extend((hits + offset).tolist())
        offset += len(chunk)
    return found


def _counts(values: list[Any], limit: int) -> list[dict[str, Any]] | None:
    """GE's ``partial_unexpected_counts``: the most common values, by count then value (None if unsortable)."""
    try:
        common = Counter(values).most_common(limit)
        return [{"value": k, "count": v} for k, v in sorted(common, key=lambda x: (-x[1], x[0]))]
    except TypeError:
        return None


@dataclass
class MapCheck:
    """A map expectation's evaluation: which rows were considered and which of them were unexpected.

    ``considered`` is None for not-null checks (GE reports no ``missing_*`` fields for them).
    ``unexpected`` is a boolean mask over every row (True: unexpected; null: not), built only when
    something is unexpected.
    """

    rows: int
    considered: int | None
    unexpected_count: int
    unexpected: pa.ChunkedArray | None
    values: Callable[[list[int]], list[Any]]


def _map_success(check: MapCheck, mostly: float) -> bool:
    considered = check.rows if check.considered is None else check.considered
    if check.rows == 0 or considered == 0:
        return True
    return (float(considered) - float(check.unexpected_count)) / float(considered) >= mostly


def _percentages(check: MapCheck) -> dict[str, Any]:
    rows, unexpected = check.rows, check.unexpected_count
    total = unexpected / rows * 100 if rows > 0 else None
    if check.considered is None:
        return {"element_count": rows, "unexpected_count": unexpected, "unexpected_percent": total}
    missing = rows - check.considered
    nonmissing = unexpected / check.considered * 100 if rows > 0 and check.considered > 0 else None
    return {
        "element_count": rows,
        "unexpected_count": unexpected,
        "unexpected_percent": nonmissing,
        "missing_count": missing,
        "missing_percent": missing / rows * 100 if rows > 0 else None,
        "unexpected_percent_total": total,
        "unexpected_percent_nonmissing": nonmissing,
    }


def _map_outcome(batch: Batch, check: MapCheck, mostly: float, result_format: str) -> Outcome:
    success = _map_success(check, mostly)
    if result_format == "BOOLEAN_ONLY":
        return {"success": success, "result": {}}
    result = _percentages(check)
    complete = result_format == "COMPLETE"
    wanted = MAX_RESULT_RECORDS if complete else PARTIAL_COUNT
    everything = None if complete else wanted
    positions = _positions(check.unexpected, everything) if check.unexpected is not None else []
    values = check.values(positions[:wanted]) if positions else []
    result["partial_unexpected_list"] = values[:PARTIAL_COUNT]
    if result_format == "BASIC":
        return {"success": success, "result": result}
    counts = _counts(values, PARTIAL_COUNT)
    if counts is not None:
        result["partial_unexpected_counts"] = counts
    labels = batch.labels(positions)
    result["partial_unexpected_index_list"] = labels[:PARTIAL_COUNT]
    if complete:
        result["unexpected_list"] = values
        result["unexpected_index_list"] = labels
        result["unexpected_index_query"] = f"df.filter(items={labels}, axis=0)"
    return {"success": success, "result": result}


def _column_values(column: Column) -> Callable[[list[int]], list[Any]]:
    return lambda positions: list(column.values_at(positions))


def _count_true(mask: pa.ChunkedArray) -> int:
    return int(pc.sum(mask).as_py() or 0)


# ---------------------------------------------------------------------- map expectations
@dataclass(frozen=True)
class Ask:
    """One expectation to evaluate: its type, GE-normalised kwargs and the batch."""

    kind: str
    kwargs: dict[str, Any]
    batch: Batch

    def column(self, key: str = "column") -> Column:
        return self.batch.column(self.kwargs.get(key))

    def map_runner(self, build: Callable[[], MapCheck]) -> Runner:
        mostly = _mostly(self.kwargs)
        return lambda fmt: _map_outcome(self.batch, build(), mostly, fmt)


_READABLE = ("int", "float", "bool", "string", "category", "timestamp", "null")


def _plan_not_null(ask: Ask) -> Runner:
    column = ask.column()
    column.needs(*_READABLE, what=ask.kind)

    def build() -> MapCheck:
        missing = column.missing
        mask = pc.is_null(column.array, nan_is_null=True) if missing else None
        return MapCheck(ask.batch.rows, None, missing, mask, _column_values(column))

    return ask.map_runner(build)


def _filtered_check(column: Column, ok: pa.ChunkedArray | None) -> MapCheck:
    """A MapCheck from ``ok`` (True: expected; null or NaN rows: missing). ``ok`` None: all expected."""
    considered = len(column.array) - column.missing
    if ok is None:
        return MapCheck(len(column.array), considered, 0, None, _column_values(column))
    bad = pc.invert(ok)
    if column.missing:
        bad = pc.and_(bad, pc.invert(pc.is_null(column.array, nan_is_null=True)))
    count = _count_true(bad)
    return MapCheck(len(column.array), considered, count, bad if count else None, _column_values(column))


def _epoch_nanos(value: datetime) -> int:
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc) if value.tzinfo else datetime(1970, 1, 1)
    delta = value - epoch
    whole = (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    return whole + int(getattr(value, "nanosecond", 0))


def _time_scalar(value: datetime, column: Column, side: str) -> pa.Scalar:
    """``value`` in the column's unit, rounded so that integer comparisons stay exact (``side``: ge/gt/le/lt)."""
    per = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[column.array.type.unit]
    floor, rest = divmod(_epoch_nanos(value), per)
    ticks = floor + 1 if rest and side in ("ge", "lt") else floor
    if not -(2**63) <= ticks < 2**63:
        raise NotNative(f"bound {value} is out of the range of column {column.name!r}")
    return pa.scalar(ticks, pa.int64()).cast(column.array.type)


def _comparable(bound_value: Any, column: Column) -> str | None:
    """Why GE's pandas comparison of ``column`` with ``bound_value`` raises, or None when it compares."""
    kind = _kind_of_bound(bound_value)
    if column.kind in _NUMERIC:
        return None if kind == "number" else f"Invalid comparison between dtype={column.pandas_dtype} and {kind}"
    aware = column.array.type.tz is not None
    if kind == "date" or kind == "number":
        return f"Invalid comparison between dtype={column.pandas_dtype} and {type(bound_value).__name__}"
    if (kind == "aware") != aware:
        return "Cannot compare tz-naive and tz-aware datetime-like objects"
    return None


def _scalar(value: Any, column: Column, side: str) -> Any:
    if column.kind == "timestamp":
        return _time_scalar(value, column, side)
    return pa.scalar(value, pa.float64())


_COMPARE = {"gt": (pc.greater, operator.gt), "ge": (pc.greater_equal, operator.ge)}
_COMPARE.update({"lt": (pc.less, operator.lt), "le": (pc.less_equal, operator.le)})


def _holds(extreme: pa.Scalar, side: str, limit: Any, column: Column) -> bool:
    """Whether the column's extreme satisfies the bound, compared as pandas compares (ints as floats)."""
    if column.kind == "timestamp":
        return bool(_COMPARE[side][0](extreme, limit).as_py())
    return bool(_COMPARE[side][1](float(extreme.as_py()), limit.as_py()))


def _between_mask(column: Column, low: Any, high: Any, strict: tuple[bool, bool]) -> pa.ChunkedArray | None:
    """True where a value lies within the bounds; None when every value does (decided from min and max)."""
    smallest, largest = column.extremes["min"], column.extremes["max"]
    checks = []
    if low is not None:
        side = "gt" if strict[0] else "ge"
        checks.append((side, _scalar(low, column, side), smallest))
    if high is not None:
        side = "lt" if strict[1] else "le"
        checks.append((side, _scalar(high, column, side), largest))
    if not smallest.is_valid or all(_holds(extreme, side, limit, column) for side, limit, extreme in checks):
        return None
    masks = [_COMPARE[side][0](column.comparable, limit) for side, limit, _ in checks]
    return masks[0] if len(masks) == 1 else pc.and_(masks[0], masks[1])


def _error(message: str) -> Runner:
    return lambda fmt: {"success": False, "result": {}, "error": message}


def _plan_between(ask: Ask) -> Runner:
    column = ask.column()
    column.needs("int", "float", "timestamp", what="expect_column_values_to_be_between")
    low, high = bound(ask.kwargs.get("min_value"), "min_value"), bound(ask.kwargs.get("max_value"), "max_value")
    strict = (_flag(ask.kwargs, "strict_min"), _flag(ask.kwargs, "strict_max"))
    if low is None and high is None:
        raise NotNative("min_value and max_value cannot both be None")
    if low is not None and high is not None:  # GE checks this first, whatever the column holds
        try:
            reversed_bounds = low > high  # type: ignore[operator]
        except TypeError as exc:
            return _error(str(exc))
        if reversed_bounds:
            return _error("min_value cannot be greater than max_value")
    problems = [p for p in (_comparable(b, column) for b in (low, high) if b is not None) if p]
    if problems and (_compared_as_a_whole(column) or len(column.array) > column.missing):
        return _error(problems[0])
    if problems:  # nothing to compare: pandas never meets the mismatch
        return ask.map_runner(lambda: _filtered_check(column, None))
    return ask.map_runner(lambda: _filtered_check(column, _between_mask(column, low, high, strict)))


def _compared_as_a_whole(column: Column) -> bool:
    """Whether GE compares the whole (null-free) column at once, where pandas refuses a mismatched bound even
    with no values: ns or tz-aware timestamps. Other columns are compared value by value (or, for int64 and
    float64, by NumPy, which only objects when there is a value)."""
    if column.kind != "timestamp":
        return False
    return column.array.type.tz is not None or column.pandas_dtype == np.dtype("datetime64[ns]")


def _numbers(values: list[Any], column: Column) -> pa.Array:
    """Numbers as ``Series.isin`` compares them with a numeric column.

    A float column (an int column with nulls is one in pandas) or an unsigned one is compared with the
    Python values exactly (pandas makes them objects); a signed int column with ints exactly, and with
    any float among them as float64 (NumPy's common type, rounding big ints).
    """
    if any(isinstance(v, bool) for v in values):
        raise NotNative("a value set with booleans on a numeric column")
    numbers = [v for v in values if isinstance(v, (int, float))]
    if any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in numbers):
        raise NotNative("a value set with integers beyond 64 bits")
    if column.floats:  # + 0.0 makes -0.0 equal 0.0, as pandas hashes them; an int matches only its exact float
        exact = [float(v) + 0.0 for v in numbers if isinstance(v, float) or int(float(v)) == v]
        return pa.array(exact, pa.float64())
    if pa.types.is_unsigned_integer(column.array.type):
        if column.array.type == pa.uint64():
            raise NotNative("a value set on a uint64 column")
        whole = [int(v) for v in numbers if isinstance(v, int) or (math.isfinite(v) and v.is_integer())]
        return pa.array(whole, pa.int64())
    if all(isinstance(v, int) for v in numbers):
        return pa.array(numbers, pa.int64())
    return pa.array([float(v) + 0.0 for v in numbers], pa.float64())


def _set_array(values: list[Any], column: Column) -> pa.Array:
    """The value set as an Arrow array comparable with the column, as ``Series.isin`` compares."""
    if column.kind in ("string", "category"):
        return pa.array([v for v in values if isinstance(v, str)], pa.string())
    if column.kind == "bool":
        if not all(isinstance(v, bool) for v in values):
            raise NotNative("a value set mixing booleans with other values on a boolean column")
        return pa.array(values, pa.bool_())
    return _numbers(values, column)


def _in_set_mask(column: Column, values: pa.Array) -> pa.ChunkedArray:
    array = column.array
    if column.kind == "category":
        array = pc.cast(array, pa.string())
    elif values.type == pa.float64():  # NumPy's common type; + 0.0 makes -0.0 equal 0.0
        array = pc.add(pc.cast(column.array, pa.float64(), safe=False), pa.scalar(0.0))
    elif column.kind in _NUMERIC and values.type != array.type:
        array = pc.cast(array, values.type)
    return pc.is_in(array, value_set=values)


def _plan_in_set(ask: Ask, negate: bool = False) -> Runner:
    column = ask.column()
    column.needs("int", "float", "string", "category", "bool", what=ask.kind)
    raw = ask.kwargs.get("value_set")
    if raw is None:
        return ask.map_runner(lambda: _filtered_check(column, None))
    if not isinstance(raw, (list, tuple, set, frozenset)):
        raise NotNative(f"value_set {raw!r} is not a list")
    values = _set_array(list(raw), column)

    def build() -> MapCheck:
        hit = _in_set_mask(column, values)
        return _filtered_check(column, pc.invert(hit) if negate else hit)

    return ask.map_runner(build)


def _hashable(column: Column) -> pa.ChunkedArray:
    """The column with values equal in pandas equal here too: categories decoded, ``-0.0`` made ``0.0``."""
    if column.kind == "category":
        return pc.cast(column.array, pa.string())
    if column.floats:
        return pc.add(column.as_float, pa.scalar(0.0, column.as_float.type))
    return column.array


def _plan_unique(ask: Ask) -> Runner:
    column = ask.column()
    column.needs("int", "float", "string", "category", "bool", "timestamp", what=ask.kind)

    def build() -> MapCheck:
        values = _hashable(column)
        counts = pc.value_counts(values).flatten()
        repeated = pc.filter(counts[0], pc.greater(counts[1], 1))
        repeated = pc.drop_null(repeated)
        if column.floats:
            repeated = pc.filter(repeated, pc.invert(pc.is_nan(repeated)))
        if not len(repeated):
            return _filtered_check(column, None)
        return _filtered_check(column, pc.invert(pc.is_in(values, value_set=repeated)))

    return ask.map_runner(build)


# ---------------------------------------------------------------------- regex (RE2 here, Python re in GE)
_RE2_DIFFERS = re.compile(r"\{,|\[:")
_SPECIAL_TEXT = "[\\x0b\\x1c-\\x1f\\n]"


def _check_pattern(pattern: Any) -> str:
    if not isinstance(pattern, str):
        raise NotNative(f"regex {pattern!r} is not a string")
    if _RE2_DIFFERS.search(pattern):
        raise NotNative(f"regex {pattern!r} uses syntax RE2 and Python read differently")
    try:
        re.compile(pattern)
        pc.match_substring_regex(pa.array([""], pa.string()), pattern)
    except (re.error, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise NotNative(f"regex {pattern!r} does not compile in both Python and RE2: {exc}") from exc
    return pattern


def _text(column: Column) -> pa.ChunkedArray:
    return pc.cast(column.array, pa.string()) if column.kind == "category" else column.array


def _plan_regex(ask: Ask, negate: bool = False) -> Runner:
    column = ask.column()
    column.needs("string", "category", "null", what=ask.kind)
    pattern = _check_pattern(ask.kwargs.get("regex"))
    if column.kind == "null":
        return ask.map_runner(lambda: _filtered_check(column, None))
    text = _text(column)
    ascii_only = pc.all(pc.string_is_ascii(text)).as_py() is not False
    if not ascii_only or pc.any(pc.match_substring_regex(text, _SPECIAL_TEXT)).as_py():
        raise NotNative(f"column {column.name!r} holds non-ASCII text or control characters where RE2 and re differ")

    def build() -> MapCheck:
        hit = pc.match_substring_regex(text, pattern)
        return _filtered_check(column, pc.invert(hit) if negate else hit)

    return ask.map_runner(build)


# ---------------------------------------------------------------------- column pair
_IGNORE_ROW_IF = ("both_values_are_missing", "either_value_is_missing", "neither")


def _pair_columns(ask: Ask) -> tuple[Column, Column]:
    if ask.kwargs.get("column_A") == ask.kwargs.get("column_B"):
        raise NotNative("a column compared with itself (GE then reads a two-column frame per row)")
    first, second = ask.column("column_A"), ask.column("column_B")
    for column in (first, second):
        column.needs("int", "float", "timestamp", what=ask.kind)
        if column.source is not None and str(column.source.dtype) in _NULLABLE:
            raise NotNative("comparing a nullable pandas column (pd.NA compares as NA, not False)")
    if (first.kind == "timestamp") != (second.kind == "timestamp"):
        raise NotNative("comparing a timestamp column with a numeric one")
    if first.kind == "timestamp" and first.array.type != second.array.type:
        raise NotNative("comparing timestamp columns of different units or zones")
    if {str(first.array.type), str(second.array.type)} & {"uint64"} and first.array.type != second.array.type:
        raise NotNative("comparing uint64 with another integer type")
    return first, second


def _common(first: Column, second: Column) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Both columns as NumPy compares them: an int column against a float one as floats."""
    if first.kind == "timestamp" or not (first.floats or second.floats):
        return first.array, second.array
    return first.as_float, second.as_float


def _pair_values(first: Column, second: Column) -> Callable[[list[int]], list[Any]]:
    def values(positions: list[int]) -> list[Any]:
        return list(zip(first.values_at(positions).values, second.values_at(positions).values, strict=False))

    return values


def _plan_pair_greater(ask: Ask) -> Runner:
    first, second = _pair_columns(ask)
    ignore = ask.kwargs.get("ignore_row_if") or "both_values_are_missing"
    if ignore not in _IGNORE_ROW_IF:
        raise NotNative(f"ignore_row_if {ignore!r}")
    compare = pc.greater_equal if _flag(ask.kwargs, "or_equal") else pc.greater

    def build() -> MapCheck:
        missing_a = pc.is_null(first.array, nan_is_null=True)
        missing_b = pc.is_null(second.array, nan_is_null=True)
        combine = {"both_values_are_missing": pc.and_, "either_value_is_missing": pc.or_}.get(ignore)
        dropped = combine(missing_a, missing_b) if combine else None
        kept = len(first.array) - (_count_true(dropped) if dropped is not None else 0)
        bad = pc.invert(pc.fill_null(compare(*_common(first, second)), False))
        if dropped is not None:
            bad = pc.and_(bad, pc.invert(dropped))
        count = _count_true(bad)
        return MapCheck(len(first.array), kept, count, bad if count else None, _pair_values(first, second))

    return ask.map_runner(build)


# ---------------------------------------------------------------------- types (GE's pandas lookup of type names)
def _native_types(name: str) -> tuple[type, ...]:
    lowered = name.lower()
    table: dict[str, tuple[type, ...]] = {
        "none": (type(None),),
        "bool": (bool,),
        "int": (int,),
        "long": (int,),
        "float": (float,),
        "bytes": (bytes,),
        "complex": (complex,),
        "str": (str,),
        "string_types": (str,),
        "list": (list,),
        "dict": (dict,),
    }
    return table.get(lowered, ())


def _pandas_types(name: str) -> list[Any]:
    import pandas as pd

    found: list[Any] = []
    candidate = getattr(pd, name, None)
    if isinstance(candidate, type):
        found.append(candidate)
    candidate = getattr(pd.core.dtypes.dtypes, name, None)  # type: ignore[attr-defined]
    if isinstance(candidate, type):
        found.append(candidate)
    return found


def _comp_types(name: str, with_dtype: bool, instances: bool) -> list[Any]:
    """GE's ``comp_types`` for one type name (``with_dtype``: the type-list variant also adds dtypes)."""
    import pandas as pd

    found: list[Any] = []
    try:
        found.append(np.dtype(name).type)
        if with_dtype:
            found.append(np.dtype(name))
    except TypeError:
        for candidate in _pandas_types(name):
            found.append(candidate)
            if instances and isinstance(candidate, type) and issubclass(candidate, pd.api.extensions.ExtensionDtype):
                with contextlib.suppress(TypeError):
                    found.append(candidate())
    found.extend(_native_types(name))
    return found


def _type_names(ask: Ask) -> list[str] | None:
    if ask.kind == "expect_column_values_to_be_of_type":
        value = ask.kwargs.get("type_")
        names = None if value is None else [value]
    else:
        names = ask.kwargs.get("type_list")
    if names is not None and (not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names)):
        raise NotNative(f"type names {names!r}")
    return None if names is None else list(names)


def _type_outcome(dtype: Any, names: list[str] | None, type_list: bool) -> Outcome:
    observed = dtype.type.__name__
    if names is None:
        return {"success": True, "result": {"observed_value": observed}}
    if type_list:
        types = [t for n in names for t in _comp_types(n, True, True)]
        success = dtype in types
    else:
        success = dtype.type in _comp_types(names[0], False, False)
    return {"success": bool(success), "result": {"observed_value": observed}}


def _plan_type(ask: Ask) -> Runner:
    column = ask.column()
    names = _type_names(ask)
    type_list = ask.kind == "expect_column_values_to_be_in_type_list"
    dtype = column.pandas_dtype
    per_value = dtype.type.__name__ == "object_" and names is not None  # GE's test for its per-value variant
    if not type_list and names is not None and names[0] in ("object", "object_", "O"):
        per_value = False
    if not per_value:
        return lambda fmt: _aggregate_result(_type_outcome(dtype, names, type_list), fmt)
    column.needs("string", "null", what=ask.kind)  # every value is a str: one verdict for all rows
    assert names is not None
    types = tuple(t for n in names for t in _comp_types(n, False, False) if isinstance(t, type))
    if not types:  # GE's per-value check raises on names it cannot resolve
        return _error(f"Unrecognized numpy/python type: {', '.join(names)}")
    matches = issubclass(str, types)
    return ask.map_runner(lambda: _filtered_check(column, None if matches else pc.is_null(column.array)))


# ---------------------------------------------------------------------- aggregates
def _aggregate_result(outcome: Outcome, result_format: str) -> Outcome:
    if result_format == "BOOLEAN_ONLY":
        return {**outcome, "result": {}}
    return outcome


def _compare(observed: Any, low: Any, high: Any, strict: tuple[bool, bool]) -> bool:
    above = True if low is None else (observed > low if strict[0] else observed >= low)
    below = True if high is None else (observed < high if strict[1] else observed <= high)
    return bool(above and below)


def _between_outcome(observed: Any, low: Any, high: Any, strict: tuple[bool, bool]) -> Outcome:
    """GE's ``_validate_metric_value_between`` for an observed aggregate."""
    import pandas as pd

    if observed is None or (not isinstance(observed, datetime) and pd.isnull(observed)):
        return {"success": False, "result": {"observed_value": None}}
    try:
        return {"success": _compare(observed, low, high, strict), "result": {"observed_value": observed}}
    except TypeError as exc:
        return {"success": False, "result": {}, "error": str(exc)}


def _bounds(ask: Ask, dates: bool = True) -> tuple[Any, Any, tuple[bool, bool]]:
    low = bound(ask.kwargs.get("min_value"), "min_value", dates)
    high = bound(ask.kwargs.get("max_value"), "max_value", dates)
    return low, high, (_flag(ask.kwargs, "strict_min"), _flag(ask.kwargs, "strict_max"))


def _aggregate_runner(ask: Ask, observe: Callable[[], Any], dates: bool = True) -> Runner:
    low, high, strict = _bounds(ask, dates)
    if any(isinstance(b, date) for b in (low, high)):
        raise NotNative("a date or datetime bound on a numeric aggregate")
    return lambda fmt: _aggregate_result(_between_outcome(observe(), low, high, strict), fmt)


def _mean(column: Column) -> Any:
    if column.plain_sum is not None and not math.isnan(column.plain_sum):
        count = len(column.array)
        return column.plain_sum / count if count else math.nan
    return column.series().mean()


def _plan_mean(ask: Ask) -> Runner:
    column = ask.column()
    column.needs("int", "float", what=ask.kind)
    return _aggregate_runner(ask, lambda: _mean(column))


def _plan_median(ask: Ask) -> Runner:
    column = ask.column()
    column.needs("int", "float", what=ask.kind)

    def median() -> Any:
        series = column.series()
        return series[series.notnull()].median()

    return _aggregate_runner(ask, median)


def _plan_stdev(ask: Ask) -> Runner:
    column = ask.column()
    column.needs("int", "float", what=ask.kind)
    return _aggregate_runner(ask, lambda: column.series().std(), dates=False)


def _extreme(column: Column, which: str) -> Any:
    """min or max as pandas reports it: NaN (or NaT) when nothing is there, timestamps in the column's zone."""
    import pandas as pd

    scalar = column.extremes[which]
    if column.kind == "timestamp":
        if not scalar.is_valid:
            return pd.NaT
        kind = column.array.type
        return pd.Timestamp(scalar.cast(pa.int64()).as_py(), unit=kind.unit, tz=kind.tz)
    value = scalar.as_py()
    if value is None:
        return math.nan
    return float(value) if column.floats else value


def _plan_extreme(ask: Ask) -> Runner:
    column = ask.column()
    column.needs("int", "float", "timestamp", what=ask.kind)
    low, high, strict = _bounds(ask)
    which = "min" if ask.kind == "expect_column_min_to_be_between" else "max"

    def run(fmt: str) -> Outcome:
        observed = _extreme(column, which)
        problems = [_comparable(b, column) for b in (low, high) if b is not None]
        if observed is not None and not _isnull(observed) and any(problems):
            return {"success": False, "result": {}, "error": next(p for p in problems if p)}
        return _aggregate_result(_between_outcome(observed, low, high, strict), fmt)

    return run


def _isnull(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isnull(value))


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_ranges(kwargs: Mapping[str, Any]) -> tuple[list[float], list[list[Any]]]:
    ranges = kwargs.get("quantile_ranges")
    if not isinstance(ranges, Mapping) or set(ranges) != {"quantiles", "value_ranges"}:
        raise NotNative(f"quantile_ranges {ranges!r}")
    quantiles, value_ranges = list(ranges["quantiles"]), list(ranges["value_ranges"])
    numbers = [q for q in quantiles if isinstance(q, (int, float)) and not isinstance(q, bool)]
    if len(numbers) != len(quantiles) or len(quantiles) != len(value_ranges):
        raise NotNative("quantiles and value_ranges must be numbers, as many of each")
    parsed = []
    for pair in value_ranges:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise NotNative(f"value range {pair!r}")
        low = -math.inf if pair[0] is None else bound(pair[0], "value_ranges", dates=False)
        high = math.inf if pair[1] is None else bound(pair[1], "value_ranges", dates=False)
        if None not in pair and low > high:  # type: ignore[operator]
            raise NotNative("quantile_ranges must consist of ordered pairs")
        parsed.append([low, high])
    return [float(q) for q in quantiles], parsed


def _isclose(a: float, b: float) -> bool:
    """GE's ``isclose`` with rtol 1e-4 (atol 1e-8)."""
    return bool(np.isclose(a, b, rtol=1.0e-4, atol=1.0e-8))


def _in_range(value: Any, low: float, high: float) -> bool:
    if value is None:
        return False
    return _isclose(value, low) or _isclose(value, high) or low <= value <= high


def _plan_quantiles(ask: Ask) -> Runner:
    column = ask.column()
    column.needs("int", "float", what=ask.kind)
    quantiles, ranges = _quantile_ranges(ask.kwargs)
    interpolation: Any = ask.kwargs.get("allow_relative_error") or "nearest"
    if interpolation not in _INTERPOLATIONS:
        raise NotNative(f"allow_relative_error {interpolation!r}")
    original = ask.kwargs["quantile_ranges"]["quantiles"]

    def run(fmt: str) -> Outcome:
        values = column.series().quantile(quantiles, interpolation=interpolation).tolist()
        try:
            details = [_in_range(v, low, high) for v, (low, high) in zip(values, ranges, strict=False)]
        except TypeError as exc:  # pd.NA quantiles of an all-missing nullable column: GE's comparison raises
            return {"success": False, "result": {}, "error": str(exc)}
        result = {"observed_value": {"quantiles": original, "values": values}, "details": {"success_details": details}}
        return _aggregate_result({"success": bool(np.all(details)), "result": result}, fmt)

    return run


# ---------------------------------------------------------------------- table-level
def _plan_exists(ask: Ask) -> Runner:
    name, index = ask.kwargs.get("column"), ask.kwargs.get("column_index")
    if not isinstance(name, str) or (index is not None and (isinstance(index, bool) or not isinstance(index, int))):
        raise NotNative("column must be a string and column_index an integer")
    columns = ask.batch.columns
    # GE reads column_index 0 as "no index"
    success = (-len(columns) <= index < len(columns) and columns[index] == name) if index else name in columns
    return lambda fmt: {"success": bool(success), "result": {}}


def _names(value: Any, key: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in value):
        raise NotNative(f"{key} {value!r} is not a list of column names")
    return list(value)


def _plan_match_set(ask: Ask) -> Runner:
    expected = _names(ask.kwargs.get("column_set"), "column_set")
    exact = ask.kwargs.get("exact_match", True)
    if exact is not None and not isinstance(exact, bool):
        raise NotNative(f"exact_match {exact!r} is not True or False")
    actual = set(ask.batch.columns)
    wanted = set(expected or [])
    unexpected, missing = sorted(actual - wanted), sorted(wanted - actual)
    observed: dict[str, Any] = {"observed_value": sorted(actual)}
    if (expected is None and not exact) or not (unexpected or missing):
        success = True
    else:
        mismatched = {k: v for k, v in (("unexpected", unexpected), ("missing", missing)) if v}
        observed["details"] = {"mismatched": mismatched}
        success = not exact and not missing
    return lambda fmt: _aggregate_result({"success": success, "result": observed}, fmt)


def _plan_ordered(ask: Ask) -> Runner:
    from itertools import zip_longest

    expected = _names(ask.kwargs.get("column_list"), "column_list")
    actual = list(ask.batch.columns)
    if expected is None or actual == expected:
        outcome: Outcome = {"success": True, "result": {"observed_value": actual}}
    else:
        rows = zip_longest(range(max(len(expected), len(actual))), expected, actual)
        mismatched = [{"Expected Column Position": i, "Expected": k, "Found": v} for i, k, v in rows if k != v]
        outcome = {"success": False, "result": {"observed_value": actual, "details": {"mismatched": mismatched}}}
    return lambda fmt: _aggregate_result(outcome, fmt)


def _equal_count(observed: int, kwargs: Mapping[str, Any]) -> Runner:
    value = _int_bound(kwargs.get("value"), "value")
    if value is None:
        raise NotNative("value is required")
    return lambda fmt: _aggregate_result({"success": observed == value, "result": {"observed_value": observed}}, fmt)


def _plan_row_count_between(ask: Ask) -> Runner:
    low, high = (
        _int_bound(ask.kwargs.get("min_value"), "min_value"),
        _int_bound(ask.kwargs.get("max_value"), "max_value"),
    )
    if low is not None and high is not None and low > high:
        raise NotNative("min_value must be less than or equal to max_value")
    strict = (_flag(ask.kwargs, "strict_min"), _flag(ask.kwargs, "strict_max"))
    rows = ask.batch.rows
    return lambda fmt: _aggregate_result(_between_outcome(rows, low, high, strict), fmt)


def _plan_column_count_between(ask: Ask) -> Runner:
    count = len(ask.batch.columns)
    return _aggregate_runner(ask, lambda: count)


_PLANNERS: dict[str, Callable[[Ask], Runner]] = {
    "expect_column_to_exist": _plan_exists,
    "expect_table_columns_to_match_set": _plan_match_set,
    "expect_table_columns_to_match_ordered_list": _plan_ordered,
    "expect_table_column_count_to_equal": lambda ask: _equal_count(len(ask.batch.columns), ask.kwargs),
    "expect_table_column_count_to_be_between": _plan_column_count_between,
    "expect_column_values_to_be_of_type": _plan_type,
    "expect_column_values_to_be_in_type_list": _plan_type,
    "expect_column_values_to_not_be_null": _plan_not_null,
    "expect_column_values_to_be_between": _plan_between,
    "expect_column_values_to_be_in_set": _plan_in_set,
    "expect_column_values_to_not_be_in_set": lambda ask: _plan_in_set(ask, negate=True),
    "expect_column_values_to_be_unique": _plan_unique,
    "expect_column_values_to_match_regex": _plan_regex,
    "expect_column_values_to_not_match_regex": lambda ask: _plan_regex(ask, negate=True),
    "expect_column_pair_values_a_to_be_greater_than_b": _plan_pair_greater,
    "expect_table_row_count_to_be_between": _plan_row_count_between,
    "expect_table_row_count_to_equal": lambda ask: _equal_count(ask.batch.rows, ask.kwargs),
    "expect_column_mean_to_be_between": _plan_mean,
    "expect_column_median_to_be_between": _plan_median,
    "expect_column_stdev_to_be_between": _plan_stdev,
    "expect_column_quantile_values_to_be_between": _plan_quantiles,
    "expect_column_min_to_be_between": _plan_extreme,
    "expect_column_max_to_be_between": _plan_extreme,
}

#: The expectation types the native engine evaluates (others always run on GE).
SUPPORTED: frozenset[str] = frozenset(_PLANNERS)

# Keyword arguments each type may carry (GE's own fields); anything else goes to GE, which names the error.
_COMMON = frozenset({"column", "mostly"})
_KNOWN_KWARGS: dict[str, frozenset[str]] = {
    "expect_column_to_exist": frozenset({"column", "column_index"}),
    "expect_table_columns_to_match_set": frozenset({"column_set", "exact_match"}),
    "expect_table_columns_to_match_ordered_list": frozenset({"column_list"}),
    "expect_table_column_count_to_equal": frozenset({"value"}),
    "expect_table_column_count_to_be_between": frozenset({"min_value", "max_value", "strict_min", "strict_max"}),
    "expect_column_values_to_be_of_type": _COMMON | {"type_"},
    "expect_column_values_to_be_in_type_list": _COMMON | {"type_list"},
    "expect_column_values_to_be_between": _COMMON | {"min_value", "max_value", "strict_min", "strict_max"},
    "expect_column_values_to_be_in_set": _COMMON | {"value_set"},
    "expect_column_values_to_not_be_in_set": _COMMON | {"value_set"},
    "expect_column_values_to_match_regex": _COMMON | {"regex"},
    "expect_column_values_to_not_match_regex": _COMMON | {"regex"},
    "expect_column_pair_values_a_to_be_greater_than_b": frozenset(
        {"column_A", "column_B", "or_equal", "ignore_row_if", "mostly"}
    ),
    "expect_table_row_count_to_be_between": frozenset({"min_value", "max_value", "strict_min", "strict_max"}),
    "expect_table_row_count_to_equal": frozenset({"value"}),
    "expect_column_quantile_values_to_be_between": frozenset({"column", "quantile_ranges", "allow_relative_error"}),
}
_AGGREGATE_KWARGS = frozenset({"column", "min_value", "max_value", "strict_min", "strict_max"})


def _check_kwargs(kind: str, kwargs: Mapping[str, Any]) -> None:
    allowed = _KNOWN_KWARGS.get(kind, _COMMON if kind.startswith("expect_column_values") else _AGGREGATE_KWARGS)
    extra = sorted(set(kwargs) - allowed)
    if extra:
        raise NotNative(f"{kind}: arguments {extra} are left to GE")
    for key in ("column", "column_A", "column_B"):
        if key in kwargs and not (isinstance(kwargs[key], str) and kwargs[key]):
            raise NotNative(f"{kind}: {key} {kwargs[key]!r} is not a column name")
    needs_column = kind.startswith("expect_column") and "pair" not in kind
    if needs_column and "column" not in kwargs:
        raise NotNative(f"{kind}: no column")
    if "pair" in kind and not {"column_A", "column_B"} <= set(kwargs):
        raise NotNative(f"{kind}: column_A and column_B are required")


# ---------------------------------------------------------------------- specs in, Detections out
@dataclass
class Planned:
    """One expectation ready to run natively."""

    kind: str
    kwargs: dict[str, Any]  # as GE echoes them
    meta: dict[str, Any]
    run: Runner
    temporal: bool

    @property
    def identity(self) -> tuple[str, dict[str, Any], str]:
        """What makes two expectations one in a GE suite: type, kwargs and severity (meta aside)."""
        return self.kind, self.kwargs, ex.severity_of(self.meta)


def _parts(item: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(type, kwargs, meta)`` of a dict spec or a GE expectation object (read without importing GE)."""
    if isinstance(item, Mapping):
        return ex._spec_parts(item)
    configuration = getattr(item, "configuration", None)
    if configuration is None or not hasattr(configuration, "to_json_dict"):
        raise ChaosConfigError(
            f"field 'expect': expected a GX expectation, a dict with 'type', or a suite; got {type(item).__name__}"
        )
    return ex._spec_parts(configuration.to_json_dict())


def _recency(kwargs: dict[str, Any], batch: Batch) -> dict[str, Any]:
    """``max_age_seconds`` into ``min_value = now - max_age``, in the column's zone (as the GE path does)."""
    import pandas as pd

    age = kwargs.pop("max_age_seconds", None)
    if age is None:
        return kwargs
    name = kwargs.get("column")
    aware = False
    if isinstance(name, str) and name in batch.columns:
        column = batch.column(name)
        aware = column.kind == "timestamp" and column.array.type.tz is not None
    if isinstance(age, bool) or not isinstance(age, (int, float)):
        raise NotNative(f"max_age_seconds {age!r} is not a number")
    cutoff = pd.Timestamp(datetime.now(timezone.utc) - timedelta(seconds=float(age)))
    kwargs["min_value"] = cutoff if aware else cutoff.tz_localize(None)
    return kwargs


_DEFAULTS: dict[str, Any] = {  # GE's field defaults of the supported types, left out of its echo of kwargs
    "mostly": 1,
    "min_value": None,
    "max_value": None,
    "strict_min": False,
    "strict_max": False,
    "or_equal": None,
    "ignore_row_if": "both_values_are_missing",
    "allow_relative_error": False,
    "column_index": None,
    "type_list": None,
    "column_list": None,
    "column_set": None,
    "exact_match": True,
}
_ROW_COUNTS = ("expect_table_row_count_to_be_between", "expect_table_row_count_to_equal")


def _echo(kind: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The kwargs as GE's model echoes them: defaults left out, bounds as parsed (row counts stay integers)."""
    echoed: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in _DEFAULTS and _same(value, _DEFAULTS[key]):
            continue
        if key in ("min_value", "max_value") and kind not in _ROW_COUNTS:
            with contextlib.suppress(NotNative):
                value = bound(value, key)
        echoed[key] = value
    if kind == "expect_column_values_to_match_regex" and echoed.get("regex") == "(?s).*":
        del echoed["regex"]
    return echoed


def _same(value: Any, default: Any) -> bool:
    """pydantic's ``exclude_defaults`` test: the value equals the field default."""
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _plan_one(item: Any, batch: Batch) -> Planned:
    kind, kwargs, meta = _parts(item)
    if "signals" in meta:
        ex.signals_for(kind, meta)
    ex.severity_of(meta)
    planner = _PLANNERS.get(kind)
    if planner is None:
        raise NotNative(f"{kind} is not evaluated natively")
    kwargs.pop("batch_id", None)
    _check_kwargs(kind, {k: v for k, v in kwargs.items() if k != "max_age_seconds"})
    kwargs = _recency(kwargs, batch)
    ask = Ask(kind, kwargs, batch)
    try:
        run = planner(ask)
    except _MissingColumn as missing:
        run = _error(f'Error: The column "{missing.args[0]}" in BatchData does not exist.')
    return Planned(kind, _echo(kind, kwargs), meta, run, _is_temporal(batch, kwargs.get("column")))


def _is_temporal(batch: Batch, name: Any) -> bool:
    if not isinstance(name, str) or name not in batch.columns:
        return False
    return batch.column(name).kind == "timestamp"


def plan(
    expect: Any, data: Any, *, profile_from: Any = None, tolerances: ex.ProfileTolerances | None = None
) -> list[Planned]:
    """Every expectation of ``expect`` (and of the ``profile_from`` baseline) ready to run natively.

    Raises :class:`NotNative` naming the first expectation (or data property) the engine leaves to GE,
    and :class:`ChaosConfigError` for input no engine accepts.
    """
    items = ex._expectation_list(expect)
    if profile_from is not None:
        items += ex.profile_expectations(profile_from, tolerances)
    if not items:
        raise ChaosConfigError("give at least one expectation: field 'expect' or 'profile_from'")
    batch = Batch(data)
    planned: list[Planned] = []
    for item in items:
        one = _plan_one(item, batch)
        if not any(one.identity == other.identity for other in planned):  # a GE suite holds equal ones once
            planned.append(one)
    return planned


def detection_of(one: Planned, result_format: str) -> Detection:
    """One Detection, shaped as :func:`~airflow_chaos.checks.expectations.detection_of` shapes GE's."""
    outcome = one.run(result_format)
    observed: dict[str, Any] = {
        "expectation": one.kind,
        "kwargs": ex.json_safe(one.kwargs),
        **ex.json_safe(outcome.get("result") or {}),
    }
    if outcome.get("error"):
        observed["error"] = outcome["error"]
    observed["engine"] = "native"
    return Detection(
        check=ex._check_name(one.kind, one.kwargs),
        signals=ex.signals_for(one.kind, one.meta, one.temporal),
        passed=bool(outcome["success"]),
        observed=observed,
        severity=ex.severity_of(one.meta),
    )


def validate_native(
    data: Any,
    expect: Any = None,
    *,
    profile_from: Any = None,
    result_format: str = "SUMMARY",
    tolerances: ex.ProfileTolerances | None = None,
) -> list[Detection]:
    """Validate ``data`` natively; raises :class:`NotNative` if anything must be left to GE."""
    ex.check_result_format(result_format)
    planned = plan(expect, data, profile_from=profile_from, tolerances=tolerances)
    return [detection_of(one, result_format) for one in planned]


def native_reason(expect: Any, data: Any, *, profile_from: Any = None) -> str | None:
    """Why ``expect`` on ``data`` cannot be evaluated natively, or None when it can."""
    try:
        plan(expect, data, profile_from=profile_from)
    except NotNative as exc:
        return str(exc)
    return None


def validate(
    data: Any,
    expect: Any = None,
    *,
    engine: str = "auto",
    profile_from: Any = None,
    result_format: str = "SUMMARY",
    tolerances: ex.ProfileTolerances | None = None,
) -> list[Detection]:
    """Validate ``data`` with the chosen engine; one Detection per expectation, ``observed["engine"]`` says which ran.

    :param engine: ``auto`` (native when every expectation is supported, else GE for the whole suite; a
        failure inside the native engine is logged and GE validates instead), ``native`` (raise
        :class:`ChaosConfigError` naming what is not supported) or ``gx``.
    """
    if engine not in ENGINES:
        raise ChaosConfigError(f"field 'engine': got {engine!r}; allowed: {', '.join(ENGINES)}")
    ex.check_result_format(result_format)
    options: dict[str, Any] = {"profile_from": profile_from, "result_format": result_format, "tolerances": tolerances}
    if engine == "native":
        try:
            return validate_native(data, expect, **options)
        except NotNative as exc:
            raise ChaosConfigError(f"field 'engine': 'native' cannot evaluate this suite: {exc}") from exc
    if engine == "auto":
        try:
            return validate_native(data, expect, **options)
        except NotNative as exc:
            logger.info("validating with Great Expectations: %s", exc)
        except ChaosConfigError:
            raise
        except (pa.ArrowException, ArithmeticError, LookupError, TypeError, ValueError) as exc:
            name = type(exc).__name__
            logger.warning("the native engine failed (%s: %s); validating with Great Expectations", name, exc)
    return ex.validate_frame(
        data, expect, profile_from=profile_from, result_format=result_format, tolerances=tolerances
    )
