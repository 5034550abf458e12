"""Great Expectations validation on 1M rows: bare GX against airflow-chaos's wrapping of it.

1. bare GX: what a user writes by hand (ephemeral context, pandas data source, batch, validate a
   suite of 6 expectations, SUMMARY results).
2. ``checks.expectations.validate_frame``: the same suite given as plain dicts, plus building the
   suite, matching results by id and converting them into JSON-safe Detections.
3. ``ValidateDataOperator.execute``: all of that plus stamping and pushing the Detections as XCom
   (to a fake task instance standing in for the Airflow runtime) and the pass/fail decision.

Goal: the operator's wrapping costs <= 10% over bare GX. Runs are interleaved; the verdict uses the
best of RUNS (the run least disturbed by other processes on a shared machine), medians are printed
too, and our own work around GX (suite in, Detections out) is also timed on its own, without the
validation, which is the noise-free measure of the overhead.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import time
from typing import Any

ROWS = 1_000_000
RUNS = 9
SPECS: list[dict[str, Any]] = [
    {"type": "expect_column_values_to_not_be_null", "column": "qty"},
    {"type": "expect_column_values_to_be_between", "column": "price", "min_value": 0, "max_value": 100},
    {"type": "expect_column_mean_to_be_between", "column": "price", "min_value": 9, "max_value": 11},
    {"type": "expect_column_values_to_be_in_set", "column": "status", "value_set": ["new", "paid", "shipped"]},
    {"type": "expect_table_row_count_to_be_between", "min_value": 900_000, "max_value": 1_100_000},
    {"type": "expect_column_values_to_be_increasing", "column": "order_id"},
]


def frame() -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "order_id": np.arange(ROWS),
            "ts": pd.date_range("2026-01-01", periods=ROWS, freq="s", tz="UTC"),
            "price": rng.normal(10.0, 2.0, ROWS),
            "qty": rng.integers(1, 6, ROWS),
            "status": rng.choice(["new", "paid", "shipped"], ROWS),
        }
    )


def bare_gx(df: Any) -> bool:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = gx.ExpectationSuite(name="bench")
    for spec in SPECS:
        kwargs = {k: v for k, v in spec.items() if k != "type"}
        suite.add_expectation(ExpectationConfiguration(type=spec["type"], kwargs=kwargs).to_domain_obj())
    batch = (
        context.data_sources.add_pandas("bench")
        .add_dataframe_asset("data")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": df})
    )
    return bool(batch.validate(suite, result_format="SUMMARY").success)


def wrapped_pure(df: Any) -> bool:
    from airflow_chaos.checks.expectations import validate_frame

    detections = validate_frame(df, SPECS)
    json.dumps([d.to_json() for d in detections])
    return all(d.passed for d in detections)


class _FakeTaskInstance:
    """Stands in for the Airflow runtime's task instance: ids and an XCom push."""

    dag_id, run_id, task_id, map_index = "bench", "bench_run", "validate", -1

    def xcom_push(self, key: str, value: Any) -> None:
        json.dumps(value)


def wrapped_operator(df: Any) -> bool:
    from airflow_chaos.operators.validation import ValidateDataOperator

    op = ValidateDataOperator(task_id="validate", data=df, expect=SPECS)
    return all(d["passed"] for d in op.execute({"ti": _FakeTaskInstance()}))  # type: ignore[arg-type]


def wrapping_alone(df: Any) -> float:
    """Our work around one GX validation, measured without the validation: suite in, Detections out."""
    from airflow_chaos.checks import expectations as ex

    context = ex.gx_context()
    suite, ids = ex.build_suite(SPECS, df)
    results = ex.run_suite(context, df, suite)
    start = time.perf_counter()
    ex.gx_context()
    ex.build_suite(SPECS, df)  # a second suite, as each validation builds one; the results match the first
    detections = ex.detections_from(results, ids, df)
    json.dumps([d.to_json() for d in detections])
    return time.perf_counter() - start


def timed(fn: Any, df: Any) -> float:
    start = time.perf_counter()
    assert fn(df), f"{fn.__name__}: the clean data failed validation"
    return time.perf_counter() - start


def main() -> None:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="chaos-bench-"))
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    logging.disable(logging.INFO)
    t0 = time.perf_counter()
    import great_expectations  # noqa: F401

    print(f"import great_expectations                 {time.perf_counter() - t0:8.2f} s (once per process)")
    df = frame()
    runners = {"bare GX": bare_gx, "validate_frame": wrapped_pure, "ValidateDataOperator": wrapped_operator}
    for fn in runners.values():  # warm up: first validations pay lazy imports and metric registration
        timed(fn, df)
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(RUNS):
        for name, fn in runners.items():
            samples[name].append(timed(fn, df))
    base, base_median = min(samples["bare GX"]), statistics.median(samples["bare GX"])
    print(f"rows {ROWS:,}, {len(SPECS)} expectations, SUMMARY, best of {RUNS} interleaved runs (median in brackets)")
    for name, values in samples.items():
        best, median = min(values), statistics.median(values)
        ratios = f"  ratio {best / base:.3f} ({median / base_median:.3f})  overhead {best / base - 1:+.1%}"
        print(f"{name:<24} {best:8.3f} s ({median:.3f} s){'' if name == 'bare GX' else ratios}")
    alone = statistics.median(wrapping_alone(df) for _ in range(RUNS))
    print(f"wrapping alone (suite in, Detections out) {alone * 1000:.1f} ms = {alone / base:.1%} of bare GX")
    ratio = min(samples["ValidateDataOperator"]) / base
    print(f"operator overhead over bare GX: {ratio - 1:+.1%}  goal <= +10%  {'OK' if ratio <= 1.10 else 'OVER'}")


if __name__ == "__main__":
    main()
