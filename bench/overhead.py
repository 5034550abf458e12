"""What airflow-chaos costs when it is installed but off.

0. Import cost at provider discovery (issue #15; goal < 5 ms, and no pydantic fault model built):
   a. ``import airflow_chaos`` in a fresh interpreter, timed around the import (CPU and wall), against
      an empty interpreter: the whole ``python -c 'import airflow_chaos'`` process against
      ``python -c 'pass'``;
   b. Airflow's provider discovery (``ProvidersManager().initialize_providers_list()``) in a fresh
      process with our ``apache_airflow_provider`` entry point against the same process with it
      hidden, and, inside the first, the time our entry point's load took.
   Run ``.venv/bin/python -m compileall -q airflow_chaos`` first: without bytecode every import
   compiles the sources (this environment sets PYTHONDONTWRITEBYTECODE=1).
1. Extra import time of ``airflow_chaos`` (package, faults, chaos(), operators, @task.chaos) over
   ``airflow.sdk`` as a DAG file uses it (``DAG``, ``BaseOperator``, ``dag``, ``task`` and
   ``task.python`` resolved; ``airflow.sdk`` alone is lazy and loads almost nothing), median of
   fresh interpreter runs. Goal: <= 30 ms.
2. Per-call cost of a disabled chaos wrapper against the bare ``execute`` of the same operator.
   Goal: <= 20 microseconds.
"""

from __future__ import annotations

import os
import resource
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


IMPORT_ALONE = """
import sys, time
c0, t0 = time.process_time(), time.perf_counter()
import airflow_chaos
c1, t1 = time.process_time(), time.perf_counter()
built = any(m in sys.modules for m in ("airflow_chaos.faults.base", "pydantic"))
print(f"ALONE {c1 - c0:.6f} {t1 - t0:.6f} {int(built)}")
"""
DISCOVERY = """
import functools, importlib, sys, time

hide, spent = sys.argv[1] == "without", []


class Timed:
    def __init__(self, entry_point):
        self.entry_point = entry_point
        self.group, self.name, self.value = entry_point.group, entry_point.name, entry_point.value

    def load(self):
        c0, t0 = time.process_time(), time.perf_counter()
        loaded = self.entry_point.load()
        function = lambda: loaded()  # noqa: E731 -- time the call too (discovery calls it at once)
        spent.append((time.process_time() - c0, time.perf_counter() - t0))
        return function

    def __str__(self):
        return str(self.entry_point)


class Ours:
    def __init__(self, dist):
        self.dist = dist

    def __getattr__(self, name):
        return getattr(self.dist, name)

    @functools.cached_property
    def entry_points(self):
        points = [e for e in self.dist.entry_points if not (hide and e.group == "apache_airflow_provider")]
        return [Timed(e) if e.group == "apache_airflow_provider" else e for e in points]


def hiding(listed):
    def distributions(**kwargs):
        for dist in listed(**kwargs):  # told apart by their .dist-info folder: parsing metadata costs seconds
            folder = getattr(getattr(dist, "_path", None), "name", "")
            yield Ours(dist) if folder.startswith("airflow_chaos-") else dist

    return distributions


for name in ("importlib.metadata", "importlib_metadata"):  # Airflow reads the backport on Python < 3.12
    metadata = importlib.import_module(name)
    metadata.distributions = hiding(metadata.distributions)
c0, t0 = time.process_time(), time.perf_counter()
import airflow  # discovers the providers (configuration reads theirs)
from airflow.providers_manager import ProvidersManager

manager = ProvidersManager()
manager.initialize_providers_list()
c1, t1 = time.process_time(), time.perf_counter()
assert ("airflow-chaos" in manager.providers) != hide, sorted(manager.providers)
ours = spent[0] if spent else (0.0, 0.0)
built = "airflow_chaos.faults.base" in sys.modules
print(f"DISCOVERY {c1 - c0:.6f} {t1 - t0:.6f} {ours[0]:.6f} {ours[1]:.6f} {int(built)}")
"""


def _probe(code: str, tag: str, *args: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code, *args], env=_env(), check=True, capture_output=True, text=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith(tag + " "))
    return [float(x) for x in line.split()[1:]]


