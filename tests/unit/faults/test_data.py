"""Table faults on pandas and Arrow: what changes, what does not, seeds, dtypes, records, params, file targets."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.faults import Fault, FaultContext
from airflow_chaos.faults.data import TableFault, duration_seconds

N = 200
BACKENDS = ("pandas", "arrow")


# ---------------------------------------------------------------------- fixtures and helpers
def make_frame(rows: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(10.0, 2.0, rows)
    x[3] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "i": np.arange(rows, dtype=np.int64),
            "f": rng.normal(0.0, 1.0, rows),
            "s": np.array(["red", "green", "blue", "Red"], dtype=object)[np.arange(rows) % 4],
            "t": pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC"),
            "region": np.array(["eu", "us", "apac"], dtype=object)[np.arange(rows) % 3],
        }
    )


def make(backend: str, rows: int = N) -> Any:
    frame = make_frame(rows)
    return frame if backend == "pandas" else pa.Table.from_pandas(frame, preserve_index=False)


def ipc_bytes(table: Any) -> bytes:
    """Exact bytes of a table (pandas goes through Arrow, index and dtypes included)."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def values(table: Any, column: str) -> list[Any]:
    """A column as a list, nulls (None/NaN/NaT/NA) as None."""
    if isinstance(table, pa.Table):
        return table.column(column).to_pylist()
    return [None if pd.isna(v) else v for v in table[column].tolist()]


def columns(table: Any) -> list[str]:
    return list(table.column_names) if isinstance(table, pa.Table) else [str(c) for c in table.columns]


def rows(table: Any) -> int:
    return table.num_rows if isinstance(table, pa.Table) else len(table)


def dtype(table: Any, column: str) -> Any:
    return table.schema.field(column).type if isinstance(table, pa.Table) else table[column].dtype


def run(
    fault: Fault, backend: str, seed: int = 1, max_fraction: float = 1.0, table: Any = None
) -> tuple[Any, Any, dict[str, Any]]:
    table = make(backend) if table is None else table
    ctx = FaultContext(seed=seed, max_fraction=max_fraction)
    out = fault.apply(table, ctx)
    return table, out, ctx.changes


def changed_rows(before: Any, after: Any, column: str) -> list[int]:
    a, b = values(before, column), values(after, column)
    return [k for k, (u, v) in enumerate(zip(a, b, strict=True)) if u != v]


# Every fault of the catalogue, built for the fixture table; "random": a different seed changes the output.
CATALOGUE: list[tuple[Fault, bool]] = [
    (faults.DropColumn(column="x"), False),
    (faults.RenameColumn(column="x", to="x_renamed"), False),
    (faults.CastColumn(column="x", to_type="string"), False),
    (faults.CastColumn(column="i", to_type="float64"), False),
    (faults.AddColumn(column="extra", value=1.5), False),
    (faults.ReorderColumns(), True),
    (faults.ReorderColumns(order=["i", "x", "f", "s", "t", "region"]), False),
    (faults.InjectNulls(column="i", fraction=0.2), True),
    (faults.InjectNulls(column="f", fraction=0.2, mechanism="MNAR"), True),
    (faults.InjectNulls(column="s", fraction=0.2, mechanism="MAR", condition_column="f"), True),
    (faults.OutOfRange(column="x", fraction=0.1, scale=1000), True),
    (faults.OutOfRange(column="i", fraction=0.1, value=-1), True),
    (faults.CorruptCategories(column="s", fraction=0.2), True),
    (faults.CorruptCategories(column="s", fraction=0.2, values=["purple", "RED "]), True),
    (faults.ShiftDistribution(column="x", mean_shift=2.0), False),
    (faults.ShiftDistribution(column="i", std_scale=3.0), False),
    (faults.SwapColumns(a="x", b="f"), False),
    (faults.TruncateRows(keep_fraction=0.7), False),
    (faults.DropPartition(column="region", value="us"), False),
    (faults.DuplicateRows(fraction=0.1), True),
    (faults.ShuffleRows(), True),
    (faults.BackdateTimestamps(column="t", by="2d"), False),
    (faults.OutOfOrderTimestamps(column="t", fraction=0.2), True),
    (faults.FlipLabels(column="region", fraction=0.2), True),
    (faults.FlipLabels(column="s", fraction=0.1, classes=["red", "green"]), True),
]
IDS = [f.describe() for f, _ in CATALOGUE]


def test_catalogue_covers_every_table_fault() -> None:
    kinds = {f.kind for f, _ in CATALOGUE}
    table_kinds = {k for k, cls in Fault.kinds().items() if issubclass(cls, TableFault)}
    assert table_kinds <= kinds


