"""Test harness: a temporary AIRFLOW_HOME with a migrated SQLite DB and a DAG folder, set up before Airflow loads."""

from __future__ import annotations

import os
import shutil
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
