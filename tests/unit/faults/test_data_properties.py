"""Property tests: table faults over random tables and parameters never crash, honour fractions and the cap.

Counts are exact, not just bounded: a fault with ``fraction=f`` under the cap ``c`` touches
``floor(min(f, c) * rows)`` rows (``bounded_count``), or every eligible (non-null) row when fewer
are eligible, and the output differs from the input in those rows; a fault that changed nothing
fails here.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults import Fault, FaultContext

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NUMERIC = ("i", "x")


@st.composite
def tables(draw: st.DrawFn) -> Any:
    """A 0-40 row table with nullable int, float, string and timestamp columns, as Arrow or pandas."""
    n = draw(st.integers(0, 40))

    def column(values: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.one_of(st.none(), values), min_size=n, max_size=n))

    table = pa.table(
        {
            "i": pa.array(column(st.integers(-(10**6), 10**6)), pa.int64()),
            "x": pa.array(column(st.floats(-1e6, 1e6, allow_nan=False)), pa.float64()),
            "s": pa.array(column(st.sampled_from(["a", "b", "cc", "D", ""])), pa.string()),
            "t": pa.array(column(st.integers(0, 2 * 10**18)), pa.timestamp("ns", tz="UTC")),
        }
    )
    return table if draw(st.booleans()) else table.to_pandas()


fractions = st.floats(0.01, 1.0)
caps = st.one_of(st.just(1.0), st.floats(0.01, 1.0))
seeds = st.integers(0, 2**63 - 1)

fraction_faults = st.one_of(
    st.builds(
        faults.InjectNulls,
        column=st.sampled_from(["i", "x", "s", "t"]),
        fraction=fractions,
        mechanism=st.sampled_from(["MCAR", "MNAR", "MAR"]),
    ),
    st.builds(faults.OutOfRange, column=st.sampled_from(NUMERIC), fraction=fractions, scale=st.floats(2, 1e6)),
    st.builds(faults.OutOfRange, column=st.sampled_from(NUMERIC), fraction=fractions, value=st.floats(-1e12, 1e12)),
    st.builds(
        faults.CorruptCategories,
        column=st.just("s"),
        fraction=fractions,
        values=st.one_of(st.none(), st.lists(st.text(max_size=3), min_size=1, max_size=3)),
    ),
    st.builds(faults.OutOfOrderTimestamps, column=st.sampled_from(["t", "i"]), fraction=fractions),
)

whole_column_faults = st.one_of(
    st.builds(
        faults.ShiftDistribution,
        column=st.sampled_from(NUMERIC),
        mean_shift=st.floats(-5, 5).filter(lambda v: v != 0),
        std_scale=st.floats(0.1, 10),
    ),
    st.builds(faults.SwapColumns, a=st.just("i"), b=st.just("x")),
    st.builds(faults.BackdateTimestamps, column=st.just("t"), by=st.integers(1, 10**6)),
    st.just(faults.ShuffleRows()),
)

schema_faults = st.one_of(
    st.builds(faults.RenameColumn, column=st.sampled_from(["i", "x", "s", "t"]), to=st.just("renamed")),
    st.builds(faults.CastColumn, column=st.sampled_from(NUMERIC), to_type=st.sampled_from(["string", "float32"])),
    st.builds(
        faults.AddColumn,
        column=st.just("added"),
        value=st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=3)),
    ),
    st.just(faults.ReorderColumns()),
    st.builds(faults.DropColumn, column=st.sampled_from(["i", "x", "s", "t"])),
)


def num_rows(table: Any) -> int:
    return table.num_rows if isinstance(table, pa.Table) else len(table)


def snapshot(table: Any) -> Any:
    return table.to_pandas() if isinstance(table, pa.Table) else table.copy(deep=True)


def assert_untouched(table: Any, before: Any) -> None:
    pd.testing.assert_frame_equal(snapshot(table), before)


def cap_count(fraction: float, rows: int) -> int:
    return math.floor(fraction * rows + 1e-9)


def column_of(table: Any, name: str) -> pd.Series:
    return snapshot(table)[name]


def valid_count(table: Any, name: str) -> int:
    return int(column_of(table, name).notna().sum())


def changed_cells(before: pd.Series, after: pd.Series) -> int:
    """Rows whose value differs (a null and a null are equal)."""
    same = (before.astype(object) == after.astype(object)) | (before.isna() & after.isna())
    return int((~same).sum())


def expected_fraction_rows(fault: Any, table: Any, cap: float) -> int:
    """Rows a fraction fault acts on: the capped fraction of all rows, drawn among the non-null ones."""
    return min(cap_count(min(fault.fraction, cap), num_rows(table)), valid_count(table, fault.column))


def assert_fraction_fault_changed(fault: Any, table: Any, out: Any, picked: int, affected: int) -> None:
    before, after = column_of(table, fault.column), column_of(out, fault.column)
    changed = changed_cells(before, after)
    if isinstance(fault, faults.InjectNulls):
        assert int(after.isna().sum()) - int(before.isna().sum()) == picked == affected
    elif isinstance(fault, faults.OutOfOrderTimestamps):
        moved = picked if picked >= 2 else 0  # one cycle through the picked rows: every one moves
        assert sorted(after.dropna().tolist()) == sorted(before.dropna().tolist())
        distinct = before.dropna().nunique() == valid_count(table, fault.column)
        assert changed == moved if distinct else changed <= moved
        assert affected in (moved, changed)  # rows moved, or rows whose value changed
    elif isinstance(fault, faults.CorruptCategories):
        unchanged_possible = 0 if fault.values is None else int(before.isin(fault.values).sum())
        assert picked - unchanged_possible <= changed <= picked
        assert affected in (picked, changed)  # rows picked, or rows whose value changed
    else:  # OutOfRange: only a value already equal to its replacement can stay as it was
        values = before.dropna().astype(float)
        fixed = int((values == 0).sum()) if fault.scale is not None else int(((values - fault.value).abs() <= 1).sum())
        assert picked - fixed <= changed <= picked
        assert affected in (picked, changed)  # rows picked, or rows whose value changed


@SETTINGS
@given(table=tables(), fault=fraction_faults, seed=seeds, cap=caps)
def test_fraction_faults_honour_fraction_and_cap(table: Any, fault: Fault, seed: int, cap: float) -> None:
    before = snapshot(table)
    ctx = FaultContext(seed=seed, max_fraction=cap)
    out = fault.apply(table, ctx)
    rows = num_rows(table)
    assert type(out) is type(table) and num_rows(out) == rows
    picked = expected_fraction_rows(fault, table, cap)
    assert picked <= cap_count(min(fault.fraction, cap), rows)  # type: ignore[attr-defined]
    assert_fraction_fault_changed(fault, table, out, picked, ctx.changes["rows_affected"])
    assert_untouched(table, before)


@SETTINGS
@given(table=tables(), fault=whole_column_faults, seed=seeds, cap=caps)
def test_whole_column_faults_touch_at_most_the_cap(table: Any, fault: Fault, seed: int, cap: float) -> None:
    before = snapshot(table)
    ctx = FaultContext(seed=seed, max_fraction=cap)
    out = fault.apply(table, ctx)
    rows = num_rows(table)
    assert type(out) is type(table) and num_rows(out) == rows
    affected = ctx.changes["rows_affected"]
    assert 0 <= affected <= (rows if cap >= 1 else cap_count(cap, rows))
    assert affected == expected_whole_column_rows(fault, table, cap, affected, out)
    assert_untouched(table, before)


def expected_whole_column_rows(fault: Fault, table: Any, cap: float, affected: int, out: Any) -> int:
    """Rows a whole-column fault acts on: every eligible row, or the capped count of them."""
    rows = num_rows(table)
    limit = rows if cap >= 1 else cap_count(cap, rows)
    if isinstance(fault, (faults.ShiftDistribution, faults.BackdateTimestamps)):
        eligible = min(limit, valid_count(table, fault.column))
        if isinstance(fault, faults.ShiftDistribution) and affected != eligible:
            # a value can stay where it was: one distinct value (std 0), or an integer rounding back
            return changed_cells(column_of(table, fault.column), column_of(out, fault.column))
        return eligible
    if isinstance(fault, faults.SwapColumns):
        types = [table.schema.field(c).type if isinstance(table, pa.Table) else table[c].dtype for c in ("i", "x")]
        frame = snapshot(table)
        if types[0] == types[1]:  # the same type: whole rows swap; a row null in both changes nothing
            holding = min(limit, int((frame["i"].notna() | frame["x"].notna()).sum()))
            return holding if cap >= 1 else (affected if affected <= holding else -1)  # capped: a sample of rows
        return min(limit, int((frame["i"].notna() & frame["x"].notna()).sum()))
    # ShuffleRows: a seeded permutation of the scope that is not the identity moves 2 or more rows
    assert isinstance(fault, faults.ShuffleRows)
    return affected if limit >= 2 and 2 <= affected <= limit else (0 if limit < 2 else -1)


@SETTINGS
@given(
    table=tables(),
    fault=st.one_of(
        st.builds(faults.TruncateRows, keep_fraction=st.floats(0, 0.99)),
        st.builds(faults.DuplicateRows, fraction=fractions),
        st.builds(faults.DropPartition, column=st.just("s"), value=st.sampled_from(["a", "b"])),
    ),
    seed=seeds,
    cap=caps,
)
def test_volume_faults_keep_row_counts_sane(table: Any, fault: Fault, seed: int, cap: float) -> None:
    before = snapshot(table)
    ctx = FaultContext(seed=seed, max_fraction=cap)
    try:
        out = fault.apply(table, ctx)
    except ChaosConfigError as exc:
        assert isinstance(fault, faults.DropPartition) and "no row has" in str(exc)
        return
    rows, affected = num_rows(table), ctx.changes["rows_affected"]
    assert affected <= cap_count(cap, rows)
    if isinstance(fault, faults.TruncateRows):
        assert affected == cap_count(min(1 - fault.keep_fraction, cap), rows)
    elif isinstance(fault, faults.DuplicateRows):
        assert affected == cap_count(min(fault.fraction, cap), rows)
    else:
        matched = int((column_of(table, "s") == fault.value).sum())
        assert affected == min(matched, cap_count(cap, rows))
    expected = rows + affected if isinstance(fault, faults.DuplicateRows) else rows - affected
    assert num_rows(out) == expected == ctx.changes["rows_after"]
    assert_untouched(table, before)


@SETTINGS
@given(table=tables(), fault=schema_faults, seed=seeds)
def test_schema_faults_keep_rows_and_change_the_schema(table: Any, fault: Fault, seed: int) -> None:
    before = snapshot(table)
    out = fault.apply(table, FaultContext(seed=seed))
    assert num_rows(out) == num_rows(table)
    names = lambda t: list(t.column_names) if isinstance(t, pa.Table) else list(t.columns)  # noqa: E731
    dtypes = lambda t: [str(f.type) for f in t.schema] if isinstance(t, pa.Table) else [str(d) for d in t.dtypes]  # noqa: E731
    assert (names(out), dtypes(out)) != (names(table), dtypes(table))
    assert_untouched(table, before)


@SETTINGS
@given(table=tables(), fault=st.one_of(fraction_faults, whole_column_faults), seed=seeds)
def test_same_seed_same_output(table: Any, fault: Fault, seed: int) -> None:
    first = snapshot(fault.apply(table, FaultContext(seed=seed)))
    second = snapshot(fault.apply(table, FaultContext(seed=seed)))
    pd.testing.assert_frame_equal(first, second)


def _same(a: Any, b: Any) -> bool:
    return bool(snapshot(a).equals(snapshot(b))) and list(snapshot(a).dtypes) == list(snapshot(b).dtypes)


@SETTINGS
@given(
    table=tables(),
    fault=st.one_of(
        fraction_faults,
        whole_column_faults.filter(lambda f: not isinstance(f, faults.ShuffleRows)),  # identical rows: see below
        st.builds(faults.TruncateRows, keep_fraction=st.floats(0, 0.99)),
        st.builds(faults.DuplicateRows, fraction=fractions),
    ),
    seed=seeds,
    cap=caps,
)
def test_a_fault_is_effective_exactly_when_its_output_differs(table: Any, fault: Fault, seed: int, cap: float) -> None:
    """Issue #8 item 2: a fault that changed nothing is never recorded as effective (its verdict would be SILENT).

    ShuffleRows counts rows moved: reordering rows that are identical in every column is counted as a
    change, so it is left out here (its 0- and 1-row cases are in test_data_changed_nothing.py).
    """
    ctx = FaultContext(seed=seed, max_fraction=cap)
    out = fault.apply(table, ctx)
    if ctx.ineffective_reason is None:
        assert ctx.changes["rows_affected"] > 0
        assert not _same(out, table), "recorded as effective, but the output equals the input"
    else:
        assert ctx.changes["rows_affected"] == 0
        assert _same(out, table), f"not effective ({ctx.ineffective_reason}), but the output differs"