# ---------------------------------------------------------------------- properties every fault shares
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("fault", "random"), CATALOGUE, ids=IDS)
class TestEveryFault:
    def test_same_type_back_and_caller_untouched(self, fault: Fault, random: bool, backend: str) -> None:
        table = make(backend)
        snapshot = ipc_bytes(table)
        out = fault.apply(table, FaultContext(seed=3))
        assert type(out) is type(table)
        assert out is not table
        assert ipc_bytes(table) == snapshot
        assert ipc_bytes(out) != snapshot

    def test_same_seed_byte_identical(self, fault: Fault, random: bool, backend: str) -> None:
        first = ipc_bytes(run(fault, backend, seed=11)[1])
        assert ipc_bytes(run(fault, backend, seed=11)[1]) == first
        if random:
            assert ipc_bytes(run(fault, backend, seed=12)[1]) != first

    def test_record_is_json_safe(self, fault: Fault, random: bool, backend: str) -> None:
        _, _, changes = run(fault, backend)
        assert json.loads(json.dumps(changes, allow_nan=False)) == changes
        assert isinstance(changes["rows_affected"], int)
        assert changes["rows_affected"] > 0

    def test_round_trip(self, fault: Fault, random: bool, backend: str) -> None:
        data = fault.to_dict()
        assert json.loads(json.dumps(data)) == data
        again = Fault.from_dict(data)
        assert again == fault
        assert type(again) is type(fault)

    def test_other_columns_and_dtypes_kept(self, fault: Fault, random: bool, backend: str) -> None:
        table, out, changes = run(fault, backend)
        touched = set(changes.get("columns", []))
        row_kinds = {"truncate_rows", "drop_partition", "duplicate_rows", "shuffle_rows"}
        for name in columns(table):
            if name in touched or name not in columns(out):
                continue
            assert dtype(out, name) == dtype(table, name), name
            if fault.kind not in row_kinds:
                assert values(out, name) == values(table, name), name

    def test_declares_known_signals(self, fault: Fault, random: bool, backend: str) -> None:
        assert fault.signals and set(fault.signals) <= set(faults.SIGNALS)
        assert fault.target() == "return_value"


def test_signals_per_family() -> None:
    expected = {
        "drop_column": ("schema",),
        "rename_column": ("schema",),
        "cast_column": ("schema",),
        "add_column": ("schema",),
        "reorder_columns": ("schema",),
        "inject_nulls": ("completeness",),
        "out_of_range": ("validity",),
        "corrupt_categories": ("validity",),
        "shift_distribution": ("distribution",),
        "swap_columns": ("distribution", "validity"),
        "truncate_rows": ("volume",),
        "drop_partition": ("volume",),
        "duplicate_rows": ("volume",),
        "shuffle_rows": ("ordering",),
        "out_of_order_timestamps": ("ordering",),
        "backdate_timestamps": ("freshness",),
        "flip_labels": ("model.quality",),
    }
    for kind, signals in expected.items():
        assert Fault.kinds()[kind].signals == signals


# ---------------------------------------------------------------------- schema drift
@pytest.mark.parametrize("backend", BACKENDS)
def test_rename_column(backend: str) -> None:
    table, out, changes = run(faults.RenameColumn(column="x", to="price"), backend)
    assert columns(out) == ["price", *columns(table)[1:]]
    assert values(out, "price") == values(table, "x")
    assert changes["renamed_to"] == "price"


