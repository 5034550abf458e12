"""Issue #8 item 2: a table fault that changes nothing is recorded not effective, with its reason.

``InjectNulls`` on an empty frame, ``OutOfOrderTimestamps`` on 3 rows, truncate/duplicate/shuffle
on 0-1 rows, nulls on an all-null column: each used to be recorded as injected with 0 rows affected,
so its verdict was SILENT and ``assert_detected`` failed a healthy run. Now the fault's context
says why nothing changed (``FaultContext.ineffective_reason``), the wrapper records the injection
``effective=False`` with that reason, and the verdict is SKIPPED.

Every table fault kind runs on a 0-row, a 1-row and an all-null table, for pandas, Arrow and a
Parquet file (``path=``). The rule checked everywhere: the fault is effective exactly when its
output differs from its input. Exotic column types (nested list, struct, dictionary, period,
interval, sparse) targeted by a column fault either work and keep their type, or raise a
ChaosConfigError naming the column and its type: never a raw Arrow error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.faults import Fault, FaultContext
from airflow_chaos.faults.data import TableFault

TS = pd.Timestamp("2024-01-01", tz="UTC")
SCHEMA = pa.schema(
    [
        ("k", pa.int64()),
        ("x", pa.float64()),
        ("i", pa.int64()),
        ("f", pa.float64()),
        ("s", pa.string()),
        ("t", pa.timestamp("ns", tz="UTC")),
        ("region", pa.string()),
    ]
)


# ---------------------------------------------------------------------- the three inputs
def arrow_table(shape: str) -> pa.Table:
    """``empty``: 0 rows; ``one``: 1 row; ``all_null``: 4 rows whose columns are all null but the key ``k``."""
    if shape == "empty":
        return SCHEMA.empty_table()
    if shape == "one":
        row = {"k": [0], "x": [1.5], "i": [7], "f": [-0.5], "s": ["red"], "t": [TS], "region": ["us"]}
        return pa.table(row, schema=SCHEMA)
    columns = {name: pa.nulls(4, SCHEMA.field(name).type) for name in SCHEMA.names}
    columns["k"] = pa.array(range(4), pa.int64())
    return pa.table(columns, schema=SCHEMA)


def make(backend: str, shape: str) -> Any:
    table = arrow_table(shape)
    if backend == "arrow":
        return table
    frame = table.to_pandas()
    if shape == "all_null":  # typed, as a pipeline's frame would be: nullable ints, NaN floats, NaT times
        frame["i"] = frame["i"].astype("Int64")
    return frame


def same(a: Any, b: Any) -> bool:
    """Same columns, types, values (NaN equals NaN) and, for pandas, index labels."""
    if isinstance(a, pa.Table):
        return bool(a.schema == b.schema) and a.to_pandas().equals(b.to_pandas())
    return (
        list(a.columns) == list(b.columns)
        and list(a.dtypes) == list(b.dtypes)
        and a.index.equals(b.index)
        and a.equals(b)
    )


# ---------------------------------------------------------------------- every table fault kind
# fault -> reason fragment per input when it must change nothing (absent: it must change something)
EMPTY = "no rows to corrupt: the table is empty"
CASES: list[tuple[Fault, dict[str, str]]] = [
    (faults.DropColumn(column="x"), {}),
    (faults.RenameColumn(column="x", to="price"), {}),
    (faults.CastColumn(column="x", to_type="string"), {}),
    (faults.AddColumn(column="extra", value=1), {}),
    (faults.ReorderColumns(), {}),
    (
        faults.InjectNulls(column="i", fraction=0.5),
        {"empty": EMPTY, "one": "fraction 0.5 of 1 row rounds down to 0", "all_null": "column 'i' is all null"},
    ),
    (faults.InjectNulls(column="x", fraction=1.0, mechanism="MNAR"), {"empty": EMPTY, "all_null": "'x' is all null"}),
    (
        faults.InjectNulls(column="s", fraction=1.0, mechanism="MAR", condition_column="f"),
        {"empty": EMPTY, "all_null": "'s' is all null"},
    ),
    (faults.OutOfRange(column="x", fraction=1.0, scale=1000), {"empty": EMPTY, "all_null": "'x' is all null"}),
    (faults.OutOfRange(column="i", fraction=1.0, value=7), {"empty": EMPTY, "one": "already", "all_null": "all null"}),
    (faults.CorruptCategories(column="s", fraction=1.0), {"empty": EMPTY, "all_null": "'s' is all null"}),
    (
        faults.CorruptCategories(column="s", fraction=1.0, values=["red"]),
        {"empty": EMPTY, "one": "already", "all_null": "'s' is all null"},
    ),
    (
        faults.ShiftDistribution(column="x", mean_shift=2.0),
        {"empty": EMPTY, "one": "standard deviation 0", "all_null": "'x' is all null"},
    ),
    (faults.SwapColumns(a="x", b="f"), {"empty": EMPTY, "all_null": "'x' and 'f' are both null"}),
    (faults.SwapColumns(a="x", b="i"), {"empty": EMPTY, "all_null": "no row where 'x' and 'i' both hold a value"}),
    (faults.TruncateRows(keep_fraction=0.5), {"empty": EMPTY, "one": "keeping 0.5 of 1 row drops none"}),
    (faults.DropPartition(column="region", value="us"), {"empty": EMPTY, "all_null": "'region' is all null"}),
    (faults.DuplicateRows(fraction=0.5), {"empty": EMPTY, "one": "fraction 0.5 of 1 row rounds down to 0"}),
    (faults.ShuffleRows(), {"empty": EMPTY, "one": "a single row cannot be reordered"}),
    (faults.BackdateTimestamps(column="t", by="2d"), {"empty": EMPTY, "all_null": "'t' is all null"}),
    (
        faults.OutOfOrderTimestamps(column="t", fraction=1.0),
        {"empty": EMPTY, "one": "a single row cannot trade places", "all_null": "'t' is all null"},
    ),
    (
        faults.FlipLabels(column="region", fraction=1.0),
        {"empty": EMPTY, "one": "single class", "all_null": "single class"},
    ),
    (faults.FlipLabels(column="region", fraction=1.0, classes=["us", "eu"]), {"empty": EMPTY, "all_null": "all null"}),
]
SHAPES = ("empty", "one", "all_null")
MATRIX = [
    pytest.param(fault, shape, reasons.get(shape), id=f"{fault.describe()}-{shape}")
    for fault, reasons in CASES
    for shape in SHAPES
]


def test_every_table_fault_kind_is_covered() -> None:
    table_kinds = {k for k, cls in Fault.kinds().items() if issubclass(cls, TableFault)}
    assert table_kinds == {f.kind for f, _ in CASES}


@pytest.mark.parametrize("backend", ["pandas", "arrow"])
@pytest.mark.parametrize(("fault", "shape", "reason"), MATRIX)
def test_a_fault_is_effective_exactly_when_it_changes_the_table(
    fault: Fault, shape: str, reason: str | None, backend: str
) -> None:
    table = make(backend, shape)
    ctx = FaultContext(seed=3)
    out = fault.apply(table, ctx)
    assert type(out) is type(table)
    if reason is None:
        assert ctx.ineffective_reason is None
        assert not same(out, table), "recorded as effective, but the output equals the input"
    else:
        assert ctx.ineffective_reason is not None and reason in ctx.ineffective_reason
        assert same(out, table), "recorded as not effective, but the output differs from the input"
        assert ctx.changes.get("rows_affected", 0) == 0
    assert "effective" not in ctx.changes  # the verdict reads the context, not a second flag


@pytest.mark.parametrize("rows", [2, 3])
def test_out_of_order_timestamps_on_3_rows_changes_nothing_and_says_why(rows: int) -> None:
    """The issue's reproduction: 0.5 of 3 rows picks 1 row, and one row cannot trade places with itself."""
    table = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC")})
    ctx = FaultContext(seed=1)
    out = faults.OutOfOrderTimestamps(column="t", fraction=0.5).apply(table, ctx)
    assert ctx.changes["rows_affected"] == 0
    assert ctx.ineffective_reason == (
        f"no rows to corrupt: fraction 0.5 of {rows} rows picks 1 row: a single row cannot trade places"
    )
    assert same(out, table)


