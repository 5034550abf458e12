"""The native engine: which engine runs, the inputs it reads, what it leaves to GE, and that it never imports GE.

Verdicts and result fields are proven equal to GE's by the differential test
(``test_parity_native.py``); these tests pin the engine's contract around them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from airflow_chaos.checks import native
from airflow_chaos.exceptions import ChaosConfigError

ROOT = Path(__file__).resolve().parents[3]
CORE_SIX = [
    {"type": "expect_column_to_exist", "column": "price"},
    {"type": "expect_column_values_to_not_be_null", "column": "qty"},
    {"type": "expect_column_values_to_be_between", "column": "price", "min_value": 0, "max_value": 100},
    {"type": "expect_column_mean_to_be_between", "column": "price", "min_value": 9, "max_value": 11},
    {"type": "expect_table_row_count_to_be_between", "min_value": 100, "max_value": 10_000},
    {"type": "expect_column_max_to_be_between", "column": "ts", "max_age_seconds": 3600},
]


@pytest.fixture
def orders() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 500
    now = pd.Timestamp(datetime.now(timezone.utc)).floor("s")
    return pd.DataFrame(
        {
            "order_id": np.arange(n),
            "price": rng.normal(10.0, 2.0, n),
            "qty": rng.integers(1, 6, n),
            "status": rng.choice(["new", "paid", "shipped"], n),
            "ts": pd.date_range(end=now, periods=n, freq="s"),
        }
    )


def engines(detections):
    return {d.observed["engine"] for d in detections}


# ---------------------------------------------------------------------- the engine that runs
def test_the_six_core_checks_run_natively_on_pandas_and_arrow(orders):
    for data in (orders, pa.Table.from_pandas(orders), pa.Table.from_pandas(orders, preserve_index=False)):
        detections = native.validate(data, CORE_SIX)
        assert engines(detections) == {"native"}
        assert [d.passed for d in detections] == [True] * 6, [d.observed for d in detections if not d.passed]
        assert detections[5].signals == ["freshness"]
        json.dumps([d.to_json() for d in detections], allow_nan=False)


def test_a_fault_fails_its_check_natively(orders):
    broken = orders.assign(qty=orders["qty"].where(orders.index % 5 != 0), price=orders["price"] * 20)
    by_check = {d.check: d for d in native.validate(broken, CORE_SIX)}
    not_null = by_check["expect_column_values_to_not_be_null:qty"]
    assert not not_null.passed and not_null.signals == ["completeness"]
    assert not_null.observed["unexpected_count"] == 100 and not_null.observed["unexpected_percent"] == 20.0
    assert not_null.observed["partial_unexpected_index_list"] == [
        0,
        5,
        10,
        15,
        20,
        25,
        30,
        35,
        40,
        45,
        50,
        55,
        60,
        65,
        70,
        75,
        80,
        85,
        90,
        95,
    ]
    assert not by_check["expect_column_values_to_be_between:price"].passed
    assert not by_check["expect_column_mean_to_be_between:price"].passed


def test_nulls_injected_by_our_faults_are_caught_natively(orders):
    """InjectNulls makes an int column pandas' nullable Int64 (and bool columns ``boolean``): not-null fails."""
    from airflow_chaos import faults
    from airflow_chaos.faults import FaultContext

    broken = faults.InjectNulls(column="qty", fraction=0.2).apply(orders, FaultContext(seed=7))
    assert str(broken["qty"].dtype) == "Int64"
    spec = {"type": "expect_column_values_to_not_be_null", "column": "qty"}
    ours, theirs = native.validate(broken, spec), native.validate(broken, spec, engine="gx")
    assert engines(ours) == {"native"} and not ours[0].passed
    assert ours[0].observed["unexpected_count"] == theirs[0].observed["unexpected_count"] == 100
    assert ours[0].observed["partial_unexpected_list"] == theirs[0].observed["partial_unexpected_list"]


def test_auto_hands_the_whole_suite_to_gx_when_one_expectation_is_not_native(orders):
    unsupported = {"type": "expect_column_values_to_be_increasing", "column": "order_id"}
    assert "expect_column_values_to_be_increasing" not in native.SUPPORTED
    assert (
        native.native_reason([*CORE_SIX, unsupported], orders)
        == "expect_column_values_to_be_increasing is not evaluated natively"
    )
    detections = native.validate(orders, [*CORE_SIX, unsupported])
    assert engines(detections) == {"gx"} and len(detections) == 7 and all(d.passed for d in detections)


def test_auto_falls_back_to_gx_when_the_native_engine_itself_fails(orders, monkeypatch, caplog):
    """A defect inside the native engine must not fail a validation GE can do: ``auto`` logs it and runs GE,
    ``native`` raises it. Simulated (a planner replaced by one that raises), because the defects found so
    far are fixed and a new one cannot be produced on demand."""

    def defect(ask):
        raise pa.ArrowInvalid("simulated defect in the native engine")

    monkeypatch.setitem(native._PLANNERS, "expect_column_values_to_not_be_null", defect)
    spec = {"type": "expect_column_values_to_not_be_null", "column": "qty"}
    with caplog.at_level("WARNING", logger="airflow_chaos.checks.native"):
        detections = native.validate(orders, spec)
    assert engines(detections) == {"gx"} and detections[0].passed
    assert (
        "simulated defect in the native engine" in caplog.text and "validating with Great Expectations" in caplog.text
    )
    with pytest.raises(pa.ArrowInvalid, match="simulated defect"):
        native.validate(orders, spec, engine="native")
    with pytest.raises(ChaosConfigError, match="severity"):  # a configuration error is never swallowed
        native.validate(orders, {**spec, "meta": {"severity": "fatal"}})


