"""Table faults on pyarrow Tables and pandas DataFrames (the catalogue of issue 3).

Every fault returns a new object of the caller's type and never mutates its input. Work is
vectorised on Arrow or numpy (see :mod:`airflow_chaos.faults.tables`); randomness comes only from
the injection's seeded ``ctx.rng``, so the same seed gives byte-identical output; what changed is
recorded on the injection through ``ctx.record`` (``rows_affected``, ``columns`` and fault-specific
details, all JSON-safe).

Families and the signals a healthy pipeline must produce for them:

===================  =====================================================================  =========================
family               faults                                                                 signals
===================  =====================================================================  =========================
schema drift         DropColumn, RenameColumn, CastColumn, AddColumn, ReorderColumns        schema
completeness         InjectNulls (MCAR, MAR, MNAR)                                          completeness
validity             OutOfRange, CorruptCategories                                          validity
distribution         ShiftDistribution; SwapColumns                                         distribution (+validity)
volume / partial     TruncateRows, DropPartition, DuplicateRows                             volume
ordering / time      ShuffleRows, OutOfOrderTimestamps; BackdateTimestamps                  ordering; freshness
===================  =====================================================================  =========================

Blast radius: faults with a ``fraction`` use ``ctx.bounded_fraction(fraction)`` and touch
``floor(fraction * rows)`` rows at most (TruncateRows drops at most ``floor(max_fraction * rows)``).
Faults that would touch every row (ShiftDistribution, SwapColumns, BackdateTimestamps, ShuffleRows)
touch a seeded sample of ``floor(max_fraction * rows)`` rows when the cap is below 1, and
DropPartition drops a seeded sample of that size when the partition is larger; they record
``capped=True``. Schema faults change no values and are not capped.

File targets: with ``path`` set, a fault reads the Parquet, CSV, TSV, JSON or JSON Lines file the task
wrote (format from the suffix, see :mod:`airflow_chaos.storage`; local paths or URLs), applies
itself, and writes the file back through
``ctx.journal.rewrite`` so the original bytes are journaled first and restorable. The task's
return value then passes through unchanged.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.base import Fault, FaultContext, journaled_rewrite
from airflow_chaos.faults.tables import (
    as_arrow,
    bounded_count,
    column_names,
    count_differences,
    fit_numeric,
    get_column,
    handled_column,
    num_rows,
    numeric_dtype,
    numeric_values,
    put_nulls,
    put_numeric,
    put_values,
    rank_window,
    require_absent,
    require_column,
    sample_positions,
    set_column,
    table_kind,
    take_values,
    to_pandas_like,
    valid_positions,
    valid_rows,
)
from airflow_chaos.storage import format_of, read_table, write_table

if TYPE_CHECKING:
    from airflow_chaos.faults.tables import Positions

__all__ = [
    "AddColumn",
    "BackdateTimestamps",
    "CastColumn",
    "CorruptCategories",
    "DropColumn",
    "DropPartition",
    "DuplicateRows",
    "FlipLabels",
    "InjectNulls",
    "OutOfOrderTimestamps",
    "OutOfRange",
    "RenameColumn",
    "ReorderColumns",
    "ShiftDistribution",
    "ShuffleRows",
    "SwapColumns",
    "TableFault",
    "TruncateRows",
    "column_names",
    "duration_seconds",
    "require_column",
    "table_kind",
]

Scalar = str | int | float | bool


def _signed_64_bits(value: Any) -> Any:
    """A field validator: an integer ``value`` must fit in 64 bits (what a table column can hold)."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        raise ValueError(f"an integer 'value' must fit in 64 bits: allowed {-(2**63)}..{2**63 - 1}")
    return value


DICTIONARY = frozenset({"dictionary"})
EMPTY_TABLE = "no rows to corrupt: the table is empty"


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


# ---------------------------------------------------------------------- the base of every table fault
class TableFault(Fault):
    """A fault on a task's returned table, or on a table file the task wrote (``path``).

    Subclasses implement :meth:`transform` (table in, new table out, same type) and record
    ``rows_affected``: the rows whose values actually changed. The one rule for a fault that changed
    nothing: with ``rows_affected == 0`` (and always on an empty table), unless the fault changes the
    schema (``changes_schema``), the fault is not effective (``ctx.ineffective`` with the reason), hands
    back its input as it was and leaves a file's bytes alone; its verdict is SKIPPED, never SILENT.
    """

    phase = "after"
    template_fields: ClassVar[tuple[str, ...]] = ("path",)
    path_fields: ClassVar[tuple[str, ...]] = ("path",)
    changes_schema: ClassVar[bool] = False  # a schema fault changes an empty table too

    path: str | None = Field(
        default=None,
        min_length=1,
        description="Fault a Parquet/CSV/TSV/JSON file the task wrote instead of its return value (templated).",
    )

    @field_validator("path")
    @classmethod
    def _known_suffix(cls, path: str | None) -> str | None:
        if path is not None and "{{" not in path and "{%" not in path:
            format_of(path, field=None)
        return path

    def target(self) -> str:
        return f"file:{self.path}" if self.path else "return_value"

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        if self.path is None:
            return self._faulted(value, ctx)
        self._apply_to_file(self.path, ctx)
        return value

    def _faulted(self, table: Any, ctx: FaultContext) -> Any:
        """:meth:`transform`, then the rule for a fault that changed nothing (see the class notes)."""
        if num_rows(table) == 0 and not self.changes_schema:
            ctx.ineffective(EMPTY_TABLE)  # first: no fault-specific reason can hide it
        out = self.transform(table, ctx)
        if not self.changes_schema and ctx.changes.get("rows_affected") == 0:
            ctx.ineffective(self._nothing_changed(table, ctx))
        if ctx.ineffective_reason is None:
            return out
        return table.copy(deep=False) if table_kind(table) == "pandas" else table

    def _nothing_changed(self, table: Any, ctx: FaultContext) -> str:
        """Why no row changed, when the fault itself did not say."""
        rows = num_rows(table)
        column = getattr(self, "column", None)
        if isinstance(column, str) and not len(valid_positions(get_column(table, column))):
            return f"no rows to corrupt: column {column!r} is all null"
        fraction = getattr(self, "fraction", None)
        if isinstance(fraction, float) and bounded_count(ctx.bounded_fraction(fraction), rows) == 0:
            capped = f" (capped at max_fraction {ctx.max_fraction})" if ctx.max_fraction < fraction else ""
            return f"no rows to corrupt: fraction {fraction}{capped} of {_rows(rows)} rounds down to 0"
        if bounded_count(ctx.max_fraction, rows) == 0:
            return f"no rows to corrupt: max_fraction {ctx.max_fraction} of {_rows(rows)} rounds down to 0"
        return f"no rows changed: {self.kind} changed 0 of {_rows(rows)}"

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        """Return a faulted copy of ``table`` (pandas DataFrame or pyarrow Table)."""
        raise NotImplementedError(f"{self.kind} does not implement transform()")

    def _apply_to_file(self, path: str, ctx: FaultContext) -> None:
        fmt = format_of(path, owner=self.kind)

        def rewrite(data: bytes) -> bytes:
            out = self._faulted(read_table(data, fmt, kind="arrow"), ctx)
            return data if ctx.ineffective_reason is not None else write_table(out, fmt)  # nothing changed: same bytes

        journaled_rewrite(self, ctx, path, rewrite)
        ctx.record(file_format=fmt)


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _row_scope(ctx: FaultContext, candidates: Positions | None, size: int, column: Any = None) -> Positions | None:
    """None (every row) unless the blast-radius cap is below 1: then a seeded, capped sample.

    The sample is drawn from ``candidates``, or from the non-null rows of ``column`` when given
    (looked up only when the cap applies), or from all rows.
    """
    cap = ctx.bounded_fraction(1.0)
    if cap >= 1:
        return None
    if column is not None:
        candidates = valid_rows(column)
    return sample_positions(ctx.rng, bounded_count(cap, size), candidates, size)


