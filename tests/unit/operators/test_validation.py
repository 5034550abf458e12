"""ValidateDataOperator: argument validation in ``__init__``, the pure parts, and ``execute`` with real GX.

``FakeContext`` below stands in for the Airflow runtime: it exposes only what the operator touches
(``ti.xcom_push`` and the task instance ids), and records what was pushed so the tests can assert
that every XCom payload is JSON-serializable and was pushed before the task raised.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_chaos.exceptions import ChaosConfigError, ChaosDetectionFailed
from airflow_chaos.operators.records import DETECTIONS_KEY
from airflow_chaos.operators.validation import ValidateDataOperator, check_expect

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def gx():
    """GE with an active context: building a suite needs one, and the native engine never creates it."""
    import great_expectations

    great_expectations.get_context(mode="ephemeral")
    return great_expectations


@dataclass
class FakeTaskInstance:
    """Stands in for the Airflow runtime's task instance: ids plus an XCom store."""

    dag_id: str = "orders"
    run_id: str = "manual__2026-01-01"
    task_id: str = "validate"
    map_index: int = -1
    pushed: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        json.dumps(value, allow_nan=False)  # what a JSON XCom backend needs, on any executor
        self.pushed[key] = value


def fake_context() -> dict[str, Any]:
    """Stands in for the Airflow runtime context: only ``ti`` is read by the operator."""
    return {"ti": FakeTaskInstance()}


@pytest.fixture
def orders() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 300
    return pd.DataFrame({"order_id": np.arange(n), "price": rng.normal(10, 2, n), "qty": rng.integers(1, 6, n)})


NOT_NULL_QTY = {"type": "expect_column_values_to_not_be_null", "column": "qty"}
PRICE_MEAN = {"type": "expect_column_mean_to_be_between", "column": "price", "min_value": 9, "max_value": 11}


# ---------------------------------------------------------------------- __init__: validate, do no work
def test_needs_at_least_one_check():
    for expect in (None, []):
        with pytest.raises(ChaosConfigError, match="validate: give at least one check: field 'expect', 'profile_from'"):
            ValidateDataOperator(task_id="validate", data=[], expect=expect)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expect": NOT_NULL_QTY, "result_format": "FULL"}, "field 'result_format'.*allowed: BOOLEAN_ONLY"),
        ({"expect": {"column": "qty"}}, "field 'expect'.*needs a 'type'"),
        ({"expect": [NOT_NULL_QTY, 42]}, r"^validate: field 'expect\[1\]': expected a GX expectation.*got int"),
        ({"expect": {**NOT_NULL_QTY, "meta": {"severity": "fatal"}}}, "severity.*allowed: critical, warning"),
        ({"required_columns": "qty"}, "field 'required_columns' must be a list"),
        ({"expect": NOT_NULL_QTY, "data_format": "xlsx"}, "field 'data_format'.*allowed: parquet"),
        ({"expect": NOT_NULL_QTY, "fail_task": "yes"}, "field 'fail_task'"),
        ({"expect": NOT_NULL_QTY, "engine": "fast"}, "field 'engine': got 'fast'; allowed: auto, native, gx"),
    ],
)
def test_bad_arguments_fail_at_parse_time_naming_the_field(kwargs, message):
    with pytest.raises(ChaosConfigError, match=message):
        ValidateDataOperator(task_id="validate", data=[], **kwargs)


def test_init_reads_nothing():
    op = ValidateDataOperator(
        task_id="validate",
        data="/nowhere/orders.parquet",
        expect="/nowhere/suite.json",
        profile_from="/nowhere/ref.csv",
    )
    assert op.uses_gx and op.expect == "/nowhere/suite.json"


