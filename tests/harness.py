"""Run real DAGs with ``dag.test()`` on the temporary SQLite metadata DB and read back states and XComs."""

from __future__ import annotations

import contextlib
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


@dataclass
class DagRunResult:
    """The outcome of one DAG run: final state, task states and XComs (deserialized)."""

    dag_id: str
    run_id: str
    state: str
    task_states: dict[str, str]
    xcoms: dict[tuple[str, str], Any] = field(default_factory=dict)

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_id, key))

    @property
    def report(self) -> dict[str, Any] | None:
        return self.xcom("assert_detected", "chaos_report")

    def verdicts(self) -> dict[str, str]:
        """``{task_id or task_id:kind: verdict}`` from the assert_detected report."""
        report = self.report or {"results": []}
        out = {}
        for r in report["results"]:
            out[f"{r['task_id']}:{r['kind']}"] = r["verdict"]
        return out


def _value(raw: Any) -> Any:
    from airflow.sdk.serde import deserialize

    try:
        return deserialize(raw)
    except (TypeError, ImportError, KeyError, ValueError):
        return raw


def _collect(dag_id: str, run_id: str) -> tuple[dict[str, str], dict[tuple[str, str], Any]]:
    # Test-side ORM access to read results back; task code never does this.
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id).all()
        states = {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): str(ti.state) for ti in tis}
        rows = session.query(XComModel).filter_by(dag_id=dag_id, run_id=run_id).all()
        xcoms = {(x.task_id, x.key): _value(XComModel.deserialize_value(x)) for x in rows}
    return states, xcoms


_MIGRATED = False


def _migrate() -> None:
    global _MIGRATED
    if not _MIGRATED:
        from airflow.utils.db import resetdb

        resetdb(skip_init=False)
        _MIGRATED = True


class DagRunner:
    def __init__(self, dags_folder: Path) -> None:
        self.dags_folder = dags_folder
        self.written: list[Path] = []

    def write(self, name: str, source: str) -> Path:
        path = self.dags_folder / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        self.written.append(path)
        return path

    def copy(self, source: Path) -> Path:
        path = self.dags_folder / source.name
        shutil.copy(source, path)
        self.written.append(path)
        return path

    def run(self, path: Path, dag_id: str, **test_kwargs: Any) -> DagRunResult:
        from airflow.dag_processing.dagbag import DagBag

        _migrate()
        bag = DagBag(dag_folder=str(path))
        assert not bag.import_errors, bag.import_errors
        dag = bag.dags[dag_id]
        dr = dag.test(**test_kwargs)
        states, xcoms = _collect(dag_id, dr.run_id)
        return DagRunResult(dag_id=dag_id, run_id=dr.run_id, state=str(dr.state), task_states=states, xcoms=xcoms)

    def cleanup(self) -> None:
        for path in self.written:
            path.unlink(missing_ok=True)


@pytest.fixture
def dag_runner(dags_folder: Path) -> Iterator[DagRunner]:
    runner = DagRunner(dags_folder)
    yield runner
    runner.cleanup()


@pytest.fixture
def chaos_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "true")


@contextlib.contextmanager
def loopback_server() -> Iterator[Any]:
    """A real HTTP server (pytest-httpserver) on 127.0.0.1 and a free port; register routes, then use it."""
    import logging

    from pytest_httpserver import HTTPServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()
