"""FlipLabels: a mislabeled training batch (issue #10), beside the other table faults.

A seeded fraction of the rows get another class; the schema, the null count and the set of classes
stay as they were, so schema and null checks cannot see it (a model-quality check can).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.base import FaultContext


def frame(rows: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=rows), "label": (rng.random(rows) < 0.2).astype("int64")})


@pytest.mark.parametrize("kind", ["pandas", "arrow"])
def test_flips_exactly_the_fraction_to_another_class_and_keeps_the_schema(kind):
    data = frame()
    table = data if kind == "pandas" else pa.Table.from_pandas(data, preserve_index=False)
    ctx = FaultContext(seed=3)
    out = faults.FlipLabels(column="label", fraction=0.3).apply(table, ctx)

    before = np.asarray(data["label"])
    after = np.asarray(out["label"] if kind == "pandas" else out.column("label").to_numpy())
    assert int((before != after).sum()) == 300 == ctx.changes["rows_affected"]
    assert set(after) == {0, 1} and ctx.changes["classes"] == [0, 1]
    assert (out.dtypes == data.dtypes).all() if kind == "pandas" else out.schema == table.schema
    assert np.array_equal(np.asarray(out["x"]), data["x"].to_numpy())  # features untouched
    assert data["label"].sum() == 1000 - int((data["label"] == 0).sum())  # the caller's frame untouched


def test_same_seed_same_rows_and_string_labels_among_given_classes():
    data = pd.DataFrame({"label": ["cat", "dog", "bird", "cat"] * 50})
    fault = faults.FlipLabels(column="label", fraction=0.5, classes=["cat", "dog", "bird"])
    a, b = fault.apply(data, FaultContext(seed=9)), fault.apply(data, FaultContext(seed=9))
    assert a.equals(b)
    changed = a["label"] != data["label"]
    assert int(changed.sum()) == 100 and set(a["label"]) <= {"cat", "dog", "bird"}


def test_nulls_stay_null_and_are_never_picked():
    data = pd.DataFrame({"label": pd.array([1, None, 0, None] * 25, dtype="Int64")})
    out = faults.FlipLabels(column="label", fraction=0.5).apply(data, FaultContext(seed=1))
    assert int(out["label"].isna().sum()) == 50
    assert int((out["label"] != data["label"]).fillna(False).sum()) == 50


def test_a_single_class_has_nothing_to_flip_to():
    data = pd.DataFrame({"label": [1] * 10})
    ctx = FaultContext(seed=1)
    out = faults.FlipLabels(column="label", fraction=0.5).apply(data, ctx)
    assert out.equals(data) and ctx.ineffective_reason == "no rows changed: column 'label' holds a single class (1); give classes=[...]"


def test_invalid_parameters_name_the_field():
    with pytest.raises(ChaosConfigError, match="field 'fraction'"):
        faults.FlipLabels(column="label", fraction=0)
    with pytest.raises(ChaosConfigError, match="field 'classes'"):
        faults.FlipLabels(column="label", fraction=0.1, classes=[1])
    with pytest.raises(ChaosConfigError, match="field 'column'"):
        faults.FlipLabels(column="nope", fraction=0.1).apply(frame(), FaultContext(seed=1))
