"""What airflow-chaos costs when it is installed but off.

1. Extra import time of ``airflow_chaos`` (package, faults, chaos(), operators, @task.chaos) over
   ``airflow.sdk`` as a DAG file uses it (``DAG``, ``BaseOperator``, ``dag``, ``task`` and
   ``task.python`` resolved; ``airflow.sdk`` alone is lazy and loads almost nothing), median of
   fresh interpreter runs. Goal: <= 30 ms.
2. Per-call cost of a disabled chaos wrapper against the bare ``execute`` of the same operator.
   Goal: <= 20 microseconds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import timeit

RUNS = 7
IMPORT_PROBE = """
import time
t0 = time.perf_counter()
import airflow.sdk
from airflow.sdk import DAG, BaseOperator, dag, task
task.python  # what any DAG file using @task loads (the standard provider's PythonOperator)
t1 = time.perf_counter()
import airflow_chaos
from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateDataOperator
import airflow_chaos.decorators
t2 = time.perf_counter()
print(f"IMPORT {t1 - t0:.6f} {t2 - t1:.6f}")
"""


def _env() -> dict[str, str]:
    home = tempfile.mkdtemp(prefix="chaos-bench-")
    env = dict(os.environ)
    env.update(AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__CORE__UNIT_TEST_MODE="True")
    env.pop("AIRFLOW__CHAOS__ENABLED", None)
    return env


def import_cost() -> tuple[float, float]:
    env = _env()
    sdk, extra = [], []
    subprocess.run([sys.executable, "-c", IMPORT_PROBE], env=env, check=True, capture_output=True)  # warm caches
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], env=env, check=True, capture_output=True, text=True)
        line = next(x for x in out.stdout.splitlines() if x.startswith("IMPORT "))
        a, b = (float(x) for x in line.split()[1:])
        sdk.append(a)
        extra.append(b)
    return statistics.median(sdk), statistics.median(extra)


def wrapper_cost() -> tuple[float, float]:
    os.environ.update(_env())
    from airflow.sdk import BaseOperator
    from airflow.sdk.bases.operator import ExecutorSafeguard

    from airflow_chaos import chaos, faults

    ExecutorSafeguard.test_mode = True  # allow calling execute() outside the task runner

    class Work(BaseOperator):
        def execute(self, context):
            return 1

    bare = Work(task_id="bare")
    armed = chaos(Work(task_id="armed"), faults.DropColumn(column="x"), faults.Delay(seconds=5))
    context: dict[str, object] = {}
    n = 200_000
    t_bare = min(timeit.repeat(lambda: bare.execute(context), number=n, repeat=5)) / n
    t_armed = min(timeit.repeat(lambda: armed.execute(context), number=n, repeat=5)) / n
    return t_bare, t_armed


def main() -> None:
    sdk, extra = import_cost()
    print(f"import airflow.sdk (DAG-file baseline)   {sdk * 1000:8.1f} ms (median of {RUNS})")
    print(f"extra import of airflow_chaos           {extra * 1000:8.1f} ms  goal <= 30 ms  ratio to sdk {extra / sdk:.3f}")
    t_bare, t_armed = wrapper_cost()
    print(f"bare execute()                          {t_bare * 1e6:8.2f} us per call")
    print(f"disabled chaos wrapper execute()        {t_armed * 1e6:8.2f} us per call")
    print(f"wrapper overhead when disabled          {(t_armed - t_bare) * 1e6:8.2f} us per call  goal <= 20 us  ratio {t_armed / t_bare:.2f}x")


if __name__ == "__main__":
    main()
