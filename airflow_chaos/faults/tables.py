"""The table machinery under the table faults: one small vocabulary over pandas and Arrow.

Table faults work on a pyarrow ``Table`` or a pandas ``DataFrame`` and must hand back the same type,
never mutate their input and keep column types honest. This module gives them the few operations
they need, each vectorised on Arrow (``pyarrow.compute``) or numpy:

- tables: kind, columns, get/set a column, rename, select, take/filter/slice/append rows;
- columns: null mask, valid (non-null) positions, values at positions, put values or nulls at
  positions, numeric views and numeric write-back with the column's own type;
- randomness: exact-size, seeded row samples drawn only from the fault's ``ctx.rng``.

Table files (for faults with a ``path``) are read and written by :mod:`airflow_chaos.storage`.

Row positions are always sorted ``int64`` numpy arrays. Unchanged pandas columns are shared with the
input frame (as Arrow shares buffers); changed columns are new arrays. numpy, pandas and pyarrow
are imported inside the functions so importing the fault catalogue stays cheap.

Missing values in pandas: float columns get ``NaN``; numpy ``int``/``uint`` columns become the
nullable ``Int64``/``UInt8``/... dtype of the same width and numpy ``bool`` becomes ``boolean``
(so integer values stay integers); datetimes get ``NaT``; object, string, category and other
extension columns keep their dtype and get its missing marker. Arrow columns keep their type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.storage import TableKind

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from airflow_chaos.faults.base import Fault

    Positions = NDArray[np.int64]
    Mask = NDArray[np.bool_]


# ---------------------------------------------------------------------- tables
def table_kind(value: Any) -> TableKind:
    """``"arrow"`` or ``"pandas"``; raises ChaosConfigError for anything else."""
    module = type(value).__module__
    if module.startswith("pyarrow") and type(value).__name__ == "Table":
        return "arrow"
    if module.startswith("pandas") and type(value).__name__ == "DataFrame":
        return "pandas"
    raise ChaosConfigError(
        f"table faults need a pandas DataFrame or pyarrow Table, got {type(value).__module__}.{type(value).__name__}"
    )


def column_names(value: Any) -> list[str]:
    if table_kind(value) == "arrow":
        return list(value.column_names)
    return [str(c) for c in value.columns]


def require_column(value: Any, column: str, fault: Fault, field: str = "column") -> None:
    """Raise ChaosConfigError naming ``field`` unless ``column`` is exactly one column of the table."""
    names = column_names(value)
    if names.count(column) != 1:
        problem = "not in the table" if column not in names else "appears more than once"
        raise ChaosConfigError(f"{fault.kind}: field '{field}': {column!r} {problem}; columns: {names}")


def require_absent(value: Any, column: str, fault: Fault, field: str) -> None:
    names = column_names(value)
    if column in names:
        raise ChaosConfigError(f"{fault.kind}: field '{field}': {column!r} already exists; columns: {names}")


def num_rows(value: Any) -> int:
    return int(value.num_rows) if table_kind(value) == "arrow" else len(value)


def get_column(value: Any, name: str) -> Any:
    """The column as an Arrow ``ChunkedArray`` or a pandas ``Series``."""
    return value.column(name) if table_kind(value) == "arrow" else value[name]


def set_column(value: Any, name: str, column: Any) -> Any:
    """A new table with column ``name`` replaced by ``column`` (same position, same name)."""
    if table_kind(value) == "arrow":
        return value.set_column(value.column_names.index(name), name, column)
    import numpy as np
    import pandas as pd

    # pandas' own setitem copies the new column again and costs milliseconds per million rows;
    # concatenating column views shares every unchanged column and the new one without a copy.
    position = [str(c) for c in value.columns].index(name)
    if isinstance(column, pd.Series) and column.index is value.index:
        new = column  # its name does not matter: the column labels are restored below
    else:
        data = column.array if isinstance(column, pd.Series) else column
        if type(data) is pd.arrays.NumpyExtensionArray:  # exactly: StringArray subclasses it
            data = np.asarray(data)  # its to_numpy(), which pd.Series calls, scans every value for missing ones
        new = pd.Series(data, index=value.index, copy=False)
    parts = [new if k == position else value.iloc[:, k] for k in range(value.shape[1])]
    no_copy = {"copy": False} if int(pd.__version__.split(".", 1)[0]) < 3 else {}  # pandas 3: copy-on-write
    out = pd.concat(parts, axis=1, **no_copy)  # type: ignore[call-overload]
    out.columns = value.columns
    return out


def rename_column(value: Any, old: str, new: str) -> Any:
    if table_kind(value) == "arrow":
        return value.rename_columns([new if c == old else c for c in value.column_names])
    out = value.copy(deep=False)
    out.columns = [new if c == old else c for c in out.columns]
    return out


def append_constant(value: Any, name: str, constant: Any) -> Any:
    """A new table with a last column ``name`` holding ``constant`` in every row."""
    if table_kind(value) == "arrow":
        import pyarrow as pa

        scalar = pa.scalar(constant)
        return value.append_column(name, pa.repeat(scalar, value.num_rows))
    out = value.copy(deep=False)
    out[name] = constant
    return out


def select_columns(value: Any, order: list[str]) -> Any:
    if table_kind(value) == "arrow":
        return value.select(order)
    return value.reindex(columns=order, copy=False)


def take_rows(value: Any, positions: Positions) -> Any:
    """Rows at ``positions`` in that order (pandas keeps their index labels)."""
    return value.take(positions)


def filter_rows(value: Any, keep: Mask | Any) -> Any:
    """The rows where ``keep`` (a numpy bool mask, or an Arrow boolean array without nulls) is true."""
    import numpy as np

    if table_kind(value) == "arrow":
        import pyarrow as pa

        return value.filter(keep if isinstance(keep, (pa.Array, pa.ChunkedArray)) else pa.array(keep))
    return value[np.asarray(keep, dtype=bool)]


def head_rows(value: Any, count: int) -> Any:
    if table_kind(value) == "arrow":
        return value.slice(0, count)
    return value.iloc[:count].copy()


def append_rows(value: Any, positions: Positions) -> Any:
    """The table followed by copies of the rows at ``positions``."""
    if table_kind(value) == "arrow":
        import pyarrow as pa

        return pa.concat_tables([value, value.take(positions)])
    import pandas as pd

    return pd.concat([value, value.take(positions)])


# ---------------------------------------------------------------------- columns
def is_arrow_column(column: Any) -> bool:
    return type(column).__module__.startswith("pyarrow")


def column_family(column: Any) -> str | None:
    """The family of a column type that faults reading or writing single values do not handle, or None.

    ``"nested list"``, ``"struct"``, ``"map"``, ``"union"``, ``"dictionary"`` (pandas: categorical),
    ``"period"``, ``"interval"``, ``"sparse"`` or ``"extension"``; None for numbers, strings,
    binaries, booleans, dates, times, timestamps, durations and all-null columns. A pandas ``object``
    column is judged by its first non-null value (a list is a nested list, a dict a struct).
    """
    if is_arrow_column(column):
        return _arrow_family(column.type)
    import pandas as pd

    dtype = column.dtype
    for family, dtype_class in (
        ("dictionary", pd.CategoricalDtype),
        ("period", pd.PeriodDtype),
        ("interval", pd.IntervalDtype),
        ("sparse", pd.SparseDtype),
    ):
        if isinstance(dtype, dtype_class):
            return family
    if isinstance(dtype, pd.ArrowDtype):
        return _arrow_family(dtype.pyarrow_dtype)
    return _object_family(column) if pd.api.types.is_object_dtype(dtype) else None


def _arrow_family(type_: Any) -> str | None:
    import pyarrow as pa
    import pyarrow.types as pat

    if isinstance(type_, pa.BaseExtensionType):
        name = str(type_.extension_name)
        return "period" if "period" in name else "interval" if "interval" in name else "extension"
    checks = (
        ("dictionary", pat.is_dictionary),
        ("map", pat.is_map),
        ("struct", pat.is_struct),
        ("union", pat.is_union),
        ("nested list", pat.is_nested),
        ("interval", pat.is_interval),
    )
    return next((family for family, check in checks if check(type_)), None)


def _object_family(series: Any) -> str | None:
    import numpy as np
    import pandas as pd

    values = series.to_numpy()
    first, start, step = None, 0, 64
    while start < len(values):  # look ahead in growing steps: the first value is nearly always non-null
        present = ~np.asarray(pd.isna(values[start : start + step]), dtype=bool)
        if present.any():
            first = values[start + int(present.argmax())]
            break
        start, step = start + step, step * 8
    if first is None:
        return None
    if isinstance(first, dict):
        return "struct"
    return "nested list" if isinstance(first, (list, tuple, set, np.ndarray)) else None


def handled_column(
    value: Any, name: str, fault: Fault, field: str = "column", allow: frozenset[str] = frozenset()
) -> Any:
    """The column ``name`` of the table, refused with ChaosConfigError when its type's family is not in ``allow``.

    For faults that read or write single values: the error names the field, the column, its type
    and the type's family (see :func:`column_family`), never a raw Arrow error from deep inside.
    """
    require_column(value, name, fault, field)
    column = get_column(value, name)
    family = column_family(column)
    if family is not None and family not in allow:
        type_ = column.type if is_arrow_column(column) else column.dtype
        raise ChaosConfigError(
            f"{fault.kind}: field '{field}': column {name!r} is a {family} column ({type_}), which {fault.kind} "
            "does not handle; it works on columns of numbers, strings, booleans, dates or timestamps"
            + "".join(f" and on {f} columns" for f in sorted(allow))
        )
    return column


def count_differences(a: Any, b: Any) -> int:
    """How many positions of two value arrays of the same type differ (null against null: no difference)."""
    import numpy as np

    if is_arrow_column(a):
        import pyarrow.compute as pc

        changed = pc.not_equal(a, b)
        if a.null_count or b.null_count:
            changed = pc.or_(pc.fill_null(changed, False), pc.xor(pc.is_null(a), pc.is_null(b)))
        return int(pc.sum(changed).as_py() or 0)
    import pandas as pd

    null_a, null_b = np.asarray(pd.isna(a), dtype=bool), np.asarray(pd.isna(b), dtype=bool)
    both = ~null_a & ~null_b
    return int(np.count_nonzero(null_a != null_b)) + int(np.count_nonzero(np.asarray(a[both] != b[both], dtype=bool)))


def as_arrow(column: Any) -> Any:
    """The column as Arrow (pandas Series are converted, NaN counting as null)."""
    if is_arrow_column(column):
        return column
    import pyarrow as pa

    return pa.Array.from_pandas(column)


def null_mask(column: Any) -> Mask:
    """True where the column is null (NaN/NaT/None for pandas)."""
    import numpy as np

    if is_arrow_column(column):
        if column.null_count == 0:
            return np.zeros(len(column), dtype=bool)
        import pyarrow.compute as pc

        return np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(column.isna().to_numpy(), dtype=bool)


def valid_positions(column: Any) -> Positions:
    """Sorted positions of the non-null values."""
    import numpy as np

    return np.flatnonzero(~null_mask(column)).astype(np.int64, copy=False)


def valid_rows(column: Any) -> Positions | None:
    """Sorted positions of the non-null values, or None when no value is null (cheap to check)."""
    import numpy as np

    if is_arrow_column(column):
        return None if column.null_count == 0 else valid_positions(column)
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in ("i", "u", "b"):
        return None
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        nulls = np.isnan(column.to_numpy())
    else:
        nulls = np.asarray(column.isna().to_numpy(), dtype=bool)
    return np.flatnonzero(~nulls).astype(np.int64, copy=False) if nulls.any() else None


def mask_of(positions: Positions, size: int) -> Mask:
    import numpy as np

    mask = np.zeros(size, dtype=bool)
    mask[positions] = True
    return mask


def take_values(column: Any, positions: Positions) -> Any:
    """Values at ``positions``: an Arrow array, or a pandas ExtensionArray keeping the dtype."""
    if is_arrow_column(column):
        return column.take(positions)
    return column.iloc[positions].array


def put_values(column: Any, positions: Positions, values: Any) -> Any:
    """A copy of ``column`` with ``values`` written at the sorted ``positions``."""
    if is_arrow_column(column):
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        elif not isinstance(values, pa.Array):
            values = pa.array(values, type=column.type)
        if _variable_width(column.type):
            return _put_by_take(column, positions, values.cast(column.type))
        return pc.replace_with_mask(column, pa.array(mask_of(positions, len(column))), values.cast(column.type))
    out = column.copy()
    out.iloc[positions] = values
    return out


def _variable_width(type_: Any) -> bool:
    import pyarrow.types as pat

    return bool(
        pat.is_string(type_) or pat.is_large_string(type_) or pat.is_binary(type_) or pat.is_large_binary(type_)
    )


def _put_by_take(column: Any, positions: Positions, values: Any) -> Any:
    """Strings and binaries: one ``take`` over column + values beats ``replace_with_mask`` several times over."""
    import numpy as np
    import pyarrow as pa

    base = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    index = np.arange(len(base), dtype=np.int64)
    index[positions] = len(base) + np.arange(len(positions), dtype=np.int64)
    return pa.concat_arrays([base, values]).take(pa.array(index))


def put_nulls(column: Any, positions: Positions) -> Any:
    """A copy of ``column`` with nulls at ``positions`` (see the module notes on pandas dtypes)."""
    if is_arrow_column(column):
        import pyarrow as pa
        import pyarrow.compute as pc

        mask = pa.array(mask_of(positions, len(column)))
        return pc.if_else(mask, pa.scalar(None, type=column.type), column)
    return _pandas_put_nulls(column, positions)


def _pandas_put_nulls(series: Any, positions: Positions) -> Any:
    import numpy as np
    import pandas as pd

    kind = series.dtype.kind if isinstance(series.dtype, np.dtype) else ""
    if kind in ("f", "c", "m", "M"):
        values = series.to_numpy(copy=True)
        values[positions] = (
            np.nan if kind in ("f", "c") else np.datetime64("NaT") if kind == "M" else np.timedelta64("NaT")
        )
        return pd.Series(values, index=series.index, name=series.name)
    if kind in ("i", "u", "b"):
        mask = mask_of(positions, len(series))
        array_type = pd.arrays.BooleanArray if kind == "b" else pd.arrays.IntegerArray
        return pd.Series(array_type(series.to_numpy(copy=True), mask), index=series.index, name=series.name)
    out = series.copy()
    out.iloc[positions] = None
    return out


# ---------------------------------------------------------------------- numeric columns
def numeric_dtype(column: Any, fault: Fault, field: str = "column") -> np.dtype[Any]:
    """The numpy dtype of a numeric (int, uint or float, not bool) column, or ChaosConfigError."""
    import numpy as np

    if is_arrow_column(column):
        import pyarrow.types as pat

        ok = pat.is_integer(column.type) or pat.is_floating(column.type)
        dtype = np.dtype(column.type.to_pandas_dtype()) if ok else None
    else:
        raw = getattr(column.dtype, "numpy_dtype", column.dtype)
        dtype = raw if isinstance(raw, np.dtype) and raw.kind in ("i", "u", "f") else None
    if dtype is None:
        raise ChaosConfigError(
            f"{fault.kind}: field '{field}': needs a numeric column, got {column.dtype if hasattr(column, 'dtype') else column.type}"
        )
    return dtype


def numeric_values(column: Any, positions: Positions | None) -> NDArray[np.float64]:
    """The column's values as float64 (all rows when ``positions`` is None; nulls as NaN).

    Float64 columns without nulls are returned without copying: treat the result as read-only.
    """
    import numpy as np

    if is_arrow_column(column):
        picked = column if positions is None else column.take(positions)
        if hasattr(picked, "combine_chunks"):
            picked = picked.combine_chunks()
        return np.asarray(picked.to_numpy(zero_copy_only=False), dtype=np.float64)
    if isinstance(column.dtype, np.dtype):
        raw = column.to_numpy()
        return np.asarray(raw if positions is None else raw[positions], dtype=np.float64)
    picked = column if positions is None else column.iloc[positions]
    return np.asarray(picked.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def numeric_stats(column: Any) -> tuple[float, float, int]:
    """Mean, population standard deviation and count of the non-null values (NaN counts as null)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if is_arrow_column(column):
        arrow = column
    elif isinstance(column.dtype, np.dtype) and column.dtype.kind == "f" and not np.isnan(column.to_numpy()).any():
        arrow = pa.array(column.to_numpy())  # zero-copy
    else:
        arrow = as_arrow(column)
    count = len(arrow) - arrow.null_count
    if count == 0:
        return 0.0, 0.0, 0
    if count < _PARALLEL_STATS:
        return float(pc.mean(arrow).as_py()), float(pc.stddev(arrow, ddof=0).as_py()), int(count)
    from concurrent.futures import ThreadPoolExecutor

    # a large column: the mean's pass beside the deviation's (Arrow's kernels release the GIL), same results
    with ThreadPoolExecutor(max_workers=1) as pool:
        mean = pool.submit(pc.mean, arrow)
        std = float(pc.stddev(arrow, ddof=0).as_py())
        return float(mean.result().as_py()), std, int(count)