def _process_seconds(code: str) -> float:
    """CPU seconds (user + system) of a whole ``python -c code`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], env=_env(), check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def discovery_cost(runs: int = RUNS) -> dict[str, float]:
    """Medians of the import and provider-discovery probes (seconds; ``built``: a fault model was built)."""
    _probe(IMPORT_ALONE, "ALONE")  # warm the file cache
    alone = [_probe(IMPORT_ALONE, "ALONE") for _ in range(runs)]
    empty = [_process_seconds("pass") for _ in range(runs)]
    whole = [_process_seconds("import airflow_chaos") for _ in range(runs)]
    with_us = [_probe(DISCOVERY, "DISCOVERY", "with") for _ in range(runs)]
    without = [_probe(DISCOVERY, "DISCOVERY", "without") for _ in range(runs)]
    med = statistics.median
    return {
        "import_cpu": med(a[0] for a in alone),
        "import_wall": med(a[1] for a in alone),
        "import_built": max(a[2] for a in alone),
        "process_extra": med(whole) - med(empty),
        "discovery_with_cpu": med(d[0] for d in with_us),
        "discovery_without_cpu": med(d[0] for d in without),
        "discovery_with_wall": med(d[1] for d in with_us),
        "discovery_without_wall": med(d[1] for d in without),
        "entry_point_cpu": med(d[2] for d in with_us),
        "entry_point_wall": med(d[3] for d in with_us),
        "discovery_built": max(d[4] for d in with_us),
    }


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


def report_discovery() -> None:
    d = discovery_cost()
    ms = 1000
    ok = d["entry_point_cpu"] * ms < 5 and d["import_cpu"] * ms < 5 and not (d["import_built"] or d["discovery_built"])
    print(f"import airflow_chaos, fresh interpreter  {d['import_cpu'] * ms:8.2f} ms CPU {d['import_wall'] * ms:8.2f} ms wall (median of {RUNS})")
    print(f"  whole process over an empty interpreter {d['process_extra'] * ms:8.2f} ms CPU (python -c 'import airflow_chaos' vs -c 'pass')")
    print(f"import airflow + provider discovery, with our provider {d['discovery_with_cpu'] * ms:8.1f} ms CPU {d['discovery_with_wall'] * ms:8.1f} ms wall")
    print(f"import airflow + provider discovery, without it        {d['discovery_without_cpu'] * ms:8.1f} ms CPU {d['discovery_without_wall'] * ms:8.1f} ms wall")
    difference = (d["discovery_with_cpu"] - d["discovery_without_cpu"]) * ms
    print(f"  difference                             {difference:8.1f} ms CPU (separate processes of ~3 s: noise is +-300 ms)")
    print(f"  our entry point's load, inside it      {d['entry_point_cpu'] * ms:8.2f} ms CPU {d['entry_point_wall'] * ms:8.2f} ms wall")
    print(f"  fault models built: {'yes' if d['import_built'] or d['discovery_built'] else 'none'}   goal < 5 ms, none built  {'OK' if ok else 'OVER'}")


def main() -> None:
    compiled = any(name.endswith(".pyc") for _, _, files in os.walk(os.path.join(os.path.dirname(__file__), "..", "airflow_chaos", "__pycache__")) for name in files)
    print(f"bytecode of airflow_chaos compiled: {'yes' if compiled else 'NO (run: python -m compileall -q airflow_chaos)'}")
    report_discovery()
    sdk, extra = import_cost()
    print(f"import airflow.sdk (DAG-file baseline)   {sdk * 1000:8.1f} ms (median of {RUNS})")
    print(f"extra import of airflow_chaos           {extra * 1000:8.1f} ms  goal <= 30 ms  ratio to sdk {extra / sdk:.3f}")
    t_bare, t_armed = wrapper_cost()
    print(f"bare execute()                          {t_bare * 1e6:8.2f} us per call")
    print(f"disabled chaos wrapper execute()        {t_armed * 1e6:8.2f} us per call")
    print(f"wrapper overhead when disabled          {(t_armed - t_bare) * 1e6:8.2f} us per call  goal <= 20 us  ratio {t_armed / t_bare:.2f}x")


if __name__ == "__main__":
    main()