@pytest.mark.parametrize("backend", BACKENDS)
def test_rename_column_to_existing_name_is_refused(backend: str) -> None:
    with pytest.raises(ChaosConfigError, match="field 'to'"):
        run(faults.RenameColumn(column="x", to="f"), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cast_float_to_string(backend: str) -> None:
    table, out, changes = run(faults.CastColumn(column="x", to_type="string"), backend)
    got = values(out, "x")
    assert all(v is None or isinstance(v, str) for v in got)
    assert got[3] is None  # the NaN stays missing
    assert float(got[0]) == pytest.approx(values(table, "x")[0])
    assert changes["from_type"] == "double" and changes["to_type"] == "string"
    assert dtype(out, "x") == (pa.string() if backend == "arrow" else np.dtype(object))


@pytest.mark.parametrize("backend", BACKENDS)
def test_cast_int_to_float_and_float_to_int(backend: str) -> None:
    _, out, _ = run(faults.CastColumn(column="i", to_type="float64"), backend)
    assert dtype(out, "i") == (pa.float64() if backend == "arrow" else np.dtype("float64"))
    _, out, _ = run(faults.CastColumn(column="f", to_type="int64"), backend)
    assert dtype(out, "f") == (pa.int64() if backend == "arrow" else np.dtype("int64"))
    # the NaN in x forces a nullable integer in pandas
    _, out, _ = run(faults.CastColumn(column="x", to_type="int32"), backend)
    assert dtype(out, "x") == (pa.int32() if backend == "arrow" else pd.Int32Dtype())
    assert values(out, "x")[3] is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_cast_to_same_type_or_impossible_cast_is_refused(backend: str) -> None:
    with pytest.raises(ChaosConfigError, match="field 'to_type'"):
        run(faults.CastColumn(column="i", to_type="int64"), backend)
    with pytest.raises(ChaosConfigError, match="field 'to_type'"):
        run(faults.CastColumn(column="s", to_type="float64"), backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value", [7, "v1", None, True])
def test_add_column(backend: str, value: Any) -> None:
    table, out, changes = run(faults.AddColumn(column="extra", value=value), backend)
    assert columns(out) == [*columns(table), "extra"]
    assert values(out, "extra") == [value] * N
    assert changes["columns_added"] == ["extra"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_reorder_columns_seeded_shuffle_always_changes_order(backend: str) -> None:
    two = make(backend).select(["x", "i"]) if backend == "arrow" else make(backend)[["x", "i"]]
    for seed in range(20):
        _, out, _ = run(faults.ReorderColumns(), backend, seed=seed, table=two)
        assert columns(out) == ["i", "x"]
    table, out, changes = run(faults.ReorderColumns(), backend)
    assert sorted(columns(out)) == sorted(columns(table)) and columns(out) != columns(table)
    assert changes["columns"] == columns(out)
    for name in columns(table):
        assert values(out, name) == values(table, name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reorder_columns_with_wrong_order_is_refused(backend: str) -> None:
    with pytest.raises(ChaosConfigError, match="field 'order'"):
        run(faults.ReorderColumns(order=["x", "i"]), backend)
    with pytest.raises(ChaosConfigError, match="field 'order'"):
        run(faults.ReorderColumns(order=columns(make(backend))), backend)


# ---------------------------------------------------------------------- completeness
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("column", ["x", "i", "s", "t"])
def test_inject_nulls_mcar(backend: str, column: str) -> None:
    table, out, changes = run(faults.InjectNulls(column=column, fraction=0.25), backend)
    changed = changed_rows(table, out, column)
    assert len(changed) == changes["rows_affected"] == int(0.25 * N)
    assert all(values(out, column)[k] is None for k in changed)
    assert values(table, column).count(None) + len(changed) == values(out, column).count(None)


@pytest.mark.parametrize("backend", BACKENDS)
def test_inject_nulls_dtypes(backend: str) -> None:
    table = make(backend)
    kept = {}
    for column in ("x", "i", "s", "t"):
        _, out, _ = run(faults.InjectNulls(column=column, fraction=0.3), backend, table=table)
        kept[column] = dtype(out, column)
    if backend == "arrow":
        assert kept == {c: dtype(table, c) for c in kept}
    else:
        assert kept == {"x": np.dtype("float64"), "i": pd.Int64Dtype(), "s": np.dtype(object), "t": dtype(table, "t")}


def test_inject_nulls_pandas_nullable_and_extension_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "u": np.arange(50, dtype=np.uint8),
            "b": np.arange(50) % 2 == 0,
            "n": pd.array(range(50), dtype="Int32"),
            "c": pd.Categorical(["a", "b"] * 25),
            "st": pd.array(["p", "q"] * 25, dtype="string"),
        }
    )
    expected = {
        "u": pd.UInt8Dtype(),
        "b": pd.BooleanDtype(),
        "n": pd.Int32Dtype(),
        "c": frame["c"].dtype,
        "st": frame["st"].dtype,
    }
    for column, want in expected.items():
        _, out, changes = run(faults.InjectNulls(column=column, fraction=0.2), "pandas", table=frame)
        assert out[column].dtype == want, column
        assert int(out[column].isna().sum()) == changes["rows_affected"] == 10


@pytest.mark.parametrize("backend", BACKENDS)
def test_inject_nulls_mnar_takes_one_rank_band_of_the_column_itself(backend: str) -> None:
    table, out, _changes = run(faults.InjectNulls(column="f", fraction=0.2, mechanism="MNAR"), backend)
    f = values(table, "f")
    nulled = changed_rows(table, out, "f")
    ranks = sorted(range(N), key=lambda k: f[k])
    positions = sorted(ranks.index(k) for k in nulled)
    assert len(nulled) == 40 and positions == list(range(positions[0], positions[0] + 40))


@pytest.mark.parametrize("backend", BACKENDS)
def test_inject_nulls_mar_takes_one_rank_band_of_the_condition(backend: str) -> None:
    fault = faults.InjectNulls(column="s", fraction=0.2, mechanism="MAR", condition_column="f")
    table, out, changes = run(fault, backend)
    f = values(table, "f")
    nulled = changed_rows(table, out, "s")
    ranks = sorted(range(N), key=lambda k: f[k])
    positions = sorted(ranks.index(k) for k in nulled)
    assert positions == list(range(positions[0], positions[0] + 40))
    assert changes["condition_column"] == "f"
    _, _, changes = run(faults.InjectNulls(column="s", fraction=0.2, mechanism="MAR"), backend)
    assert changes["condition_column"] in set(columns(table)) - {"s"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_inject_nulls_respects_max_fraction(backend: str) -> None:
    table, out, changes = run(faults.InjectNulls(column="i", fraction=0.8), backend, max_fraction=0.1)
    assert changes["rows_affected"] == len(changed_rows(table, out, "i")) == 20


@pytest.mark.parametrize("backend", BACKENDS)
def test_inject_nulls_only_counts_new_nulls(backend: str) -> None:
    _table, out, changes = run(faults.InjectNulls(column="x", fraction=1.0), backend)
    assert values(out, "x") == [None] * N
    assert changes["rows_affected"] == N - 1 and changes["nulls_before"] == 1


# ---------------------------------------------------------------------- validity
@pytest.mark.parametrize("backend", BACKENDS)
def test_out_of_range_scale(backend: str) -> None:
    table, out, changes = run(faults.OutOfRange(column="x", fraction=0.1, scale=1000), backend)
    changed = changed_rows(table, out, "x")
    assert len(changed) == changes["rows_affected"] == 20
    before, after = values(table, "x"), values(out, "x")
    assert all(after[k] == pytest.approx(before[k] * 1000) for k in changed)
    assert 3 not in changed  # nulls are not picked
    assert dtype(out, "x") == dtype(table, "x")


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_of_range_value_on_ints_keeps_int_type(backend: str) -> None:
    table, out, _changes = run(faults.OutOfRange(column="i", fraction=0.1, value=-1.6), backend)
    changed = changed_rows(table, out, "i")
    assert len(changed) == 20 and {values(out, "i")[k] for k in changed} == {-2}
    assert dtype(out, "i") == dtype(table, "i")
    _, out, _ = run(faults.OutOfRange(column="i", fraction=0.1, scale=1e30), backend)
    assert max(values(out, "i")) == np.iinfo(np.int64).max - 1023  # clipped inside int64, never wrapped


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_of_range_needs_a_numeric_column(backend: str) -> None:
    with pytest.raises(ChaosConfigError, match=r"field 'column'.*numeric"):
        run(faults.OutOfRange(column="s", fraction=0.1, scale=10), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_categories_typos_are_unseen(backend: str) -> None:
    table, out, changes = run(faults.CorruptCategories(column="s", fraction=0.25), backend)
    seen = set(values(table, "s"))
    changed = changed_rows(table, out, "s")
    assert len(changed) == changes["rows_affected"] == 50
    assert all(values(out, "s")[k] not in seen for k in changed)
    assert set(changes["new_values"]) <= {values(out, "s")[k] for k in changed}
    assert dtype(out, "s") == dtype(table, "s")


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_categories_with_values(backend: str) -> None:
    table, out, _changes = run(faults.CorruptCategories(column="s", fraction=0.25, values=["purple"]), backend)
    changed = changed_rows(table, out, "s")
    assert {values(out, "s")[k] for k in changed} == {"purple"} and len(changed) == 50


def test_corrupt_categories_keeps_pandas_category_and_arrow_dictionary() -> None:
    frame = pd.DataFrame({"c": pd.Categorical(["a", "b", "c"] * 10)})
    _, out, _ = run(faults.CorruptCategories(column="c", fraction=0.5), "pandas", table=frame)
    assert isinstance(out["c"].dtype, pd.CategoricalDtype)
    assert int((out["c"].astype(str) != frame["c"].astype(str)).sum()) == 15
    table = pa.table({"c": pa.array(["a", "b", "c"] * 10).dictionary_encode()})
    _, out, _ = run(faults.CorruptCategories(column="c", fraction=0.5), "arrow", table=table)
    assert out.schema.field("c").type == table.schema.field("c").type
    assert sum(u != v for u, v in zip(values(out, "c"), values(table, "c"), strict=True)) == 15


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_categories_needs_strings(backend: str) -> None:
    with pytest.raises(ChaosConfigError, match="field 'column'"):
        run(faults.CorruptCategories(column="i", fraction=0.1), backend)


# ---------------------------------------------------------------------- distribution
@pytest.mark.parametrize("backend", BACKENDS)
def test_shift_distribution(backend: str) -> None:
    table, out, changes = run(faults.ShiftDistribution(column="f", mean_shift=3.0, std_scale=2.0), backend)
    before, after = np.array(values(table, "f")), np.array(values(out, "f"))
    assert after.mean() == pytest.approx(before.mean() + 3.0 * before.std())
    assert after.std() == pytest.approx(2.0 * before.std())
    assert changes["rows_affected"] == N and changes["std_before"] == pytest.approx(before.std())


@pytest.mark.parametrize("backend", BACKENDS)
def test_shift_distribution_keeps_nulls_and_int_type(backend: str) -> None:
    table, out, _ = run(faults.ShiftDistribution(column="x", mean_shift=1.0), backend)
    assert values(out, "x")[3] is None
    table, out, _ = run(faults.ShiftDistribution(column="i", mean_shift=1.0), backend)
    assert dtype(out, "i") == dtype(table, "i")
    shift = round(np.arange(N).std())
    assert values(out, "i") == [k + shift for k in range(N)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_whole_column_faults_respect_max_fraction(backend: str) -> None:
    cases = [
        (faults.ShiftDistribution(column="f", mean_shift=2.0), "f"),
        (faults.BackdateTimestamps(column="t", by=60), "t"),
        (faults.SwapColumns(a="x", b="f"), "f"),
    ]
    for fault, column in cases:
        table, out, changes = run(fault, backend, max_fraction=0.1)
        assert changes["capped"] is True
        assert len(changed_rows(table, out, column)) <= 20 == changes["rows_affected"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_swap_columns(backend: str) -> None:
    table, out, changes = run(faults.SwapColumns(a="x", b="f"), backend)
    assert values(out, "x") == values(table, "f") and values(out, "f") == values(table, "x")
    assert changes["columns"] == ["x", "f"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_swap_numeric_columns_of_different_types(backend: str) -> None:
    table, out, _changes = run(faults.SwapColumns(a="i", b="f"), backend)
    assert dtype(out, "i") == dtype(table, "i") and dtype(out, "f") == dtype(table, "f")
    assert values(out, "f") == [float(k) for k in range(N)]
    assert values(out, "i") == [round(v) for v in values(table, "f")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_swap_incompatible_columns_is_refused(backend: str) -> None:
    with pytest.raises(ChaosConfigError, match=r"field 'a'.*numeric"):
        run(faults.SwapColumns(a="s", b="f"), backend)
    with pytest.raises(ChaosConfigError, match="field 'b'"):
        run(faults.SwapColumns(a="x", b="missing"), backend)


# ---------------------------------------------------------------------- volume
@pytest.mark.parametrize("backend", BACKENDS)
def test_truncate_rows(backend: str) -> None:
    _table, out, changes = run(faults.TruncateRows(keep_fraction=0.7), backend)
    assert rows(out) == 140 and changes == {"rows_affected": 60, "rows_before": N, "rows_after": 140}
    assert values(out, "i") == list(range(140))
    _, out, changes = run(faults.TruncateRows(keep_fraction=0.0), backend, max_fraction=0.25)
    assert rows(out) == 150 and changes["rows_affected"] == 50


@pytest.mark.parametrize("backend", BACKENDS)
def test_drop_partition(backend: str) -> None:
    table, out, changes = run(faults.DropPartition(column="region", value="us"), backend)
    assert "us" not in values(out, "region")
    assert rows(out) == N - values(table, "region").count("us") == changes["rows_after"]
    assert values(out, "i") == [k for k in range(N) if k % 3 != 1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_drop_partition_by_timestamp_string_and_cap(backend: str) -> None:
    _, out, changes = run(faults.DropPartition(column="t", value="2024-01-01T05:00:00+00:00"), backend)
    assert changes["rows_affected"] == 1 and rows(out) == N - 1
    _, out, changes = run(faults.DropPartition(column="region", value="eu"), backend, max_fraction=0.1)
    assert changes["rows_affected"] == 20 and changes["rows_matched"] == 67 and changes["capped"] is True


@pytest.mark.parametrize("backend", BACKENDS)
def test_drop_partition_without_match_is_refused(backend: str) -> None:
    with pytest.raises(ChaosConfigError, match="field 'value'"):
        run(faults.DropPartition(column="region", value="mars"), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_duplicate_rows(backend: str) -> None:
    _table, out, changes = run(faults.DuplicateRows(fraction=0.1), backend)
    assert rows(out) == N + 20 == changes["rows_after"]
    ids = values(out, "i")
    assert ids[:N] == list(range(N)) and len(set(ids[N:])) == 20 and set(ids[N:]) <= set(range(N))


# ---------------------------------------------------------------------- ordering and time
@pytest.mark.parametrize("backend", BACKENDS)
def test_shuffle_rows(backend: str) -> None:
    table, out, changes = run(faults.ShuffleRows(), backend)
    ids = values(out, "i")
    assert sorted(ids) == list(range(N)) and ids != list(range(N))
    assert changes["rows_affected"] == sum(1 for k, v in enumerate(ids) if k != v)
    x = dict(zip(values(table, "i"), values(table, "x"), strict=True))
    assert values(out, "x") == [x[k] for k in ids]  # rows move whole
    _, out, changes = run(faults.ShuffleRows(), backend, max_fraction=0.1)
    assert 0 < changes["rows_affected"] <= 20


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("by", [172800, "2d", "P2D", "PT48H", "1d24h", "2 days"])
def test_backdate_timestamps(backend: str, by: float | str) -> None:
    table, out, changes = run(faults.BackdateTimestamps(column="t", by=by), backend)
    delta = [(u - v).total_seconds() for u, v in zip(values(table, "t"), values(out, "t"), strict=True)]
    assert set(delta) == {172800.0}
    assert dtype(out, "t") == dtype(table, "t")
    assert changes["backdated_seconds"] == 172800.0 and changes["rows_affected"] == N


def test_backdate_arrow_dates_and_naive_pandas() -> None:
    import datetime as dt

    table = pa.table({"d": pa.array([dt.date(2024, 1, 3), None])})
    _, out, _ = run(faults.BackdateTimestamps(column="d", by="36h"), "arrow", table=table)
    assert out.column("d").to_pylist() == [dt.date(2024, 1, 1), None]
    assert out.schema == table.schema
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-03", None])})
    _, out, _ = run(faults.BackdateTimestamps(column="t", by=3600), "pandas", table=frame)
    assert out["t"].dtype == frame["t"].dtype and out["t"][0] == pd.Timestamp("2024-01-02 23:00")


@pytest.mark.parametrize("backend", BACKENDS)
def test_backdate_needs_a_time_column(backend: str) -> None:
    with pytest.raises(ChaosConfigError, match="field 'column'"):
        run(faults.BackdateTimestamps(column="s", by="1h"), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_of_order_timestamps(backend: str) -> None:
    table, out, changes = run(faults.OutOfOrderTimestamps(column="t", fraction=0.2), backend)
    before, after = values(table, "t"), values(out, "t")
    changed = changed_rows(table, out, "t")
    assert len(changed) == changes["rows_affected"] == 40
    assert sorted(after) == sorted(before) and after != sorted(after)
    assert values(out, "i") == values(table, "i")


# ---------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("cls", "params", "field"),
    [
        (faults.RenameColumn, {"column": "a", "to": ""}, "to"),
        (faults.RenameColumn, {"column": "a", "to": "a"}, "to"),
        (faults.CastColumn, {"column": "a", "to_type": "decimal"}, "to_type"),
        (faults.AddColumn, {"column": "a", "value": [1]}, "value"),
        (faults.ReorderColumns, {"order": ["a", "a"]}, "order"),
        (faults.ReorderColumns, {"order": ["a"]}, "order"),
        (faults.InjectNulls, {"column": "a", "fraction": 1.5}, "fraction"),
        (faults.InjectNulls, {"column": "a", "fraction": 0.1, "mechanism": "RANDOM"}, "mechanism"),
        (faults.InjectNulls, {"column": "a", "fraction": 0.1, "condition_column": "b"}, "condition_column"),
        (
            faults.InjectNulls,
            {"column": "a", "fraction": 0.1, "mechanism": "MAR", "condition_column": "a"},
            "condition_column",
        ),
        (faults.OutOfRange, {"column": "a", "fraction": 0.1}, "scale"),
        (faults.OutOfRange, {"column": "a", "fraction": 0.1, "scale": 2, "value": 3}, "value"),
        (faults.OutOfRange, {"column": "a", "fraction": 0.1, "scale": 1}, "scale"),
        (faults.OutOfRange, {"column": "a", "fraction": 0, "scale": 2}, "fraction"),
        (faults.CorruptCategories, {"column": "a", "fraction": 0.1, "values": []}, "values"),
        (faults.ShiftDistribution, {"column": "a"}, "mean_shift"),
        (faults.ShiftDistribution, {"column": "a", "std_scale": 0}, "std_scale"),
        (faults.SwapColumns, {"a": "x", "b": "x"}, "b"),
        (faults.TruncateRows, {"keep_fraction": 1.0}, "keep_fraction"),
        (faults.DropPartition, {"column": "a"}, "value"),
        (faults.DuplicateRows, {"fraction": -0.1}, "fraction"),
        (faults.ShuffleRows, {"seed": 3}, "seed"),
        (faults.BackdateTimestamps, {"column": "t", "by": "yesterday"}, "by"),
        (faults.BackdateTimestamps, {"column": "t", "by": -5}, "by"),
        (faults.BackdateTimestamps, {"column": "t", "by": "3 fortnights"}, "by"),
        (faults.OutOfOrderTimestamps, {"column": "t", "fraction": 2}, "fraction"),
        (faults.DropColumn, {"column": "x", "path": "out.xlsx"}, "path"),
    ],
)
def test_bad_params_name_the_field(cls: type[Fault], params: dict[str, Any], field: str) -> None:
    with pytest.raises(ChaosConfigError, match=f"'{field}['.]"):
        cls(**params)


def test_bad_params_name_allowed_values() -> None:
    with pytest.raises(ChaosConfigError, match=r"'MCAR'.*'MAR'.*'MNAR'"):
        faults.InjectNulls(column="a", fraction=0.1, mechanism="RANDOM")
    with pytest.raises(ChaosConfigError, match=r"'string'.*'int64'"):
        faults.CastColumn(column="a", to_type="decimal")
    with pytest.raises(ChaosConfigError, match="ISO 8601"):
        faults.BackdateTimestamps(column="t", by="yesterday")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("1h30m", 5400), ("2 days", 172800), ("PT6H30M", 23400), ("P1W", 604800), ("500ms", 0.5), (3.5, 3.5)],
)
def test_duration_seconds(text: float | str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_column_names_the_field(backend: str) -> None:
    for fault in (faults.InjectNulls(column="nope", fraction=0.1), faults.RenameColumn(column="nope", to="b")):
        with pytest.raises(ChaosConfigError, match=r"field 'column'.*'nope'"):
            run(fault, backend)
    with pytest.raises(ChaosConfigError, match="field 'condition_column'"):
        run(faults.InjectNulls(column="x", fraction=0.1, mechanism="MAR", condition_column="nope"), backend)


def test_non_tables_are_refused() -> None:
    with pytest.raises(ChaosConfigError, match="pandas DataFrame or pyarrow Table"):
        faults.InjectNulls(column="a", fraction=0.1).apply([{"a": 1}], FaultContext(seed=1))


def test_module_import_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, airflow_chaos.faults; print(sorted(m for m in ('numpy', 'pandas', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


# ---------------------------------------------------------------------- file targets
def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_file(path: Path) -> None:
    table = pa.Table.from_pandas(make_frame(), preserve_index=False).drop_columns(["t"])
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    elif path.suffix == ".csv":
        pcsv.write_csv(table, path)
    else:
        path.write_text(table.to_pandas().to_json(orient="records", lines=True))


def read_file(path: Path) -> pa.Table:
    from airflow_chaos.storage import format_of, read_table

    return read_table(path.read_bytes(), format_of(path), kind="arrow")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_file_target_is_journaled_and_restorable(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "out" / f"orders{suffix}"
    path.parent.mkdir()
    write_file(path)
    original = sha(path)
    journal = Journal(tmp_path / "journal")
    fault = faults.InjectNulls(column="i", fraction=0.5, path=str(path))
    assert fault.target() == f"file:{path}"
    ctx = FaultContext(
        seed=5, journal=journal, labels={"injection_id": "inj-1", "dag_id": "d", "run_id": "r", "try_number": 1}
    )
    returned = {"rows": 200}
    assert fault.apply(returned, ctx) is returned
    assert sha(path) != original
    faulted = read_file(path)
    assert faulted.column("i").null_count == 100 == ctx.changes["rows_affected"]
    assert ctx.changes["path"] == str(path) and ctx.changes["bytes_before"] > 0
    assert [e.injection_id for e in journal.pending()] == ["inj-1"]
    restored = Journal(tmp_path / "journal").restore()
    assert len(restored) == 1 and sha(path) == original


def test_file_target_same_seed_same_bytes(tmp_path: Path) -> None:
    digests = []
    for attempt in range(2):
        path = tmp_path / f"{attempt}" / "t.parquet"
        path.parent.mkdir()
        write_file(path)
        faults.ShuffleRows(path=str(path)).apply(None, FaultContext(seed=9, journal=Journal(tmp_path / f"j{attempt}")))
        digests.append(sha(path))
    assert digests[0] == digests[1]


def test_file_target_url_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_file(path)
    original = sha(path)
    journal = Journal(tmp_path / "journal")
    faults.TruncateRows(keep_fraction=0.5, path=f"file://{path}").apply(None, FaultContext(seed=1, journal=journal))
    assert read_file(path).num_rows == 100
    journal.restore()
    assert sha(path) == original
    from airflow_chaos.exceptions import ChaosInjectionError

    with pytest.raises(ChaosInjectionError, match=r"shuffle_rows: mutating faults need a journal"):
        faults.ShuffleRows(path=str(path)).apply(None, FaultContext(seed=1))  # the same error as file faults
    with pytest.raises(ChaosConfigError, match=r"field 'path'.*does not exist"):
        faults.ShuffleRows(path=str(tmp_path / "nope.csv")).apply(None, FaultContext(seed=1, journal=journal))


def test_path_is_templated_and_checked_once_rendered() -> None:
    fault = faults.DropColumn(column="x", path="/data/{{ ds }}/orders.parquet")
    assert "path" in fault.template_fields
    templated = faults.DropColumn(column="x", path="{{ params.out }}")
    with pytest.raises(ChaosConfigError, match="field 'path'"):
        type(templated)(**{**templated.model_dump(), "path": "/data/orders.txt"})


def test_fractions_are_floors_never_above_the_cap() -> None:
    for fraction in (0.1, 0.3, 0.7, 1 / 3):
        _, _out, changes = run(faults.InjectNulls(column="i", fraction=fraction), "arrow")
        assert changes["rows_affected"] == math.floor(fraction * N + 1e-9)


# ---------------------------------------------------------------------- the sampler and pandas plumbing
def test_sample_sorted_is_exact_sorted_unique_and_uniform() -> None:
    from airflow_chaos.faults.tables import sample_sorted

    rng = np.random.default_rng(0)
    hits = np.zeros(50, dtype=np.int64)
    for _ in range(4000):
        picked = sample_sorted(rng, 50, 10)
        assert len(picked) == 10 and np.all(np.diff(picked) > 0)
        hits[picked] += 1
    assert hits.min() > 0.8 * 800 and hits.max() < 1.2 * 800  # each position about 4000 * 10/50 times
    for size, count in [(0, 0), (1, 1), (7, 0), (7, 7), (1000, 999), (1000, 1)]:
        picked = sample_sorted(rng, size, count)
        assert len(picked) == count and len(set(picked.tolist())) == count


def test_sample_sorted_tops_up_when_the_draw_falls_short() -> None:
    from airflow_chaos.faults.tables import sample_sorted

    class NothingPasses:
        """A generator whose 16-bit draws never pass the threshold, forcing the top-up branch."""

        def __init__(self) -> None:
            self.inner = np.random.default_rng(1)

        def integers(self, low: int, high: int, size: int, dtype: Any, endpoint: bool = False) -> Any:
            return np.full(size, np.iinfo(dtype).max, dtype=dtype)

        def choice(self, *args: Any, **kwargs: Any) -> Any:
            return self.inner.choice(*args, **kwargs)

    picked = sample_sorted(NothingPasses(), 1000, 100)  # type: ignore[arg-type]
    assert len(picked) == 100 and np.all(np.diff(picked) > 0)


def test_pandas_duplicate_index_and_non_string_labels_survive() -> None:
    frame = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10)}, index=[0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    frame.columns = pd.Index(["a", "b"], name="features")
    _, out, _ = run(faults.InjectNulls(column="a", fraction=0.5), "pandas", table=frame)
    assert out.index.equals(frame.index) and out.columns.equals(frame.columns) and out.columns.name == "features"
    assert int(out["a"].isna().sum()) == 5 and out["b"].tolist() == list(range(10))


def test_pandas_unchanged_columns_are_shared_not_copied() -> None:
    frame = make_frame()
    _, out, _ = run(faults.InjectNulls(column="x", fraction=0.5), "pandas", table=frame)
    assert np.shares_memory(out["f"].to_numpy(), frame["f"].to_numpy())
    assert not np.shares_memory(out["x"].to_numpy(), frame["x"].to_numpy())


# ---------------------------------------------------------------------- issue #8 item 4: numbers that would overflow at run time
@pytest.mark.parametrize("by", [1e300, 10**30, "106752d", "16000 weeks", "P20000W"])
def test_backdating_further_than_a_timestamp_can_shift_is_refused_at_parse_time(by: Any) -> None:
    with pytest.raises(ChaosConfigError, match=r"field 'by': .*at most 106751 days"):
        faults.BackdateTimestamps(column="t", by=by)
    with pytest.raises(ChaosConfigError, match=r"field 'by': a duration must be positive and finite"):
        faults.BackdateTimestamps(column="t", by=f"{'9' * 400}d")


def test_the_longest_backdating_allowed_works_on_nanosecond_timestamps() -> None:
    from datetime import datetime

    fault = faults.BackdateTimestamps(column="t", by="106751d")
    table = pa.table({"t": pa.array([datetime(2200, 1, 1)], pa.timestamp("ns"))})
    for value in (table, table.to_pandas()):
        out = fault.apply(value, FaultContext(seed=1))
        assert pd.Timestamp(pa.table(out)["t"][0].as_py() if isinstance(out, pa.Table) else out["t"][0]).year == 1907


@pytest.mark.parametrize("kind", ["arrow", "pandas"])
def test_backdating_past_what_the_column_holds_is_refused_never_wrapped_around(kind: str) -> None:
    from datetime import datetime

    table = pa.table({"t": pa.array([datetime(1678, 1, 1)], pa.timestamp("ns"))})
    value = table if kind == "arrow" else table.to_pandas()
    with pytest.raises(ChaosConfigError, match=r"field 'by': backdating 't' by '1000d' leaves the range of"):
        faults.BackdateTimestamps(column="t", by="1000d").apply(value, FaultContext(seed=1))


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: faults.DropPartition(column="c", value=2**63), "value"),
        (lambda: faults.DropPartition(column="c", value=-(2**63) - 1), "value"),
        (lambda: faults.ShiftDistribution(column="c", mean_shift=1e308), "mean_shift"),
        (lambda: faults.ShiftDistribution(column="c", std_scale=1e308), "std_scale"),
    ],
)
def test_numbers_that_would_overflow_at_run_time_are_refused_at_parse_time(build: Any, field: str) -> None:
    with pytest.raises(ChaosConfigError, match=f"field '{field}'"):
        build()


def test_drop_partition_takes_any_64_bit_integer() -> None:
    table = pa.table({"c": pa.array([2**63 - 1, -(2**63), 0], pa.int64())})
    out = faults.DropPartition(column="c", value=2**63 - 1).apply(table, FaultContext(seed=1))
    assert out["c"].to_pylist() == [-(2**63), 0]