def test_out_of_order_timestamps_that_only_trade_equal_values_changes_nothing() -> None:
    table = pa.table({"t": pa.array([TS.value] * 4, pa.timestamp("ns", tz="UTC"))})
    ctx = FaultContext(seed=1)
    out = faults.OutOfOrderTimestamps(column="t", fraction=1.0).apply(table, ctx)
    assert ctx.changes["rows_affected"] == 0 and "no rows changed" in str(ctx.ineffective_reason)
    assert same(out, table)


def test_shift_distribution_of_integers_that_round_back_changes_nothing() -> None:
    """[0, 1] has std 0.5: a shift of 0.5 std moves each value by 0.25, which rounds back to itself."""
    table = pd.DataFrame({"n": np.array([0, 1], dtype=np.int64)})
    ctx = FaultContext(seed=1)
    out = faults.ShiftDistribution(column="n", mean_shift=0.5).apply(table, ctx)
    assert ctx.changes["rows_affected"] == 0 and ctx.ineffective_reason is not None
    assert same(out, table)


def test_the_first_reason_given_is_kept() -> None:
    ctx = FaultContext(seed=1)
    ctx.ineffective("first")
    ctx.ineffective("second")
    assert ctx.ineffective_reason == "first"


def test_a_fault_that_changed_something_has_no_reason() -> None:
    ctx = FaultContext(seed=1)
    faults.InjectNulls(column="i", fraction=1.0).apply(make("arrow", "one"), ctx)
    assert ctx.changes["rows_affected"] == 1 and ctx.ineffective_reason is None


