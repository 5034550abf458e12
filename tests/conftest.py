"""Test harness: a temporary AIRFLOW_HOME with a migrated SQLite DB and a DAG folder, set up before Airflow loads."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="airflow-chaos-test-"))
_DAGS = _HOME / "dags"
_DAGS.mkdir()
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(_DAGS),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CHAOS__JOURNAL_PATH": str(_HOME / "journal"),
    }
)
os.environ.pop("AIRFLOW__CHAOS__ENABLED", None)

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

pytest_plugins = ["tests.harness"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    return _HOME


@pytest.fixture(scope="session")
def dags_folder() -> Path:
    return _DAGS


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """Put back the process environment a test changed, directly or through tasks ``dag.test()`` ran
    in this process (an example DAG's task may set ``MLFLOW_HTTP_REQUEST_*`` for its own run, as a
    worker process would): the next test sees the environment it would see alone. Changes made by
    module and session fixtures (set up before this one) stay for their scope."""
    before = dict(os.environ)
    yield
    if dict(os.environ) != before:
        os.environ.clear()
        os.environ.update(before)


_SQLITE_CODECS = (dict(sqlite3.adapters), dict(sqlite3.converters))  # Python's own, before any test


@pytest.fixture(autouse=True)
def _undo_pandas_sqlite_codecs() -> Iterator[None]:
    """Take back the sqlite3 codecs pandas registered. ``DataFrame.to_sql`` on a sqlite3 connection
    swaps the process-wide datetime adapters and converters for ISO strings; a later test of the same
    worker would then have Feast write rows its own converter cannot read. In Airflow each task is a
    process of its own, so after every test (and whatever module fixture ran before it) pandas'
    codecs give way to Python's, and to Feast's once Feast's SQLite store is loaded, as in a fresh
    worker (see tests/unit/test_test_isolation.py)."""
    yield
    touched = False
    for registry, base in zip((sqlite3.adapters, sqlite3.converters), _SQLITE_CODECS, strict=True):
        for key, codec in list(registry.items()):
            if getattr(codec, "__module__", "") == "pandas.io.sql":
                touched = True
                if key in base:
                    registry[key] = base[key]
                else:
                    del registry[key]
    if touched:
        from airflow_chaos.faults.features import use_feast_sqlite_codecs

        use_feast_sqlite_codecs()  # a no-op until Feast's SQLite store is imported (which registers them)


#: The longest test files (over a minute each on 2 cores), run first: under ``pytest -n 2 --dist loadfile
#: --no-loadscope-reorder`` (make test; xdist would otherwise order files by their number of tests)
#: each file goes whole to one worker, so a long file started last would leave the other worker idle.
SLOW_FIRST = (
    "tests/integration/test_resilience_suite.py",
    "tests/integration/test_scheduler_e2e.py",
    "tests/unit/experiment/test_journal_crash.py",
    "tests/unit/checks/test_parity_native.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}

    def key(item: pytest.Item) -> int:
        return rank.get(Path(str(item.path)).relative_to(ROOT).as_posix(), len(SLOW_FIRST))

    items.sort(key=key)  # stable: the other files keep their order


#: Lines a test reports with ``record_property("summary", line)``, printed at the end of the run.
SUMMARY = "summary"
_summaries: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the summary lines. Under xdist this runs in the controller too, on the workers' reports, whose
    ``user_properties`` travel with them; a worker's own printed output never reaches the terminal."""
    if report.when == "call":
        _summaries.extend(str(value) for key, value in report.user_properties if key == SUMMARY)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _summaries:
        terminalreporter.section("airflow-chaos measurements")
        for line in _summaries:
            terminalreporter.write_line(line)
