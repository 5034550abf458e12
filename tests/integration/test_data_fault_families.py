"""Each table fault family through real Airflow (dag.test on SQLite) and real Great Expectations.

For every family a DAG ``produce (armed) -> validate (ValidateDataOperator) -> assert_detected`` runs
twice: with the expectations that cover the family's signal the injections are DETECTED; with those
expectations removed (only unrelated ones left, which stay green) they are SILENT and
``assert_detected`` fails the run. The DAG source is written per run from one template, with the
expectation list as a module-level constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

pytestmark = pytest.mark.integration

DAG_TEMPLATE = """
from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateDataOperator

EXPECT = {expect!r}


def orders():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 1000
    return pd.DataFrame(
        {{
            "order_id": np.arange(n),
            "ts": pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC"),
            "price": rng.normal(10.0, 2.0, n).clip(1.0, 30.0),
            "qty": rng.integers(1, 6, n),
            "status": rng.choice(["new", "paid", "shipped"], n),
        }}
    )


@dag(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test", "chaos"])
def family():
{producer}
    validate = ValidateDataOperator(task_id="validate", data=produced, expect=EXPECT)
    validate >> AssertDetectedOperator(task_id="assert_detected")


family()
"""

WRAPPED = """
    @task
    def produce():
        return orders()

    produced = chaos(produce(), {faults}, seed=7)
"""

DECORATED = """
    @task.chaos(faults=[{faults}], seed=7)
    def produce():
        return orders()

    produced = produce()
"""

ROW_COUNT = {"type": "expect_table_row_count_to_be_between", "min_value": 900, "max_value": 1100}
ORDER_ID_NOT_NULL = {"type": "expect_column_values_to_not_be_null", "column": "order_id"}


@dataclass(frozen=True)
class Family:
    faults: str  # Python source of the faults, as written in a DAG file
    kinds: tuple[str, ...]  # the fault kinds armed, in order
    detect: tuple[dict, ...]  # expectations covering the family's signal
    other: tuple[dict, ...]  # expectations on other signals, green under these faults
    decorated: bool = False  # arm with @task.chaos instead of chaos(...)


FAMILIES = {
    "schema": Family(
        faults=(
            'faults.DropColumn(column="status"), faults.RenameColumn(column="price", to="unit_price"), '
            'faults.CastColumn(column="qty", to_type="string")'
        ),
        kinds=("drop_column", "rename_column", "cast_column"),
        detect=(
            {"type": "expect_column_to_exist", "column": "status"},
            {"type": "expect_column_to_exist", "column": "price"},
            {"type": "expect_column_values_to_be_in_type_list", "column": "qty", "type_list": ["int64", "Int64"]},
        ),
        other=(ROW_COUNT, ORDER_ID_NOT_NULL),
    ),
    "completeness": Family(
        faults='faults.InjectNulls(column="qty", fraction=0.2)',
        kinds=("inject_nulls",),
        detect=({"type": "expect_column_values_to_not_be_null", "column": "qty"},),
        other=(ROW_COUNT, ORDER_ID_NOT_NULL),
        decorated=True,
    ),
    "validity": Family(
        faults='faults.OutOfRange(column="price", fraction=0.05, scale=100)',
        kinds=("out_of_range",),
        detect=({"type": "expect_column_values_to_be_between", "column": "price", "min_value": 0, "max_value": 50},),
        other=(ROW_COUNT, ORDER_ID_NOT_NULL),
    ),
    "distribution": Family(
        faults='faults.ShiftDistribution(column="price", mean_shift=1.0)',
        kinds=("shift_distribution",),
        detect=({"type": "expect_column_mean_to_be_between", "column": "price", "min_value": 9.5, "max_value": 10.5},),
        other=(ROW_COUNT, {"type": "expect_column_values_to_not_be_null", "column": "price"}),
        decorated=True,
    ),
    "volume": Family(
        faults="faults.TruncateRows(keep_fraction=0.5)",
        kinds=("truncate_rows",),
        detect=(ROW_COUNT,),
        other=(ORDER_ID_NOT_NULL, {"type": "expect_column_values_to_be_increasing", "column": "order_id"}),
    ),
    "ordering": Family(
        faults='faults.ShuffleRows(), faults.OutOfOrderTimestamps(column="ts", fraction=0.1)',
        kinds=("shuffle_rows", "out_of_order_timestamps"),
        detect=(
            {"type": "expect_column_values_to_be_increasing", "column": "order_id"},
            {"type": "expect_column_values_to_be_increasing", "column": "ts"},
        ),
        other=(ROW_COUNT, ORDER_ID_NOT_NULL),
    ),
}


def dag_source(dag_id: str, family: Family, expect: list[dict]) -> str:
    producer = (DECORATED if family.decorated else WRAPPED).format(faults=family.faults)
    return DAG_TEMPLATE.format(expect=expect, dag_id=dag_id, producer=producer.rstrip("\n"))


def run_family(dag_runner, name: str, expect: list[dict], variant: str):
    dag_id = f"chaos_family_{name}_{variant}"
    path = dag_runner.write(dag_id, dag_source(dag_id, FAMILIES[name], expect))
    return dag_runner.run(path, dag_id)


def test_the_template_renders_the_dag_each_family_needs():
    from airflow_chaos.faults import FaultContext
    from airflow_chaos.operators.chaos import armed_faults

    for name, family in FAMILIES.items():
        expect = [*family.detect, *family.other]
        namespace: dict = {}
        exec(compile(dag_source(f"chaos_family_{name}", family, expect), name, "exec"), namespace)
        dag = namespace["family"]()
        assert dag.dag_id == f"chaos_family_{name}"
        assert sorted(dag.task_ids) == ["assert_detected", "produce", "validate"], name
        assert dag.get_task("validate").upstream_task_ids == {"produce"}, name
        assert dag.get_task("assert_detected").upstream_task_ids == {"validate"}, name
        armed = armed_faults(dag.get_task("produce"))
        assert tuple(f.kind for f in armed) == family.kinds, name
        assert namespace["EXPECT"] == expect and dag.get_task("validate").expect == expect, name
        orders = namespace["orders"]()
        assert orders.shape == (1000, 5), name
        for fault in armed:  # the data has every column the family's faults need
            ctx = FaultContext(seed=7)
            fault.apply(orders, ctx)
            assert ctx.changes.get("rows_affected", 0) > 0, f"{name}: {fault.describe()} changed nothing"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_fault_family_is_detected_by_its_expectations(dag_runner, chaos_on, name):
    family = FAMILIES[name]
    result = run_family(dag_runner, name, [*family.detect, *family.other], "detected")

    assert result.task_states["produce"] == "success"
    assert result.task_states["validate"] == "failed"
    assert result.task_states["assert_detected"] == "success"
    assert result.state == "success"
    assert result.verdicts() == {f"produce:{kind}": "DETECTED" for kind in family.kinds}
    detections = result.xcom("validate", "chaos_detections")
    failed = {d["check"] for d in detections if not d["passed"]}
    wanted = {f"{e['type']}:{e['column']}" if "column" in e else e["type"] for e in family.detect}
    assert failed == wanted, f"failed {failed}, expected exactly {wanted}"
    assert result.report["score"] == 1.0


@pytest.mark.parametrize("name", list(FAMILIES))
def test_without_its_expectations_the_family_is_silent(dag_runner, chaos_on, name):
    family = FAMILIES[name]
    result = run_family(dag_runner, name, list(family.other), "silent")

    assert result.task_states["produce"] == "success"
    assert result.task_states["validate"] == "success"
    assert result.task_states["assert_detected"] == "failed"
    assert result.state == "failed"
    assert result.verdicts() == {f"produce:{kind}": "SILENT" for kind in family.kinds}
    detections = result.xcom("validate", "chaos_detections")
    assert len(detections) == len(family.other) and all(d["passed"] for d in detections)


FILE_DAG_TEMPLATE = """
from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateDataOperator

DATA_PATH = {path!r}


@dag(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test", "chaos"])
def file_family():
    @task
    def export():
        import pandas as pd

        frame = pd.DataFrame({{"order_id": range(500), "qty": [1 + i % 5 for i in range(500)]}})
        if DATA_PATH.endswith(".parquet"):
            frame.to_parquet(DATA_PATH)
        else:
            frame.to_csv(DATA_PATH, index=False)
        return DATA_PATH

    exported = chaos(export(), faults.{fault}, seed=7)
    validate = ValidateDataOperator(
        task_id="validate", data=exported, expect=[{{"type": "expect_column_values_to_not_be_null", "column": "qty"}}]
    )
    validate >> AssertDetectedOperator(task_id="assert_detected")


file_family()
"""


@pytest.mark.parametrize(
    ("name", "fault", "kind"),
    [
        ("orders.csv", 'SwapFormat(path=DATA_PATH, to="json")', "swap_format"),
        ("orders.parquet", 'SwapFormat(path=DATA_PATH, to="csv")', "swap_format"),
        ("orders.parquet", "TruncateFile(path=DATA_PATH, keep_fraction=0.5)", "truncate_file"),
        ("orders.csv", "CorruptBytes(path=DATA_PATH, fraction=0.05)", "corrupt_bytes"),
        ("orders.csv", "EmptyFile(path=DATA_PATH)", "empty_file"),
    ],
)
def test_a_file_whose_format_broke_fails_validation_loudly(dag_runner, chaos_on, tmp_path, name, fault, kind):
    dag_id = f"chaos_file_{kind}_{name.split('.')[1]}"
    source = FILE_DAG_TEMPLATE.format(path=str(tmp_path / name), dag_id=dag_id, fault=fault)
    result = dag_runner.run(dag_runner.write(dag_id, source), dag_id)

    assert result.task_states["export"] == "success"
    assert result.task_states["validate"] == "failed"
    assert result.task_states["assert_detected"] == "success"
    assert result.verdicts() == {f"export:{kind}": "DETECTED"}
    (detection,) = result.xcom("validate", "chaos_detections")
    assert detection["check"] == f"readable_as_{name.split('.')[1]}"
    assert detection["signals"] == ["format"] and not detection["passed"]