# ---------------------------------------------------------------------- file targets follow the same rule
def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("fault", "shape", "reason"), MATRIX)
def test_a_table_fault_on_a_file_follows_the_same_rule(
    tmp_path: Path, fault: Fault, shape: str, reason: str | None
) -> None:
    path = tmp_path / "orders.parquet"
    pq.write_table(arrow_table(shape), path)
    before = sha(path)
    on_file = type(fault)(**{**fault.model_dump(), "path": str(path)})
    ctx = FaultContext(seed=3, journal=Journal(tmp_path / "journal"))
    assert on_file.apply("passed through", ctx) == "passed through"
    if reason is None:
        assert ctx.ineffective_reason is None
        assert sha(path) != before and ctx.changes["sha256_after"] != ctx.changes["sha256_before"]
    else:
        assert ctx.ineffective_reason is not None and reason in ctx.ineffective_reason
        assert sha(path) == before, "a fault that changed nothing must leave the file's bytes alone"
        assert ctx.changes["sha256_after"] == ctx.changes["sha256_before"] == before


def test_a_csv_file_with_only_a_header_is_not_corrupted(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order_id,qty\n")
    ctx = FaultContext(seed=1, journal=Journal(tmp_path / "journal"))
    faults.InjectNulls(column="qty", fraction=0.2, path=str(path)).apply(None, ctx)
    assert ctx.ineffective_reason == EMPTY
    assert path.read_text() == "order_id,qty\n"


def test_a_rewrite_that_leaves_the_bytes_as_they_were_is_not_effective(tmp_path: Path) -> None:
    """The generic byte rule, for any rewriting fault: same SHA-256 before and after, nothing changed."""
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    ctx = FaultContext(seed=1, journal=Journal(tmp_path / "journal"))
    faults.EmptyFile(path=str(path)).apply(None, ctx)
    assert ctx.ineffective_reason == "the file's bytes did not change (0 bytes)"


# ---------------------------------------------------------------------- column types the faults do not handle
N = 6


def exotic_pandas(family: str) -> pd.Series:
    return {
        "nested list": lambda: pd.Series([[1, 2], [3], [], None, [4], [5, 6]], dtype=object),
        "struct": lambda: pd.Series([{"a": i} for i in range(N)], dtype=object),
        "dictionary": lambda: pd.Series(pd.Categorical(["a", "b", "a", "c", "b", "a"])),
        "period": lambda: pd.Series(pd.period_range("2024-01", periods=N, freq="M")),
        "interval": lambda: pd.Series(pd.interval_range(0, N)),
        "sparse": lambda: pd.Series(pd.arrays.SparseArray([0.0, 1.0, 0.0, 2.0, 0.0, 3.0])),
    }[family]()


def exotic_arrow(family: str) -> pa.Array:
    return {
        "nested list": lambda: pa.array([[1, 2], [3], [], None, [4], [5, 6]], pa.list_(pa.int64())),
        "struct": lambda: pa.array([{"a": i} for i in range(N)]),
        "dictionary": lambda: pa.array(["a", "b", "a", "c", "b", "a"]).dictionary_encode(),
        "period": lambda: pa.Array.from_pandas(exotic_pandas("period")),
        "interval": lambda: pa.array([pa.MonthDayNano([1, i, 0]) for i in range(N)], pa.month_day_nano_interval()),
    }[family]()


def exotic_table(backend: str, family: str) -> Any:
    base = {"k": np.arange(N), "num": np.arange(N, dtype=np.float64)}
    if backend == "pandas":
        return pd.DataFrame({**base, "col": exotic_pandas(family), "col2": exotic_pandas(family)})
    return pa.table({**base, "col": exotic_arrow(family), "col2": exotic_arrow(family)})


COLUMN_FAULTS: list[tuple[Fault, set[str]]] = [  # fault on column "col", and the families it handles
    (faults.DropColumn(column="col"), {"nested list", "struct", "dictionary", "period", "interval", "sparse"}),
    (
        faults.RenameColumn(column="col", to="c"),
        {"nested list", "struct", "dictionary", "period", "interval", "sparse"},
    ),
    (faults.CastColumn(column="col", to_type="string"), {"dictionary", "period"}),
    (faults.InjectNulls(column="col", fraction=0.5), {"dictionary"}),
    (faults.InjectNulls(column="col", fraction=0.5, mechanism="MNAR"), {"dictionary"}),
    (faults.InjectNulls(column="num", fraction=0.5, mechanism="MAR", condition_column="col"), {"dictionary"}),
    (faults.OutOfRange(column="col", fraction=0.5, scale=10), set()),
    (faults.CorruptCategories(column="col", fraction=0.5), {"dictionary"}),
    (faults.ShiftDistribution(column="col", mean_shift=1.0), set()),
    (faults.SwapColumns(a="col", b="col2"), set()),
    (faults.SwapColumns(a="num", b="col"), set()),
    (faults.DropPartition(column="col", value="a"), {"dictionary"}),
    (faults.BackdateTimestamps(column="col", by="1d"), set()),
    (faults.OutOfOrderTimestamps(column="col", fraction=0.5), set()),
    (faults.FlipLabels(column="col", fraction=0.5), set()),
]
EXOTIC = [
    pytest.param(fault, backend, family, family in handled, id=f"{fault.describe()}-{backend}-{family}")
    for fault, handled in COLUMN_FAULTS
    for backend in ("pandas", "arrow")
    for family in ("nested list", "struct", "dictionary", "period", "interval", "sparse")
    if not (backend == "arrow" and family == "sparse")  # Arrow has no sparse arrays
]


def column_type(table: Any, name: str) -> Any:
    return table.schema.field(name).type if isinstance(table, pa.Table) else table[name].dtype


@pytest.mark.parametrize(("fault", "backend", "family", "handled"), EXOTIC)
def test_an_exotic_column_works_or_is_refused_naming_the_column_and_its_type(
    fault: Fault, backend: str, family: str, handled: bool
) -> None:
    table = exotic_table(backend, family)
    ctx = FaultContext(seed=2)
    if not handled:
        with pytest.raises(ChaosConfigError) as info:
            fault.apply(table, ctx)
        message = str(info.value)
        assert message.startswith(f"{fault.kind}: field '")
        assert "column 'col'" in message and f"is a {family} column" in message
        assert str(column_type(table, "col")) in message
        return
    out = fault.apply(table, ctx)
    assert ctx.ineffective_reason is None and not same(out, table)
    if fault.kind == "cast_column":
        assert str(column_type(out, "col")) in ("string", "object")
        return
    names = out.column_names if isinstance(out, pa.Table) else list(out.columns)
    for name in set(names) & {"k", "num", "col", "col2"}:  # every column keeps its type
        before, after = column_type(table, name), column_type(out, name)
        assert after == before or str(before) == str(after) == "category", name  # new categories may be added