def test_check_expect_accepts_every_documented_form(gx, orders, tmp_path):
    suite = gx.ExpectationSuite(name="s", expectations=[gx.expectations.ExpectColumnToExist(column="qty")])
    suite_file = tmp_path / "suite.json"
    suite_file.write_text(json.dumps(suite.to_json_dict()))
    forms = [  # each documented form of expect=, and the checks it runs on the orders
        (NOT_NULL_QTY, ["expect_column_values_to_not_be_null:qty"]),
        ([NOT_NULL_QTY, PRICE_MEAN], ["expect_column_values_to_not_be_null:qty", "expect_column_mean_to_be_between:price"]),
        (gx.expectations.ExpectColumnToExist(column="price"), ["expect_column_to_exist:price"]),
        (suite, ["expect_column_to_exist:qty"]),
        (str(suite_file), ["expect_column_to_exist:qty"]),
        ({"expectations": [NOT_NULL_QTY]}, ["expect_column_values_to_not_be_null:qty"]),
    ]
    for expect, checks in forms:
        assert check_expect(expect, "validate") is None
        detections = ValidateDataOperator(task_id="validate", data=orders, expect=expect).execute(fake_context())
        assert [(d["check"], d["passed"]) for d in detections] == [(c, True) for c in checks], expect
    for undocumented in (42, {"column": "qty"}, [NOT_NULL_QTY, None]):
        with pytest.raises(ChaosConfigError, match="^validate: field 'expect"):
            check_expect(undocumented, "validate")


# ---------------------------------------------------------------------- execute with real GX
def test_passing_checks_push_detections_and_return_them(orders):
    op = ValidateDataOperator(task_id="validate", data=orders, expect=[NOT_NULL_QTY, PRICE_MEAN])
    context = fake_context()

    returned = op.execute(context)

    pushed = context["ti"].pushed[DETECTIONS_KEY]
    assert pushed == returned
    assert [d["check"] for d in pushed] == [
        "expect_column_values_to_not_be_null:qty",
        "expect_column_mean_to_be_between:price",
    ]
    assert all(d["passed"] for d in pushed)
    assert {(d["dag_id"], d["run_id"], d["task_id"]) for d in pushed} == {("orders", "manual__2026-01-01", "validate")}


def test_a_failed_critical_check_is_pushed_before_raising(orders):
    op = ValidateDataOperator(
        task_id="validate",
        data=orders.assign(qty=orders["qty"].where(orders.index % 5 != 0)),
        expect=[NOT_NULL_QTY, PRICE_MEAN],
    )
    context = fake_context()

    with pytest.raises(ChaosDetectionFailed) as raised:
        op.execute(context)

    message = str(raised.value)
    assert "expect_column_values_to_not_be_null:qty [completeness]" in message
    assert f"XCom '{DETECTIONS_KEY}' of task 'validate'" in message
    pushed = context["ti"].pushed[DETECTIONS_KEY]
    failed = [d for d in pushed if not d["passed"]]
    assert [d["signals"] for d in failed] == [["completeness"]]
    assert failed[0]["observed"]["unexpected_count"] == 60


@pytest.mark.parametrize(("engine", "ran"), [("auto", "native"), ("native", "native"), ("gx", "gx")])
def test_the_detections_say_which_engine_ran(orders, engine, ran):
    op = ValidateDataOperator(task_id="validate", data=orders, expect=[NOT_NULL_QTY, PRICE_MEAN], engine=engine)
    detections = op.execute(fake_context())
    assert [d["observed"]["engine"] for d in detections] == [ran, ran] and all(d["passed"] for d in detections)


def test_warning_failures_do_not_fail_the_task(orders):
    op = ValidateDataOperator(
        task_id="validate",
        data=orders,
        expect={
            "type": "expect_column_mean_to_be_between",
            "column": "price",
            "max_value": 1,
            "meta": {"severity": "warning"},
        },
    )
    (detection,) = op.execute(fake_context())
    assert not detection["passed"] and detection["severity"] == "warning"


def test_fail_task_false_records_without_raising(orders):
    op = ValidateDataOperator(task_id="validate", data=orders, required_columns=["sku"], fail_task=False)
    (detection,) = op.execute(fake_context())
    assert detection["check"] == "required_columns" and not detection["passed"]


def test_gx_objects_suites_arrow_and_records(gx, orders):
    suite = gx.ExpectationSuite(name="orders")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeBetween(column="qty", min_value=1, max_value=5))
    single = gx.expectations.ExpectTableRowCountToEqual(value=300)
    for data in (orders, pa.Table.from_pandas(orders), orders.to_dict(orient="records")):
        for expect in (single, [single, suite], suite):
            detections = ValidateDataOperator(task_id="validate", data=data, expect=expect).execute(fake_context())
            assert detections and all(d["passed"] for d in detections)