def test_engine_native_refuses_what_it_cannot_evaluate_naming_it(orders):
    with pytest.raises(
        ChaosConfigError, match="field 'engine': 'native' cannot evaluate.*expect_column_values_to_be_increasing"
    ):
        native.validate(
            orders, {"type": "expect_column_values_to_be_increasing", "column": "order_id"}, engine="native"
        )
    with pytest.raises(ChaosConfigError, match="field 'engine': got 'fast'; allowed: auto, native, gx"):
        native.validate(orders, CORE_SIX, engine="fast")


def test_engine_gx_runs_gx_with_the_same_verdicts(orders):
    ours, theirs = native.validate(orders, CORE_SIX[:5]), native.validate(orders, CORE_SIX[:5], engine="gx")
    assert engines(ours) == {"native"} and engines(theirs) == {"gx"}
    assert [(d.check, d.passed, d.signals) for d in ours] == [(d.check, d.passed, d.signals) for d in theirs]


# ---------------------------------------------------------------------- the same inputs as the GE path
def test_gx_objects_suites_and_suite_files_are_read_without_gx_running(orders, tmp_path):
    import great_expectations as gx

    gx.get_context(mode="ephemeral")
    expectation = gx.expectations.ExpectColumnValuesToBeBetween(column="qty", min_value=1, max_value=5, mostly=0.9)
    suite = gx.ExpectationSuite(name="orders")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="qty"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeInSet(column="status", value_set=["new", "paid"]))
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(suite.to_json_dict()))
    wanted = [("expect_column_values_to_not_be_null:qty", True), ("expect_column_values_to_be_in_set:status", False)]
    for expect in (suite, suite.to_json_dict(), str(path), path):
        detections = native.validate(orders, expect)
        assert [(d.check, d.passed) for d in detections] == wanted and engines(detections) == {"native"}
    (detection,) = native.validate(orders, expectation)
    assert detection.passed and detection.observed["kwargs"] == {
        "column": "qty",
        "min_value": 1.0,
        "max_value": 5.0,
        "mostly": 0.9,
    }
    assert expectation.id is None  # the user's object is not touched


def test_flat_and_nested_dicts_records_and_columns(orders):
    flat = {"type": "expect_column_values_to_be_in_set", "column": "status", "value_set": ["new", "paid", "shipped"]}
    nested = {"type": flat["type"], "kwargs": {k: v for k, v in flat.items() if k != "type"}}
    records = orders.head(20).drop(columns=["ts"]).to_dict(orient="records")
    columns = orders.head(20).drop(columns=["ts"]).to_dict(orient="list")
    batch = pa.RecordBatch.from_pandas(orders.head(20))
    for data in (records, columns, batch):
        detections = native.validate(data, [flat, nested])
        assert len(detections) == 1 and detections[0].passed and engines(detections) == {"native"}


def test_severity_signals_and_identical_expectations_as_in_gx(orders):
    detections = native.validate(
        orders,
        [
            {
                "type": "expect_column_mean_to_be_between",
                "column": "price",
                "max_value": 1,
                "meta": {"severity": "warning"},
            },
            {"type": "expect_column_stdev_to_be_between", "column": "price", "max_value": 0.1, "severity": "info"},
            {
                "type": "expect_column_values_to_be_between",
                "column": "qty",
                "min_value": 1,
                "meta": {"signals": ["distribution"]},
            },
            {"type": "expect_column_values_to_not_be_null", "column": "qty"},
            {"type": "expect_column_values_to_not_be_null", "column": "qty", "mostly": 1},  # the same one
        ],
    )
    assert [(d.passed, d.severity, d.signals) for d in detections] == [
        (False, "warning", ["distribution"]),
        (False, "warning", ["distribution"]),
        (True, "critical", ["distribution"]),
        (True, "critical", ["completeness"]),
    ]
    with pytest.raises(ChaosConfigError, match="severity"):
        native.validate(orders, {"type": "expect_column_to_exist", "column": "qty", "meta": {"severity": "fatal"}})


def test_a_missing_column_fails_and_says_why(orders):
    exists, mean = native.validate(
        orders.drop(columns=["price"]),
        [
            {"type": "expect_column_to_exist", "column": "price"},
            {"type": "expect_column_mean_to_be_between", "column": "price", "min_value": 0},
        ],
    )
    assert not exists.passed and exists.signals == ["schema"]
    assert not mean.passed and "does not exist" in mean.observed["error"] and mean.observed["engine"] == "native"