def _all_rows(size: int) -> Positions:
    import numpy as np

    return np.arange(size, dtype=np.int64)


# ---------------------------------------------------------------------- schema drift
class DropColumn(TableFault):
    """Schema drift: a column disappears from the output."""

    kind = "drop_column"
    signals = ("schema",)
    changes_schema = True

    column: str = Field(min_length=1, description="The column to drop.")

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        require_column(table, self.column, self)
        out = table.drop_columns([self.column]) if table_kind(table) == "arrow" else table.drop(columns=[self.column])
        ctx.record(columns_dropped=[self.column], columns=[self.column], rows_affected=num_rows(table))
        return out


class RenameColumn(TableFault):
    """Schema drift: a column is renamed (e.g. ``price`` becomes ``unit_price``)."""

    kind = "rename_column"
    signals = ("schema",)
    changes_schema = True

    column: str = Field(min_length=1, description="The column to rename.")
    to: str = Field(min_length=1, description="Its new name; must not exist yet.")

    @model_validator(mode="after")
    def _differs(self) -> RenameColumn:
        if self.to == self.column:
            raise ValueError("field 'to' must differ from field 'column'")
        return self

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        from airflow_chaos.faults.tables import rename_column

        require_column(table, self.column, self)
        require_absent(table, self.to, self, "to")
        ctx.record(columns=[self.column], renamed_to=self.to, rows_affected=num_rows(table))
        return rename_column(table, self.column, self.to)


CastType = Literal["string", "int64", "int32", "float64", "float32", "bool"]