def test_required_columns_combine_with_expectations(orders):
    op = ValidateDataOperator(
        task_id="validate", data=orders, required_columns=["order_id", "price"], expect=NOT_NULL_QTY
    )
    detections = op.execute(fake_context())
    assert [d["check"] for d in detections] == ["required_columns", "expect_column_values_to_not_be_null:qty"]


def test_profile_from_a_reference_file_catches_a_shift(orders, tmp_path):
    reference = tmp_path / "reference.parquet"
    orders.to_parquet(reference)
    op = ValidateDataOperator(
        task_id="validate", data=orders.assign(price=orders["price"] * 3), profile_from=str(reference)
    )
    context = fake_context()
    with pytest.raises(ChaosDetectionFailed, match="expect_column_mean_to_be_between:price"):
        op.execute(context)
    failed = {s for d in context["ti"].pushed[DETECTIONS_KEY] if not d["passed"] for s in d["signals"]}
    assert "distribution" in failed


def test_unreadable_reference_names_the_field(orders, tmp_path):
    op = ValidateDataOperator(task_id="validate", data=orders, profile_from=str(tmp_path / "missing.parquet"))
    with pytest.raises(ChaosConfigError, match="field 'profile_from'"):
        op.execute(fake_context())


# ---------------------------------------------------------------------- files and changed formats
def _parquet(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame), sink)
    return sink.getvalue()


def test_a_file_is_read_and_validated_with_a_passed_format_detection(orders, tmp_path):
    path = tmp_path / "orders.parquet"
    path.write_bytes(_parquet(orders))
    detections = ValidateDataOperator(task_id="validate", data=str(path), expect=NOT_NULL_QTY).execute(fake_context())
    assert [(d["check"], d["passed"]) for d in detections] == [
        ("readable_as_parquet", True),
        ("expect_column_values_to_not_be_null:qty", True),
    ]


def test_a_file_url_goes_through_object_storage(orders, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(orders.to_csv(index=False))
    op = ValidateDataOperator(task_id="validate", data=f"file://{path}", required_columns=["qty"])
    detections = op.execute(fake_context())
    assert [(d["check"], d["passed"]) for d in detections] == [("readable_as_csv", True), ("required_columns", True)]


@pytest.mark.parametrize(
    ("name", "content", "check"),
    [
        ("orders.csv", b'[{"order_id": 1, "qty": 2}]', "readable_as_csv"),  # CSV that is really JSON
        ("orders.parquet", b"order_id,qty\n1,2\n", "readable_as_parquet"),  # Parquet that is really CSV
        ("orders.parquet", None, "readable_as_parquet"),  # truncated Parquet
        ("orders.json", b"", "readable_as_json"),  # empty
    ],
)
def test_a_changed_format_fails_the_task_loudly(orders, tmp_path, name, content, check):
    path = tmp_path / name
    path.write_bytes(content if content is not None else _parquet(orders)[:-100])
    op = ValidateDataOperator(task_id="validate", data=str(path), expect=NOT_NULL_QTY)
    context = fake_context()

    with pytest.raises(ChaosDetectionFailed, match=f"{check} \\[format\\]"):
        op.execute(context)

    (detection,) = context["ti"].pushed[DETECTIONS_KEY]
    assert detection["check"] == check and not detection["passed"] and detection["signals"] == ["format"]


def test_a_missing_file_fails_on_freshness_and_volume(tmp_path):
    op = ValidateDataOperator(task_id="validate", data=str(tmp_path / "late.csv"), required_columns=["qty"])
    with pytest.raises(ChaosDetectionFailed, match=r"file_exists \[freshness,volume\]"):
        op.execute(fake_context())


# ---------------------------------------------------------------------- the native path stays light
def test_required_columns_only_never_imports_great_expectations():
    code = """
import sys
from tests.unit.operators.test_validation import fake_context
from airflow_chaos.operators.validation import ValidateDataOperator
op = ValidateDataOperator(task_id="validate", data=[{"qty": 1}], required_columns=["qty"])
assert op.execute(fake_context())[0]["passed"]
assert "great_expectations" not in sys.modules, "the native path imported great_expectations"
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(ROOT))