def test_freshness_with_max_age_on_tz_aware_and_naive_columns():
    now = datetime.now(timezone.utc)
    stale = pd.DataFrame({"ts": pd.to_datetime([now - timedelta(days=3), now - timedelta(days=2)])})
    fresh = pd.DataFrame({"ts": pd.to_datetime([now - timedelta(minutes=5), now])})
    spec = {"type": "expect_column_max_to_be_between", "column": "ts", "max_age_seconds": 3600}
    for frame, passed in ((fresh, True), (stale, False), (stale.assign(ts=stale["ts"].dt.tz_localize(None)), False)):
        (detection,) = native.validate(pa.Table.from_pandas(frame), spec, engine="native")
        assert detection.passed is passed and detection.signals == ["freshness"]


def test_a_profile_runs_natively(orders):
    detections = native.validate(orders, profile_from=orders)
    assert detections and engines(detections) == {"native"}
    assert all(d.passed for d in detections), [d.check for d in detections if not d.passed]
    shifted = {d.check: d for d in native.validate(orders.assign(price=orders["price"] + 3), profile_from=orders)}
    assert not shifted["expect_column_mean_to_be_between:price"].passed


# ---------------------------------------------------------------------- what is left to GE, and why
@pytest.mark.parametrize(
    ("data", "spec", "reason"),
    [
        (
            pd.DataFrame({"s": ["ä", "b"]}),
            {"type": "expect_column_values_to_match_regex", "column": "s", "regex": r"^\w$"},
            "non-ASCII",
        ),
        (
            pd.DataFrame({"s": ["a", "b"]}),
            {"type": "expect_column_values_to_match_regex", "column": "s", "regex": r"(a)\1"},
            "does not compile",
        ),
        (
            pd.DataFrame({"s": ["a", "b"]}),
            {"type": "expect_column_values_to_match_regex", "column": "s", "regex": "a{,2}"},
            "read differently",
        ),
        (pd.DataFrame({"o": [1, "a"]}), {"type": "expect_column_values_to_be_unique", "column": "o"}, "left to GE"),
        (
            pd.DataFrame({"x": [1]}).set_index(pd.Index([7], name="id")),
            {"type": "expect_column_to_exist", "column": "x"},
            "named index",
        ),
        (
            pd.DataFrame({"x": [1]}),
            {"type": "expect_column_values_to_be_between", "column": "x", "min_value": 0, "row_condition": "x>0"},
            "row_condition",
        ),
        (
            pd.DataFrame({"x": [1]}),
            {"type": "expect_column_values_to_be_between", "column": "x", "min_value": {"$PARAMETER": "low"}},
            "suite parameter",
        ),
        (
            pd.DataFrame({"x": [1]}),
            {"type": "expect_column_pair_values_a_to_be_greater_than_b", "column_A": "x", "column_B": "x"},
            "itself",
        ),
        (
            pd.DataFrame({"t": pd.to_datetime(["2024-01-01"])}),
            {"type": "expect_column_values_to_be_in_set", "column": "t", "value_set": ["2024-01-01"]},
            "left to GE",
        ),
    ],
)
def test_what_the_engine_leaves_to_gx_and_why(data, spec, reason):
    assert reason in (native.native_reason(spec, data) or "")


def test_an_arrow_table_from_pandas_reports_its_index_labels():
    frame = pd.DataFrame({"x": [1.0, None, 3.0]}, index=pd.RangeIndex(10, 16, 2))
    (detection,) = native.validate(
        pa.Table.from_pandas(frame), {"type": "expect_column_values_to_not_be_null", "column": "x"}
    )
    assert detection.observed["partial_unexpected_index_list"] == [12]
    with_named_index = pa.Table.from_pandas(frame.rename_axis("id"))
    assert "index" in (native.native_reason({"type": "expect_column_to_exist", "column": "x"}, with_named_index) or "")


# ---------------------------------------------------------------------- import hygiene
def test_a_task_that_validates_natively_never_imports_great_expectations():
    code = f"""
import sys
import numpy as np, pandas as pd, pyarrow as pa
from tests.unit.operators.test_validation import fake_context
from airflow_chaos.operators.validation import ValidateDataOperator
now = pd.Timestamp.now(tz="UTC").floor("s")
frame = pd.DataFrame({{"price": np.linspace(5, 15, 1000), "qty": np.arange(1000) % 5 + 1,
                      "ts": pd.date_range(end=now, periods=1000, freq="s")}})
for data in (frame, pa.Table.from_pandas(frame)):
    op = ValidateDataOperator(task_id="validate", data=data, expect={CORE_SIX!r}, profile_from=frame)
    detections = op.execute(fake_context())
    assert detections and all(d["passed"] for d in detections), [d for d in detections if not d["passed"]]
    assert {{d["observed"]["engine"] for d in detections}} == {{"native"}}
assert "great_expectations" not in sys.modules, "a natively validating task imported great_expectations"
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(ROOT))


def test_importing_the_engine_imports_neither_airflow_nor_great_expectations():
    code = (
        "import sys, airflow_chaos.checks.native\n"
        "assert 'great_expectations' not in sys.modules and 'airflow' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(ROOT))