class CastColumn(TableFault):
    """Schema drift: a column arrives with another type (float to string, int to float, float to int...).

    Casts are unchecked where that is the realistic failure (float to int truncates). A value that
    cannot be cast at all (``"abc"`` to int) raises ChaosConfigError. pandas integer or bool results
    with nulls use the nullable ``Int64``/``boolean`` dtypes; strings become ``object``.
    """

    kind = "cast_column"
    signals = ("schema",)
    changes_schema = True

    column: str = Field(min_length=1, description="The column to cast.")
    to_type: CastType = Field(description="The type it arrives as.")

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        column = handled_column(table, self.column, self, allow=frozenset({"dictionary", "period"}))
        arrow = as_arrow(column)
        target = pa.type_for_alias(self.to_type)
        if arrow.type == target:
            raise ChaosConfigError(f"{self.kind}: field 'to_type': column {self.column!r} already is {target}")
        try:
            cast = pc.cast(arrow, target, safe=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ChaosConfigError(
                f"{self.kind}: field 'to_type': cannot cast {self.column!r} to {target}: {exc}"
            ) from None
        new = cast if table_kind(table) == "arrow" else to_pandas_like(cast, column)
        ctx.record(columns=[self.column], from_type=str(arrow.type), to_type=str(target), rows_affected=len(arrow))
        return set_column(table, self.column, new)


class AddColumn(TableFault):
    """Schema drift: an unexpected column appears (holding ``value`` in every row)."""

    kind = "add_column"
    signals = ("schema",)
    changes_schema = True

    column: str = Field(min_length=1, description="The new column's name; must not exist yet.")
    value: Scalar | None = Field(default=None, description="The value in every row (None: all null).")

    _fits_64_bits = field_validator("value")(_signed_64_bits)

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        from airflow_chaos.faults.tables import append_constant

        require_absent(table, self.column, self, "column")
        ctx.record(columns=[self.column], columns_added=[self.column], rows_affected=num_rows(table))
        return append_constant(table, self.column, self.value)


class ReorderColumns(TableFault):
    """Schema drift: columns arrive in another order (breaks positional consumers such as CSV loaders).

    ``order=None`` draws a seeded shuffle that always differs from the current order.
    """

    kind = "reorder_columns"
    signals = ("schema",)
    changes_schema = True

    order: list[str] | None = Field(default=None, min_length=2, description="The new order of all columns.")

    @field_validator("order")
    @classmethod
    def _unique(cls, order: list[str] | None) -> list[str] | None:
        if order is not None and len(set(order)) != len(order):
            raise ValueError("names in 'order' must be unique")
        return order

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        from airflow_chaos.faults.tables import select_columns

        names = column_names(table)
        order = self._new_order(names, ctx)
        ctx.record(columns=order, previous_order=names, rows_affected=num_rows(table))
        return select_columns(table, order)

    def _new_order(self, names: list[str], ctx: FaultContext) -> list[str]:
        if self.order is not None:
            if sorted(self.order) != sorted(names) or self.order == names:
                raise ChaosConfigError(
                    f"{self.kind}: field 'order': must be a new order of exactly the columns {names}, got {self.order}"
                )
            return list(self.order)
        if len(set(names)) < 2 or len(set(names)) != len(names):
            raise ChaosConfigError(f"{self.kind}: needs at least 2 uniquely named columns to reorder, got {names}")
        perm = [int(i) for i in ctx.rng.permutation(len(names))]
        if perm == list(range(len(names))):
            perm = perm[1:] + perm[:1]
        return [names[i] for i in perm]


# ---------------------------------------------------------------------- completeness
class InjectNulls(TableFault):
    """Completeness: a fraction of a column's values go missing.

    Mechanisms follow jenga: ``MCAR`` picks rows uniformly; ``MAR`` picks one contiguous band of
    ranks of ``condition_column`` (a seeded random other column when not given); ``MNAR`` picks a
    band of ranks of the column's own values. The band's start is seeded. Only non-null values are
    picked, so ``rows_affected`` counts new nulls. See :mod:`airflow_chaos.faults.tables` for the
    missing marker per pandas dtype (numpy ``int64`` becomes nullable ``Int64``).
    """

    kind = "inject_nulls"
    signals = ("completeness",)

    column: str = Field(min_length=1, description="The column that loses values.")
    fraction: float = Field(gt=0, le=1, description="Fraction of all rows to null (capped by max_fraction).")
    mechanism: Literal["MCAR", "MAR", "MNAR"] = Field(default="MCAR", description="Missingness mechanism.")
    condition_column: str | None = Field(default=None, min_length=1, description="MAR only: the column ranked.")

    @model_validator(mode="after")
    def _condition(self) -> InjectNulls:
        if self.condition_column is not None and self.mechanism != "MAR":
            raise ValueError("field 'condition_column' is only used with mechanism='MAR'")
        if self.condition_column == self.column:
            raise ValueError("field 'condition_column' must differ from field 'column'")
        return self

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        column = handled_column(table, self.column, self, allow=DICTIONARY)
        count = bounded_count(ctx.bounded_fraction(self.fraction), len(column))
        candidates = valid_rows(column)
        positions, condition = self._choose(table, column, candidates, count, ctx)
        ctx.record(
            rows_affected=len(positions),
            columns=[self.column],
            mechanism=self.mechanism,
            condition_column=condition,
            nulls_before=0 if candidates is None else len(column) - len(candidates),
        )
        return set_column(table, self.column, put_nulls(column, positions))

    def _choose(
        self, table: Any, column: Any, candidates: Positions | None, count: int, ctx: FaultContext
    ) -> tuple[Positions, str | None]:
        if self.mechanism == "MCAR":
            return sample_positions(ctx.rng, count, candidates, len(column)), None
        if self.mechanism == "MNAR":
            return rank_window(column, candidates, count, ctx.rng), None
        condition = self.condition_column or self._other_column(table, ctx)
        ranked = handled_column(table, condition, self, "condition_column", allow=DICTIONARY)
        return rank_window(ranked, candidates, count, ctx.rng), condition

    def _other_column(self, table: Any, ctx: FaultContext) -> str:
        others = [c for c in column_names(table) if c != self.column]
        if not others:
            raise ChaosConfigError(f"{self.kind}: field 'condition_column': MAR needs another column to condition on")
        return others[int(ctx.rng.integers(0, len(others)))]


# ---------------------------------------------------------------------- validity
class OutOfRange(TableFault):
    """Validity: a fraction of a numeric column's values leave their range.

    Give exactly one of ``scale`` (multiply, e.g. 1000 for a unit mix-up) or ``value`` (replace, e.g.
    -1 or 1e9). Integer columns keep their type: results are rounded and clipped to the type's range.
    """

    kind = "out_of_range"
    signals = ("validity",)

    column: str = Field(min_length=1, description="The numeric column.")
    fraction: float = Field(gt=0, le=1, description="Fraction of all rows to corrupt (capped by max_fraction).")
    scale: float | None = Field(default=None, description="Multiply the picked values by this factor.")
    value: float | None = Field(default=None, description="Replace the picked values with this value.")

    @model_validator(mode="after")
    def _exactly_one(self) -> OutOfRange:
        given = [name for name in ("scale", "value") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of field 'scale' or field 'value', got {given or 'neither'}")
        number = self.scale if self.scale is not None else self.value
        if number is None or not math.isfinite(number) or self.scale == 1:
            raise ValueError(f"field '{given[0]}' must be finite (and a scale must not be 1), got {number!r}")
        return self

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        import numpy as np

        column = handled_column(table, self.column, self)
        dtype = numeric_dtype(column, self)
        count = bounded_count(ctx.bounded_fraction(self.fraction), len(column))
        positions = sample_positions(ctx.rng, count, valid_rows(column), len(column))
        old = numeric_values(column, positions)
        fitted = fit_numeric(old * self.scale if self.scale is not None else np.full(len(old), self.value), dtype)
        changed = int(np.count_nonzero(fitted != old))
        if len(positions) and not changed:
            ctx.ineffective(f"no rows changed: {_rows(len(positions))} picked, each already holding its new value")
        ctx.record(
            rows_affected=changed,
            columns=[self.column],
            new_min=_json_float(fitted.min()) if len(fitted) else None,
            new_max=_json_float(fitted.max()) if len(fitted) else None,
        )
        return set_column(table, self.column, put_numeric(column, positions, fitted))


class CorruptCategories(TableFault):
    """Validity: a fraction of a categorical (string) column's values become unseen or typo'd categories.

    With ``values`` the picked rows get values drawn from it (seeded). Without, each picked value gets
    a seeded typo (case swapped, or last character dropped), extended with ``_`` until it is a
    category the column has never held. Arrow ``string``/``large_string``/dictionary columns and
    pandas ``object``/``string``/``category`` columns keep their type (new categories are added).
    """

    kind = "corrupt_categories"
    signals = ("validity",)

    column: str = Field(min_length=1, description="The categorical column.")
    fraction: float = Field(gt=0, le=1, description="Fraction of all rows to corrupt (capped by max_fraction).")
    values: list[str] | None = Field(default=None, min_length=1, description="Replacement categories to draw from.")

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        import pyarrow as pa

        column = handled_column(table, self.column, self, allow=DICTIONARY)
        strings = self._as_strings(column)
        count = bounded_count(ctx.bounded_fraction(self.fraction), len(column))
        positions = sample_positions(ctx.rng, count, valid_rows(strings), len(column))
        picked = strings.take(pa.array(positions))
        new = self._replacements(picked, strings, ctx)
        new_values = sorted(set(new.unique().to_pylist()))
        # typos are unseen categories, so each differs from the seen value it replaces
        changed = len(positions) if self.values is None else count_differences(picked, new)
        if len(positions) and not changed:
            ctx.ineffective(f"no rows changed: {_rows(len(positions))} picked, each already holding its new value")
        ctx.record(
            rows_affected=changed,
            columns=[self.column],
            distinct_new_values=len(new_values),
            new_values=new_values[:20],
        )
        return set_column(table, self.column, self._write(column, positions, new, new_values))

    def _as_strings(self, column: Any) -> Any:
        import pyarrow as pa
        import pyarrow.types as pat

        arrow = as_arrow(column)
        value_type = arrow.type.value_type if pat.is_dictionary(arrow.type) else arrow.type
        if not (pat.is_string(value_type) or pat.is_large_string(value_type) or pat.is_null(value_type)):
            raise ChaosConfigError(
                f"{self.kind}: field 'column': needs a string or categorical column, got {arrow.type}"
            )
        strings = arrow.cast(pa.string())
        return strings.combine_chunks() if isinstance(strings, pa.ChunkedArray) else strings

    def _replacements(self, picked: Any, seen: Any, ctx: FaultContext) -> Any:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.values is not None:
            return pa.array(self.values, type=pa.string()).take(
                pa.array(ctx.rng.integers(0, len(self.values), len(picked)))
            )
        swap_case = ctx.rng.integers(0, 2, len(picked), dtype="uint8").astype(bool)
        known = pc.unique(seen)
        # A typo depends only on the value and the kind of typo: make each (value, kind) pair's typo
        # once, on the distinct values, and spread them to the picked rows with one take. Picked rows
        # hold values (they are sampled from the valid rows), so each has an index in ``known``.
        size = len(known)
        pair = pc.index_in(picked, value_set=known).to_numpy(zero_copy_only=False).astype(np.int64)
        pair += np.where(swap_case, 0, size)
        used = np.flatnonzero(np.bincount(pair, minlength=2 * size))
        slot = np.empty(2 * size, dtype=np.int64)
        slot[used] = np.arange(len(used), dtype=np.int64)
        typos = pa.concat_arrays([pc.utf8_swapcase(known), pc.utf8_slice_codeunits(known, 0, -1)])
        return self._unseen(typos.take(pa.array(used)), known).take(pa.array(slot[pair]))

    def _unseen(self, new: Any, known: Any) -> Any:
        """``new`` with ``_`` appended to each value until none is in ``known``."""
        import pyarrow.compute as pc

        for _ in range(64):
            collide = pc.is_in(new, value_set=known)
            if not pc.any(collide).as_py():
                return new
            new = pc.if_else(collide, pc.binary_join_element_wise(new, "_", ""), new)
        raise ChaosConfigError(f"{self.kind}: could not make unseen categories for {self.column!r}")

    def _write(self, column: Any, positions: Positions, new: Any, new_values: list[str]) -> Any:
        import pyarrow.types as pat

        if table_kind_of_column(column) == "arrow":
            if pat.is_dictionary(column.type):
                import pyarrow.compute as pc

                plain = put_values(column.cast(column.type.value_type), positions, new)
                return pc.dictionary_encode(plain).cast(column.type)
            return put_values(column, positions, new.cast(column.type))
        if str(column.dtype) == "category":
            extra = [v for v in new_values if v not in set(column.cat.categories)]
            column = column.cat.add_categories(extra)
        return put_values(column, positions, new.to_numpy(zero_copy_only=False))


def _factorized_strings(column: Any) -> tuple[Any, Positions] | None:
    """A pandas ``object`` column holding only strings (and nulls): its distinct strings as an Arrow
    array (first-seen order) and each row's code into it (-1: null); None for any other column."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if table_kind_of_column(column) == "arrow" or not (
        isinstance(column.dtype, np.dtype) and column.dtype.kind == "O"
    ):
        return None
    codes, uniques = pd.factorize(column.to_numpy())
    if pd.api.types.infer_dtype(uniques, skipna=False) != "string":
        return None  # mixed or non-string values: Arrow's own conversion decides their type
    return pa.array(uniques, type=pa.string()), codes.astype(np.int64, copy=False)


def table_kind_of_column(column: Any) -> Literal["arrow", "pandas"]:
    return "arrow" if type(column).__module__.startswith("pyarrow") else "pandas"


# ---------------------------------------------------------------------- distribution
class ShiftDistribution(TableFault):
    """Distribution: a numeric column drifts: ``x -> mean + (x - mean) * std_scale + mean_shift * std``.

    ``mean_shift`` is in units of the column's (population) standard deviation. Integer columns keep
    their type (rounded, clipped). Every non-null row is shifted unless the blast-radius cap is below 1.
    """

    kind = "shift_distribution"
    signals = ("distribution",)

    column: str = Field(min_length=1, description="The numeric column.")
    mean_shift: float = Field(
        default=0.0, ge=-1e6, le=1e6, description="Shift of the mean, in standard deviations (|shift| <= 1e6)."
    )
    std_scale: float = Field(default=1.0, gt=0, le=1e6, description="Factor on the spread around the mean (<= 1e6).")

    @model_validator(mode="after")
    def _does_something(self) -> ShiftDistribution:
        if not (math.isfinite(self.mean_shift) and math.isfinite(self.std_scale)):
            raise ValueError("field 'mean_shift' and field 'std_scale' must be finite")
        if self.mean_shift == 0 and self.std_scale == 1:
            raise ValueError("set field 'mean_shift' (not 0) or field 'std_scale' (not 1): as given nothing changes")
        return self

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        from airflow_chaos.faults.tables import numeric_stats

        column = handled_column(table, self.column, self)
        dtype = numeric_dtype(column, self)
        mean, std, valid = numeric_stats(column)
        record = {"columns": [self.column], "mean_before": _json_float(mean), "std_before": _json_float(std)}
        if std == 0:  # at most one distinct value: every value is the mean, and stays it
            if valid:
                ctx.ineffective(
                    f"no rows changed: column {self.column!r} has standard deviation 0 (one distinct value)"
                )
            ctx.record(rows_affected=0, capped=False, **record)
            return table
        scope = _row_scope(ctx, None, len(column), column)
        # x -> mean + (x - mean) * std_scale + mean_shift * std, as one multiply-add
        offset = mean * (1.0 - self.std_scale) + self.mean_shift * std
        nulls = len(column) - valid if scope is None else 0  # a capped scope holds values only
        new, changed = _multiply_add(column, scope, dtype, self.std_scale, offset, nulls)
        if changed is None:
            changed = valid if scope is None else len(scope)
        ctx.record(rows_affected=changed, capped=scope is not None, **record)
        return set_column(table, self.column, new)


def _multiply_add(
    column: Any, scope: Positions | None, dtype: Any, scale: float, offset: float, nulls: int
) -> tuple[Any, int | None]:
    """``column * scale + offset`` on ``scope`` (all rows when None, ``nulls`` of them null), in the column's type.

    Also returns how many non-null values changed (None on the Arrow float path, where every one does:
    counting them would cost as much as the shift; integers can round back to where they were).
    """
    import numpy as np

    if scope is None and table_kind_of_column(column) == "arrow" and dtype.kind == "f":
        import pyarrow.compute as pc

        scaled = column if scale == 1 else pc.multiply(column, scale)
        return pc.add(scaled, offset).cast(column.type), None
    values = numeric_values(column, scope)
    fitted = fit_numeric(values + offset if scale == 1 else values * scale + offset, dtype)
    changed = int(np.count_nonzero(fitted != values)) - nulls  # NaN never equals what it became
    return put_numeric(column, scope, fitted), changed


class SwapColumns(TableFault):
    """Distribution and validity: the values of two compatible columns are swapped (a mapping bug).

    Compatible: the same type, or both numeric (values are converted to the receiving column's type;
    then only rows where both values are non-null are swapped).
    """

    kind = "swap_columns"
    signals = ("distribution", "validity")

    a: str = Field(min_length=1, description="One column.")
    b: str = Field(min_length=1, description="The other column.")

    @model_validator(mode="after")
    def _two_columns(self) -> SwapColumns:
        if self.a == self.b:
            raise ValueError(f"field 'b' must name another column than field 'a' (both {self.a!r})")
        return self

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        col_a, col_b = handled_column(table, self.a, self, "a"), handled_column(table, self.b, self, "b")
        if _same_type(col_a, col_b):
            scope = _row_scope(ctx, None, len(col_a))
            new_a, new_b = _swap_same(col_a, col_b, scope)
            rows = _holding_rows(col_a, col_b, scope)
            if not rows and len(col_a):
                where = "every row" if scope is None else "every row picked"
                ctx.ineffective(f"no rows to corrupt: columns {self.a!r} and {self.b!r} are both null in {where}")
        else:
            new_a, new_b, rows = self._swap_numeric(col_a, col_b, ctx)
        ctx.record(rows_affected=rows, columns=[self.a, self.b], capped=ctx.bounded_fraction(1.0) < 1)
        return set_column(set_column(table, self.a, new_a), self.b, new_b)

    def _swap_numeric(self, col_a: Any, col_b: Any, ctx: FaultContext) -> tuple[Any, Any, int]:
        import numpy as np

        dtype_a, dtype_b = numeric_dtype(col_a, self, "a"), numeric_dtype(col_b, self, "b")
        both = np.intersect1d(valid_positions(col_a), valid_positions(col_b), assume_unique=True)
        if len(col_a) and not len(both):
            ctx.ineffective(f"no rows to corrupt: no row where {self.a!r} and {self.b!r} both hold a value")
        scope = _row_scope(ctx, both, len(col_a))
        rows = both if scope is None else scope
        values_a, values_b = numeric_values(col_a, rows), numeric_values(col_b, rows)
        to_a, to_b = fit_numeric(values_b, dtype_a), fit_numeric(values_a, dtype_b)
        changed = int(np.count_nonzero((to_a != values_a) | (to_b != values_b)))
        if len(rows) and not changed:
            ctx.ineffective(
                f"no rows changed: {self.a!r} and {self.b!r} hold equal values in the {_rows(len(rows))} swapped"
            )
        return put_numeric(col_a, rows, to_a), put_numeric(col_b, rows, to_b), changed


def _same_type(col_a: Any, col_b: Any) -> bool:
    if table_kind_of_column(col_a) == "arrow":
        return bool(col_a.type == col_b.type)
    return bool(col_a.dtype == col_b.dtype)


def _holding_rows(col_a: Any, col_b: Any, scope: Positions | None) -> int:
    """Rows of ``scope`` (None: all rows) where at least one column holds a value: swapping two nulls changes nothing."""
    from airflow_chaos.faults.tables import null_mask

    size = len(col_a) if scope is None else len(scope)
    if valid_rows(col_a) is None or valid_rows(col_b) is None:  # one column has no null (cheap to tell)
        return size
    both_null = null_mask(col_a) & null_mask(col_b)
    return size - int(both_null.sum() if scope is None else both_null[scope].sum())


def _swap_same(col_a: Any, col_b: Any, scope: Positions | None) -> tuple[Any, Any]:
    if scope is None:
        return col_b, col_a
    return put_values(col_a, scope, take_values(col_b, scope)), put_values(col_b, scope, take_values(col_a, scope))


# ---------------------------------------------------------------------- volume / partial data
class TruncateRows(TableFault):
    """Volume: only the first ``keep_fraction`` of the rows arrive (a partial write or page)."""

    kind = "truncate_rows"
    signals = ("volume",)

    keep_fraction: float = Field(ge=0, lt=1, description="Fraction of rows kept; the tail is lost.")

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        from airflow_chaos.faults.tables import head_rows

        rows = num_rows(table)
        dropped = bounded_count(ctx.bounded_fraction(1.0 - self.keep_fraction), rows)
        if rows and not dropped:
            ctx.ineffective(f"no rows to corrupt: keeping {self.keep_fraction} of {_rows(rows)} drops none")
        ctx.record(rows_affected=dropped, rows_before=rows, rows_after=rows - dropped)
        return head_rows(table, rows - dropped)


class DropPartition(TableFault):
    """Volume: every row of one partition (``column == value``) is missing, e.g. one day or one region.

    ``value`` is cast to the column's type (``"2024-01-01"`` matches a date column). When the column
    holds values but none matches, ChaosConfigError is raised (likely a typo in ``value``); an empty
    table or an all-null column has no rows to drop and is recorded not effective.
    """

    kind = "drop_partition"
    signals = ("volume",)

    column: str = Field(min_length=1, description="The partition column.")
    value: Scalar = Field(description="The partition value whose rows disappear.")

    _fits_64_bits = field_validator("value")(_signed_64_bits)

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        import numpy as np
        import pyarrow.compute as pc

        from airflow_chaos.faults.tables import filter_rows, mask_of

        equal, matched = self._matches(as_arrow(handled_column(table, self.column, self, allow=DICTIONARY)))
        rows = num_rows(table)
        limit = bounded_count(ctx.bounded_fraction(1.0), rows)
        if matched <= limit:  # the whole partition goes: keep every other row (no positions needed)
            dropped = matched
            keep: Any = np.ones(rows, dtype=bool) if equal is None else pc.invert(equal)
        else:
            positions = np.flatnonzero(np.asarray(equal, dtype=bool))
            dropped = limit
            keep = np.logical_not(mask_of(sample_positions(ctx.rng, limit, positions, rows), rows))
        ctx.record(
            rows_affected=dropped,
            columns=[self.column],
            rows_matched=matched,
            rows_before=rows,
            rows_after=rows - dropped,
            capped=dropped < matched,
        )
        return filter_rows(table, keep)

    def _matches(self, column: Any) -> tuple[Any, int]:
        """The rows equal to ``value`` (an Arrow boolean array without nulls; None when none can be) and their count."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if column.null_count == len(column):  # empty or all null: nothing to drop (not effective, SKIPPED)
            if not pa.types.is_null(column.type):
                self._scalar(column.type)  # a value that can never match is still a config error
            return None, 0
        scalar = self._scalar(column.type)
        equal = pc.fill_null(pc.equal(column, scalar), False)
        matched = int(pc.sum(equal).as_py() or 0)
        if not matched:
            raise ChaosConfigError(f"{self.kind}: field 'value': no row has {self.column} == {self.value!r}")
        return equal, matched

    def _scalar(self, type_: Any) -> Any:
        import pyarrow as pa

        try:
            return pa.scalar(self.value).cast(type_)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise ChaosConfigError(f"{self.kind}: field 'value': {self.value!r} does not fit {type_}: {exc}") from None


class DuplicateRows(TableFault):
    """Volume: a fraction of the rows arrive twice (a retried write); the copies are appended."""

    kind = "duplicate_rows"
    signals = ("volume",)

    fraction: float = Field(gt=0, le=1, description="Fraction of rows duplicated (capped by max_fraction).")

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        from airflow_chaos.faults.tables import append_rows

        rows = num_rows(table)
        positions = sample_positions(ctx.rng, bounded_count(ctx.bounded_fraction(self.fraction), rows), None, rows)
        ctx.record(rows_affected=len(positions), rows_before=rows, rows_after=rows + len(positions))
        return append_rows(table, positions)


# ---------------------------------------------------------------------- ordering and time
def _cycle(ctx: FaultContext, count: int) -> Positions:
    """A seeded permutation of ``range(count)`` forming one cycle: every element moves (for count > 1)."""
    import numpy as np

    order = ctx.rng.permutation(count).astype(np.int64, copy=False)
    perm = np.empty(count, dtype=np.int64)
    if count:  # perm[order] = np.roll(order, -1), without the rolled copy
        perm[order[:-1]] = order[1:]
        perm[order[-1]] = order[0]
    return perm


def _derange(ctx: FaultContext, count: int) -> Positions:
    """A seeded permutation of ``range(count)`` that is not the identity (for count > 1)."""
    import numpy as np

    perm = ctx.rng.permutation(count).astype(np.int64, copy=False)
    if count > 1 and int(perm[0]) == 0 and bool(np.array_equal(perm, np.arange(count))):  # the identity
        perm = np.roll(perm, 1)
    return perm


def _moved(order: Positions) -> int:
    """How many ``i`` have ``order[i] != i``: in blocks, not against a full-size ``arange`` (a fresh array
    of every row costs more than the comparison)."""
    import numpy as np

    block = 1 << 20
    base = np.arange(min(block, len(order)), dtype=np.int64)
    moved = 0
    for start in range(0, len(order), block):
        part = order[start : start + block]
        moved += int(np.count_nonzero(part - start != base[: len(part)]))
    return moved


class ShuffleRows(TableFault):
    """Ordering: the rows arrive in a seeded random order (pandas rows keep their index labels).

    ``rows_affected`` counts the rows moved; rows identical in every column that trade places count too.
    """

    kind = "shuffle_rows"
    signals = ("ordering",)

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        import numpy as np

        from airflow_chaos.faults.tables import take_rows

        rows = num_rows(table)
        scope = _row_scope(ctx, None, rows)
        if scope is None:
            order = _derange(ctx, rows)
            moved = _moved(order)
        else:
            order = _all_rows(rows)
            order[scope] = scope[_derange(ctx, len(scope))]
            moved = int(np.count_nonzero(order[scope] != scope))  # rows outside the scope stay
        if (rows if scope is None else len(scope)) == 1:
            ctx.ineffective("no rows to corrupt: a single row cannot be reordered")
        ctx.record(rows_affected=moved, capped=scope is not None)
        return take_rows(table, order)


# The longest backdating: the whole days an int64 count of nanoseconds holds (pandas' and Arrow's default unit).
_MAX_BACKDATE_DAYS = 106_751
_DURATION_UNITS: dict[str, float] = {
    "ms": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_NUMBER = r"(\d+(?:\.\d+)?)"
_ISO_DURATION = re.compile(
    rf"P(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?", re.IGNORECASE
)
_SHORT_PART = re.compile(rf"\s*{_NUMBER}\s*([a-z]+)\s*", re.IGNORECASE)
_DURATION_HELP = "seconds (e.g. 3600), an ISO 8601 duration (e.g. 'P2D', 'PT6H30M') or shorthand such as '2d', '6h', '1h30m', '90s', '2 days'"


def duration_seconds(by: float | str) -> float:
    """Seconds in ``by``: a number of seconds, an ISO 8601 duration or shorthand like ``"2d"``/``"1h30m"``."""
    seconds = float(by) if isinstance(by, (int, float)) else _parse_duration(by.strip())
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a duration must be positive and finite, got {by!r}; allowed: {_DURATION_HELP}")
    return seconds


def _parse_duration(text: str) -> float:
    iso = _ISO_DURATION.fullmatch(text)
    if iso and any(iso.groups()):
        weights = (604800, 86400, 3600, 60, 1)
        return sum(float(g) * w for g, w in zip(iso.groups(), weights, strict=True) if g)
    parts = list(_SHORT_PART.finditer(text))
    if not parts or "".join(p.group(0) for p in parts) != text:
        raise ValueError(f"cannot read the duration {text!r}; allowed: {_DURATION_HELP}")
    units = [p.group(2).lower() for p in parts]
    unknown = [u for u in units if u not in _DURATION_UNITS]
    if unknown:
        raise ValueError(f"unknown duration unit(s) {unknown} in {text!r}; allowed: {_DURATION_HELP}")
    return sum(float(p.group(1)) * _DURATION_UNITS[u] for p, u in zip(parts, units, strict=True))


class BackdateTimestamps(TableFault):
    """Freshness: a timestamp column is moved into the past by ``by`` (stale data that looks new).

    Works on Arrow ``timestamp`` (any unit and time zone) and ``date32``/``date64`` columns (dates move
    by whole days, rounded down) and pandas ``datetime64`` columns (naive or tz-aware); types are kept.
    """

    kind = "backdate_timestamps"
    signals = ("freshness",)

    column: str = Field(min_length=1, description="The timestamp column.")
    by: float | str = Field(description="How far back: seconds, ISO 8601 duration or shorthand such as '2d'.")

    @field_validator("by")
    @classmethod
    def _readable(cls, by: float | str) -> float | str:
        seconds = duration_seconds(by)
        if seconds > _MAX_BACKDATE_DAYS * 86400:
            raise ValueError(
                f"must be at most {_MAX_BACKDATE_DAYS} days (about 292 years: the longest shift a nanosecond "
                f"timestamp can hold), got {seconds:.6g} seconds; allowed: more than 0 up to {_MAX_BACKDATE_DAYS}d"
            )
        return by

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        column = handled_column(table, self.column, self)
        shift = self._shifter(column)
        scope = _row_scope(ctx, None, len(column), column)
        if scope is None:
            new = shift(column)
            rows = len(column) - int(column.null_count if table_kind(table) == "arrow" else column.isna().sum())
        else:
            new = put_values(column, scope, shift(take_values(column, scope)))
            rows = len(scope)
        ctx.record(
            rows_affected=rows,
            columns=[self.column],
            backdated_seconds=duration_seconds(self.by),
            capped=scope is not None,
        )
        return set_column(table, self.column, new)

    def _shifter(self, column: Any) -> Any:
        from datetime import timedelta

        delta = timedelta(seconds=duration_seconds(self.by))
        if table_kind_of_column(column) == "arrow":
            return self._arrow_shifter(column.type, delta)
        import pandas as pd

        if not pd.api.types.is_datetime64_any_dtype(column.dtype):
            raise ChaosConfigError(f"{self.kind}: field 'column': needs a datetime column, got {column.dtype}")
        offset = pd.Timedelta(delta)
        return self._in_range(lambda values: values - offset, column.dtype)

    def _arrow_shifter(self, type_: Any, delta: Any) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.types as pat

        if pat.is_timestamp(type_):
            scalar = pa.scalar(delta, type=pa.duration(type_.unit))
            return self._in_range(lambda values: pc.subtract_checked(values, scalar), type_)
        if pat.is_date(type_):
            days = pa.scalar(delta, type=pa.duration("s"))
            return self._in_range(
                lambda values: pc.cast(
                    pc.floor_temporal(pc.subtract_checked(values, days), unit="day"), type_, safe=False
                ),
                type_,
            )
        raise ChaosConfigError(f"{self.kind}: field 'column': needs a timestamp or date column, got {type_}")

    def _in_range(self, shift: Any, type_: Any) -> Any:
        """``shift``, refusing (never wrapping around) a result ``type_`` cannot hold, naming field 'by'."""

        def checked(values: Any) -> Any:
            try:
                return shift(values)
            except (OverflowError, ValueError) as exc:  # ArrowInvalid and pandas' OutOfBounds* are ValueErrors
                raise ChaosConfigError(
                    f"{self.kind}: field 'by': backdating {self.column!r} by {self.by!r} leaves the range of {type_}: {exc}"
                ) from None

        return checked


class OutOfOrderTimestamps(TableFault):
    """Ordering: a fraction of a column's values trade places, so a time-ordered column is no longer ordered.

    The picked rows' values are rotated among themselves along one seeded random cycle, so every
    picked row gets another picked row's value: the set of values and every other column stay as
    they were.
    """

    kind = "out_of_order_timestamps"
    signals = ("ordering",)

    column: str = Field(min_length=1, description="The (time-ordered) column.")
    fraction: float = Field(gt=0, le=1, description="Fraction of rows whose values move (capped by max_fraction).")

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        column = handled_column(table, self.column, self)
        count = bounded_count(ctx.bounded_fraction(self.fraction), len(column))
        positions = sample_positions(ctx.rng, count, valid_rows(column), len(column))
        if len(positions) == 1:
            ctx.ineffective(
                f"no rows to corrupt: fraction {self.fraction} of {_rows(len(column))} picks 1 row: "
                "a single row cannot trade places"
            )
        sources = positions[_cycle(ctx, len(positions))]
        moved_values = take_values(column, sources)
        moved = count_differences(take_values(column, positions), moved_values)
        if len(positions) > 1 and not moved:
            ctx.ineffective(f"no rows changed: the {_rows(len(positions))} picked in {self.column!r} hold equal values")
        ctx.record(rows_affected=moved, columns=[self.column])
        if not moved:
            return table
        return set_column(table, self.column, put_values(column, positions, moved_values))


# ---------------------------------------------------------------------- labels (model quality)
class FlipLabels(TableFault):
    """Model quality: a mislabeled training batch: a seeded ``fraction`` of the rows get another class.

    Each picked row's label becomes a different class drawn (seeded, uniformly) from ``classes``
    (default: the classes the column holds). The schema, the nulls and the set of classes stay as they
    were, so schema and null checks pass; a model trained on the batch loses quality, which a
    model-quality check catches (``CheckModelQualityOperator``). Null labels are never picked.
    """

    kind = "flip_labels"
    signals = ("model.quality",)

    column: str = Field(min_length=1, description="The label column.")
    fraction: float = Field(gt=0, le=1, description="Fraction of all rows to mislabel (capped by max_fraction).")
    classes: list[Scalar] | None = Field(default=None, min_length=2, description="Classes to flip among (default: those present).")

    def transform(self, table: Any, ctx: FaultContext) -> Any:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        column = handled_column(table, self.column, self)
        factorized = _factorized_strings(column)
        if factorized is None:
            arrow = as_arrow(column)
            arrow = arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow
            valid = valid_rows(arrow)  # the nulls of the Arrow copy: no second scan
        else:  # pandas strings: the distinct values and one code per row, not an Arrow copy of every row
            arrow, codes = factorized
            valid = None if codes.min(initial=0) >= 0 else np.flatnonzero(codes >= 0).astype(np.int64)
        classes = self._classes(arrow)
        ctx.record(columns=[self.column], classes=classes.to_pylist()[:20])
        if len(classes) < 2:
            ctx.ineffective(f"no rows changed: column {self.column!r} holds a single class ({classes.to_pylist()[0] if len(classes) else 'none'}); give classes=[...]")
            ctx.record(rows_affected=0)
            return table
        count = bounded_count(ctx.bounded_fraction(self.fraction), len(column))
        positions = sample_positions(ctx.rng, count, valid, len(column))
        if not len(positions):  # nothing to relabel: the TableFault rule says why (no rows, all null, rounding)
            ctx.record(rows_affected=0)
            return table
        if factorized is None:
            found = pc.index_in(arrow.take(pa.array(positions)), value_set=classes).to_numpy(zero_copy_only=False)
        else:  # each distinct value looked up once
            found = pc.index_in(arrow, value_set=classes).take(pa.array(codes[positions])).to_numpy(zero_copy_only=False)
        known = ~np.isnan(found.astype("float64"))
        others = ctx.rng.integers(0, len(classes) - 1, len(positions))
        index = np.where(known, (np.nan_to_num(found.astype("float64")).astype("int64") + 1 + others) % len(classes), others)
        new = classes.take(pa.array(index))
        ctx.record(rows_affected=len(positions))
        values = new if table_kind_of_column(column) == "arrow" else new.to_numpy(zero_copy_only=False)
        return set_column(table, self.column, put_values(column, positions, values))

    def _classes(self, arrow: Any) -> Any:
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.classes is not None:
            if pa.types.is_null(arrow.type):  # no label to flip (an empty or all-null pandas column): any fit
                return pa.array(self.classes)
            try:
                return pa.array(self.classes).cast(arrow.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ChaosConfigError(f"{self.kind}: field 'classes': {self.classes!r} do not fit column {self.column!r} ({arrow.type}): {exc}") from None
        present = pc.unique(arrow.drop_null())
        return present.take(pc.sort_indices(present))