_PARALLEL_STATS = 1_000_000  # values; below it starting a thread costs more than the pass it overlaps


def fit_numeric(values: NDArray[np.float64], dtype: np.dtype[Any]) -> NDArray[Any]:
    """``values`` in ``dtype``: integers are rounded and clipped to the type's range."""
    import numpy as np

    if dtype.kind == "f":
        return values.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    # float64 cannot hold int64's extremes exactly; stay just inside them.
    low, high = float(np.nextafter(float(info.min), 0)), float(np.nextafter(float(info.max), 0))
    return np.clip(np.rint(np.nan_to_num(values)), low, high).astype(dtype)


def put_numeric(column: Any, positions: Positions | None, values: NDArray[Any]) -> Any:
    """A copy of ``column`` with fitted ``values`` written at ``positions``.

    With ``positions`` None, ``values`` holds every row and the column's nulls stay null.
    """
    if is_arrow_column(column):
        if positions is not None:
            return put_values(column, positions, values)
        import pyarrow as pa

        nulls = null_mask(column) if column.null_count else None
        return pa.chunked_array([pa.array(values, type=column.type, mask=nulls)])
    return _pandas_put_numeric(column, positions, values)


def _pandas_put_numeric(series: Any, positions: Positions | None, values: NDArray[Any]) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, np.dtype):
        if positions is None:
            return pd.Series(values, index=series.index, name=series.name)
        out = series.to_numpy(copy=True)
        out[positions] = values
        return pd.Series(out, index=series.index, name=series.name)
    if positions is None:
        positions = valid_positions(series)
        values = values[positions]
    return put_values(series, positions, values)


