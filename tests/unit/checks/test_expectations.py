"""Great Expectations checks with real GX Core 1.x (no mocks): one Detection per expectation, JSON-safe.

GX costs about 10 s to import: the session fixture ``gx`` imports it once for every test that needs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from airflow_chaos.checks.expectations import (
    ProfileTolerances,
    json_safe,
    profile_expectations,
    signals_for,
    validate_frame,
)
from airflow_chaos.exceptions import ChaosConfigError


@pytest.fixture(scope="session")
def gx():
    import great_expectations

    return great_expectations


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 500
    return pd.DataFrame(
        {
            "order_id": np.arange(n),
            "price": rng.normal(10.0, 2.0, n),
            "qty": rng.integers(1, 6, n),
            "status": rng.choice(["new", "paid", "shipped"], n),
            "ts": pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC"),
        }
    )


def by_check(detections):
    return {d.check: d for d in detections}


# ---------------------------------------------------------------------- signals and severity (no GX)
@pytest.mark.parametrize(
    ("kind", "signal"),
    [
        ("expect_column_to_exist", "schema"),
        ("expect_table_columns_to_match_set", "schema"),
        ("expect_table_columns_to_match_ordered_list", "schema"),
        ("expect_column_values_to_be_of_type", "schema"),
        ("expect_column_values_to_be_in_type_list", "schema"),
        ("expect_column_values_to_not_be_null", "completeness"),
        ("expect_column_values_to_be_between", "validity"),
        ("expect_column_values_to_be_in_set", "validity"),
        ("expect_column_values_to_match_regex", "validity"),
        ("expect_column_mean_to_be_between", "distribution"),
        ("expect_column_median_to_be_between", "distribution"),
        ("expect_column_stdev_to_be_between", "distribution"),
        ("expect_column_quantile_values_to_be_between", "distribution"),
        ("expect_column_kl_divergence_to_be_less_than", "distribution"),
        ("expect_table_row_count_to_be_between", "volume"),
        ("expect_table_row_count_to_equal", "volume"),
        ("expect_column_values_to_be_increasing", "ordering"),
        ("expect_column_values_to_be_decreasing", "ordering"),
        ("expect_column_pair_values_a_to_be_greater_than_b", "validity"),
        ("expect_multicolumn_sum_to_equal", "distribution"),
    ],
)
def test_each_expectation_type_maps_to_a_signal(kind, signal):
    assert signals_for(kind) == [signal]


def test_max_timestamp_is_freshness_and_meta_signals_override():
    assert signals_for("expect_column_max_to_be_between", temporal=True) == ["freshness"]
    assert signals_for("expect_column_max_to_be_between") == ["validity"]
    assert signals_for("expect_column_values_to_be_between", {"signals": ["distribution"]}) == ["distribution"]
    with pytest.raises(ChaosConfigError, match="meta 'signals'"):
        signals_for("expect_column_values_to_be_between", {"signals": ["vibes"]})


def test_json_safe_converts_numpy_timestamps_and_nan():
    value = {
        "f": np.float64(1.5),
        "i": np.int64(3),
        "b": np.bool_(True),
        "s": np.str_("x"),
        "nan": float("nan"),
        "inf": np.float64("inf"),
        "ts": pd.Timestamp("2026-01-01", tz="UTC"),
        "nat": pd.NaT,
        "arr": np.array([1, 2]),
        "set": {1},
        "nested": [(np.float32(0.5), None)],
    }
    out = json_safe(value)
    assert out == {
        "f": 1.5,
        "i": 3,
        "b": True,
        "s": "x",
        "nan": None,
        "inf": None,
        "ts": "2026-01-01T00:00:00+00:00",
        "nat": None,
        "arr": [1, 2],
        "set": [1],
        "nested": [[0.5, None]],
    }
    assert type(out["f"]) is float and type(out["i"]) is int and type(out["b"]) is bool
    json.dumps(out, allow_nan=False)


# ---------------------------------------------------------------------- validation through GX
def test_dicts_flat_or_nested_and_gx_objects_give_one_detection_each_in_order(gx, orders):
    expect = [
        {"type": "expect_column_values_to_not_be_null", "column": "qty"},
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "price", "min_value": 50, "max_value": 60}},
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=100, max_value=1000),
        gx.expectations.ExpectColumnValuesToBeInSet(column="status", value_set=["new", "paid"]),
        {"type": "expect_column_values_to_be_increasing", "column": "order_id"},
        {"type": "expect_column_to_exist", "column": "price"},
    ]
    detections = validate_frame(orders, expect)

    assert [d.check for d in detections] == [
        "expect_column_values_to_not_be_null:qty",
        "expect_column_mean_to_be_between:price",
        "expect_table_row_count_to_be_between",
        "expect_column_values_to_be_in_set:status",
        "expect_column_values_to_be_increasing:order_id",
        "expect_column_to_exist:price",
    ]
    assert [d.passed for d in detections] == [True, False, True, False, True, True]
    assert [d.signals for d in detections] == [
        ["completeness"],
        ["distribution"],
        ["volume"],
        ["validity"],
        ["ordering"],
        ["schema"],
    ]
    mean = detections[1].observed
    assert type(mean["observed_value"]) is float and 9 < mean["observed_value"] < 11
    assert mean["kwargs"] == {"column": "price", "min_value": 50.0, "max_value": 60.0}
    assert detections[3].observed["unexpected_count"] > 0
    assert all(d.severity == "critical" for d in detections)
    json.dumps([d.to_json() for d in detections], allow_nan=False)


def test_gx_objects_given_by_the_user_are_not_mutated(gx, orders):
    expectation = gx.expectations.ExpectColumnValuesToNotBeNull(column="qty")
    validate_frame(orders, expectation)
    validate_frame(orders, expectation)  # reusable: it never joined a suite
    assert expectation.id is None


def test_missing_column_fails_without_raising_and_says_why(orders):
    detections = by_check(
        validate_frame(
            orders.drop(columns=["price"]),
            [
                {"type": "expect_column_to_exist", "column": "price"},
                {"type": "expect_column_mean_to_be_between", "column": "price", "min_value": 0},
            ],
        )
    )
    exists = detections["expect_column_to_exist:price"]
    mean = detections["expect_column_mean_to_be_between:price"]
    assert not exists.passed and exists.signals == ["schema"]
    assert not mean.passed and "does not exist" in mean.observed["error"]


def test_severity_from_meta(orders):
    detections = validate_frame(
        orders,
        [
            {
                "type": "expect_column_mean_to_be_between",
                "column": "price",
                "max_value": 1,
                "meta": {"severity": "warning"},
            },
            {"type": "expect_column_stdev_to_be_between", "column": "price", "max_value": 0.1},
        ],
    )
    assert [(d.passed, d.severity) for d in detections] == [(False, "warning"), (False, "critical")]
    (top_level,) = validate_frame(
        orders, {"type": "expect_column_stdev_to_be_between", "column": "price", "max_value": 0.1, "severity": "info"}
    )
    assert top_level.severity == "warning"  # GX's own severity field; "info" counts as a warning
    with pytest.raises(ChaosConfigError, match="severity"):
        validate_frame(orders, {"type": "expect_column_to_exist", "column": "qty", "meta": {"severity": "fatal"}})


def test_arrow_tables_and_records_are_validated(orders):
    expect = {"type": "expect_table_row_count_to_equal", "value": 3}
    small = orders.head(3).drop(columns=["ts"])
    for data in (pa.Table.from_pandas(small), small.to_dict(orient="records")):
        (detection,) = validate_frame(data, expect)
        assert detection.passed and detection.observed["observed_value"] == 3


def test_suite_object_dict_and_json_path(gx, orders, tmp_path):
    suite = gx.ExpectationSuite(name="orders")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="qty"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeBetween(column="qty", min_value=1, max_value=3))
    path = tmp_path / "orders_suite.json"
    path.write_text(json.dumps(suite.to_json_dict()))

    for expect in (suite, suite.to_json_dict(), str(path), path):
        detections = validate_frame(orders, expect)
        assert [(d.check, d.passed) for d in detections] == [
            ("expect_column_values_to_not_be_null:qty", True),
            ("expect_column_values_to_be_between:qty", False),
        ]


def test_identical_expectations_are_validated_once(orders):
    spec = {"type": "expect_column_values_to_not_be_null", "column": "qty"}
    assert len(validate_frame(orders, [spec, dict(spec)])) == 1


def test_recency_of_a_timestamp_column_is_freshness():
    now = datetime.now(timezone.utc)
    fresh = pd.DataFrame({"ts": pd.to_datetime([now - timedelta(minutes=5), now])})
    stale = pd.DataFrame({"ts": pd.to_datetime([now - timedelta(days=3), now - timedelta(days=2)])})
    naive = stale.assign(ts=stale["ts"].dt.tz_localize(None))
    spec = {"type": "expect_column_max_to_be_between", "column": "ts", "max_age_seconds": 3600}

    (ok,) = validate_frame(fresh, spec)
    (late,) = validate_frame(stale, spec)
    (late_naive,) = validate_frame(naive, spec)
    assert ok.passed and ok.signals == ["freshness"]
    assert not late.passed and late.signals == ["freshness"]
    assert not late_naive.passed
    assert late.observed["observed_value"].startswith((now - timedelta(days=2)).date().isoformat())


@pytest.mark.parametrize("result_format", ["BOOLEAN_ONLY", "BASIC", "SUMMARY", "COMPLETE"])
def test_result_formats(orders, result_format):
    (detection,) = validate_frame(
        orders,
        {"type": "expect_column_values_to_be_in_set", "column": "status", "value_set": ["new"]},
        result_format=result_format,
    )
    assert not detection.passed
    json.dumps(detection.to_json(), allow_nan=False)


def test_bad_arguments_name_the_field(orders):
    with pytest.raises(ChaosConfigError, match="field 'expect': invalid expectation 'expect_nothing_at_all'"):
        validate_frame(orders, {"type": "expect_nothing_at_all"})
    with pytest.raises(ChaosConfigError, match=r"field 'expect'.*colum"):
        validate_frame(orders, {"type": "expect_column_values_to_not_be_null", "colum": "qty"})
    with pytest.raises(ChaosConfigError, match="needs a 'type'"):
        validate_frame(orders, {"column": "qty"})
    with pytest.raises(ChaosConfigError, match="'meta' must be a mapping"):
        validate_frame(orders, {"type": "expect_column_to_exist", "column": "qty", "meta": "warning"})
    with pytest.raises(ChaosConfigError, match="field 'result_format'"):
        validate_frame(orders, {"type": "expect_column_to_exist", "column": "qty"}, result_format="FULL")
    with pytest.raises(ChaosConfigError, match="field 'expect' or 'profile_from'"):
        validate_frame(orders, [])


def test_missing_suite_file_names_the_field(orders, tmp_path):
    with pytest.raises(ChaosConfigError, match="field 'expect': cannot read the suite JSON"):
        validate_frame(orders, str(tmp_path / "missing.json"))
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ChaosConfigError, match="not a suite"):
        validate_frame(orders, tmp_path / "list.json")


# ---------------------------------------------------------------------- baseline from a reference
def test_profile_builds_json_safe_dict_specs_without_gx(orders):
    specs = profile_expectations(orders)
    kinds = {(s["type"], s.get("column")) for s in specs}
    assert ("expect_table_row_count_to_be_between", None) in kinds
    for column in orders.columns:
        assert ("expect_column_to_exist", column) in kinds
        assert ("expect_column_values_to_not_be_null", column) in kinds
    assert ("expect_column_mean_to_be_between", "price") in kinds
    assert ("expect_column_stdev_to_be_between", "price") in kinds
    assert ("expect_column_values_to_be_between", "qty") in kinds
    assert ("expect_column_values_to_be_in_set", "status") in kinds
    json.dumps(specs, allow_nan=False)


def test_reference_validates_clean_against_its_own_profile(orders):
    detections = validate_frame(orders, profile_from=orders)
    assert detections and all(d.passed for d in detections), [d.check for d in detections if not d.passed]


def _failed_signals(detections):
    return {s for d in detections if not d.passed for s in d.signals}


def test_profile_catches_each_table_fault_family(orders):
    rng = np.random.default_rng(1)
    nulls = orders.copy()
    nulls.loc[rng.choice(len(orders), 50, replace=False), "price"] = np.nan
    cases = {
        "schema": orders.drop(columns=["status"]),
        "completeness": nulls,
        "validity": orders.assign(qty=orders["qty"].where(orders.index % 10 != 0, 1000)),
        "distribution": orders.assign(price=orders["price"] + 2.0),
        "volume": orders.head(200),
    }
    for signal, faulted in cases.items():
        assert signal in _failed_signals(validate_frame(faulted, profile_from=orders)), signal


def test_profile_tolerances_are_honoured(orders):
    shifted = orders.assign(price=orders["price"] + 2.0)  # one standard deviation
    loose = ProfileTolerances(mean_tolerance=2.0, range_margin=1.0)
    detections = by_check(validate_frame(shifted, profile_from=orders, tolerances=loose))
    assert detections["expect_column_mean_to_be_between:price"].passed


def test_profile_and_expect_combine(orders):
    detections = validate_frame(
        orders, {"type": "expect_column_values_to_be_unique", "column": "qty"}, profile_from=orders.head(100)
    )
    assert detections[0].check == "expect_column_values_to_be_unique:qty" and not detections[0].passed
    assert len(detections) > 10


# ---------------------------------------------------------------------- import hygiene
def test_importing_the_checks_does_not_import_great_expectations():
    code = (
        "import sys, airflow_chaos, airflow_chaos.checks, airflow_chaos.checks.expectations, "
        "airflow_chaos.checks.formats\n"
        "assert 'great_expectations' not in sys.modules, 'great_expectations imported'\n"
        "assert 'airflow' not in sys.modules, 'checks must not import Airflow'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