# ---------------------------------------------------------------------- seeded samples
def sample_positions(rng: np.random.Generator, count: int, among: Positions | None, size: int) -> Positions:
    """Exactly ``min(count, pool)`` sorted positions drawn uniformly from ``among`` (None: all ``size`` rows)."""
    picked = sample_sorted(rng, size if among is None else len(among), count)
    return picked if among is None else among[picked]


def sample_sorted(rng: np.random.Generator, size: int, count: int) -> Positions:
    """Exactly ``count`` sorted positions in ``range(size)``, every ``count``-subset equally likely.

    A Bernoulli draw on 16-bit random numbers at a rate a few standard deviations above
    ``count / size``, then a uniform trim (or, rarely, top-up) to the exact count: far cheaper than
    drawing positions one by one or permuting all rows.
    """
    import math

    import numpy as np

    count = max(0, min(int(count), size))
    if count in (0, size):
        return np.arange(count, dtype=np.int64)
    rate = count / size
    rate += 4.0 * math.sqrt(rate * (1.0 - rate) / size) + 1.0 / size
    threshold = math.ceil(rate * 65536)
    if threshold >= 65536:
        positions = np.arange(size, dtype=np.int64)
    else:
        # full-range 64-bit draws cost half as much per random bit as small-range ones: view them as 16-bit
        words = rng.integers(0, 2**64 - 1, (size + 3) // 4, dtype=np.uint64, endpoint=True)
        positions = np.flatnonzero(words.view(np.uint16)[:size] < np.uint16(threshold))
    excess = len(positions) - count
    if excess > 0:
        return np.delete(positions, rng.choice(len(positions), excess, replace=False)).astype(np.int64, copy=False)
    if excess < 0:
        free = np.flatnonzero(~mask_of(positions, size))
        extra = free[rng.choice(len(free), -excess, replace=False)]
        return np.flatnonzero(mask_of(np.concatenate([positions, extra]), size)).astype(np.int64, copy=False)
    return positions.astype(np.int64, copy=False)


def bounded_count(fraction: float, size: int) -> int:
    """How many of ``size`` rows a (bounded) fraction allows: floor, so the cap is never exceeded."""
    return max(0, min(size, int(fraction * size + 1e-9)))


# ---------------------------------------------------------------------- ranks and casts
def rank_window(column: Any, among: Positions | None, count: int, rng: np.random.Generator) -> Positions:
    """``count`` sorted positions from ``among`` (None: all rows) whose values form one contiguous rank band.

    The band starts at a seeded random rank, as jenga's MAR/MNAR percentile selection does; nulls
    rank last.
    """
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.types as pat

    keys = as_arrow(column)
    if pat.is_dictionary(keys.type):  # rank categories by their values (Arrow cannot sort dictionaries)
        keys = keys.cast(keys.type.value_type)
    pool = len(keys) if among is None else len(among)
    count = max(0, min(int(count), pool))
    if count == 0:
        return np.empty(0, dtype=np.int64)
    if among is not None:
        keys = keys.take(among)
    start = int(rng.integers(0, pool - count + 1))
    values = _plain_numbers(keys)
    if values is not None:
        band = _stable_rank_band(values, start, count)
    else:
        band = np.asarray(pc.sort_indices(keys).to_numpy(), dtype=np.int64)[start : start + count]
    picked = band if among is None else among[band]
    return np.flatnonzero(mask_of(picked, len(column))).astype(np.int64, copy=False)


def _plain_numbers(keys: Any) -> NDArray[Any] | None:
    """The keys as a numpy integer or float array without nulls or NaN, or None (then they are sorted)."""
    import numpy as np
    import pyarrow.types as pat

    if keys.null_count or not (pat.is_integer(keys.type) or pat.is_floating(keys.type)):
        return None
    if hasattr(keys, "combine_chunks"):
        keys = keys.combine_chunks()
    values = np.asarray(keys.to_numpy(zero_copy_only=False))
    if values.dtype.kind == "f" and bool(np.isnan(values).any()):
        return None
    return values


def _stable_rank_band(values: NDArray[Any], start: int, count: int) -> Positions:
    """The positions holding ranks ``start .. start + count - 1`` of a stable ascending sort of ``values``.

    The same set as ``argsort(values, kind="stable")[start : start + count]`` (ties ranked by position),
    found with one partition instead of a full sort.
    """
    import numpy as np

    low, high = np.partition(values, (start, start + count - 1))[[start, start + count - 1]]
    inside = (values > low) & (values < high)
    below = int(np.count_nonzero(values < low))
    tied_low = np.flatnonzero(values == low)
    if low == high:  # the whole band is one tied run: ranks below + 0, 1, ... in position order
        picked = tied_low[start - below : start - below + count]
        return picked.astype(np.int64, copy=False)
    tied_high = np.flatnonzero(values == high)
    below_high = int(np.count_nonzero(values < high))
    parts = [tied_low[start - below :], np.flatnonzero(inside), tied_high[: start + count - below_high]]
    return np.sort(np.concatenate(parts)).astype(np.int64, copy=False)


def to_pandas_like(array: Any, like: Any) -> Any:
    """An Arrow array as a pandas Series with ``like``'s index and name; nullable dtypes for ints/bools with nulls."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.types as pat

    mapper = None
    if array.null_count and (pat.is_integer(array.type) or pat.is_boolean(array.type)):
        nullable = (
            pd.BooleanDtype()
            if pat.is_boolean(array.type)
            else pd.api.types.pandas_dtype(str(array.type).capitalize().replace("Uint", "UInt"))
        )
        mapper = {array.type: nullable}.get
    out = pa.chunked_array([array]) if isinstance(array, pa.Array) else array
    series = out.to_pandas(types_mapper=mapper)
    series.index = like.index
    series.name = like.name
    return series
