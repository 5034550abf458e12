"""A file dropped from outside the DAG, faulted *before* the task that reads it (``when="before"``).

The reader is ValidateDataOperator itself, armed with SwapFormat: the CSV it reads is JSON by then,
so it fails on the ``format`` signal (DETECTED); a teardown restores the input byte-identically.
"""

from __future__ import annotations

import hashlib

import pytest

pytestmark = pytest.mark.integration

SOURCE = """
from datetime import datetime

from airflow.sdk import dag

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ChaosRestoreOperator, ValidateDataOperator

INPUT = {path!r}


@dag(dag_id="input_fault", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    validate = ValidateDataOperator(task_id="validate", data=INPUT, required_columns=["id", "amount"])
    chaos(validate, faults.SwapFormat(path=INPUT, to="json", when="before"), seed=1)
    validate >> AssertDetectedOperator(task_id="assert_detected") >> ChaosRestoreOperator(task_id="restore").as_teardown()


build()
"""


def test_input_swapped_before_the_reader_runs_is_detected_and_restored(dag_runner, chaos_on, tmp_path):
    path = tmp_path / "drop" / "orders.csv"
    path.parent.mkdir()
    path.write_text("id,amount\n1,9.5\n2,20.0\n3,3.25\n")
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    result = dag_runner.run(dag_runner.write("input_fault", SOURCE.format(path=str(path))), "input_fault")

    assert result.task_states["validate"] == "failed"
    assert result.verdicts() == {"validate:swap_format": "DETECTED"}
    (rec,) = result.xcom("validate", "chaos_injections")
    assert rec["target"] == str(path) and rec["changes"]["sha256_before"] == before
    assert rec["changes"]["sha256_after"] != before
    detections = result.xcom("validate", "chaos_detections")
    assert any("format" in d["signals"] and not d["passed"] for d in detections)
    assert result.task_states["restore"] == "success"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_next_run_preflight_restores_what_a_run_without_teardown_left_behind(dag_runner, chaos_on, tmp_path):
    """Run 1 has no teardown, so its swapped input stays swapped; run 2's armed task restores it first."""
    from airflow_chaos import config
    from airflow_chaos.experiment.journal import Journal

    path = tmp_path / "drop" / "orders.csv"
    path.parent.mkdir()
    original = b"id,amount\n1,9.5\n2,20.0\n"
    path.write_bytes(original)
    source = SOURCE.format(path=str(path)).replace(' >> ChaosRestoreOperator(task_id="restore").as_teardown()', "")
    dag_file = dag_runner.write("input_fault", source)

    first = dag_runner.run(dag_file, "input_fault")
    assert path.read_bytes() != original  # no teardown: still faulted after run 1
    journal = Journal(config.journal_root())
    assert [e.run_id for e in journal.pending(dag_id="input_fault")] == [first.run_id]

    second = dag_runner.run(dag_file, "input_fault")
    (rec,) = second.xcom("validate", "chaos_injections")
    assert rec["changes"]["sha256_before"] == hashlib.sha256(original).hexdigest()  # restored before run 2 faulted it
    assert [e.run_id for e in journal.pending(dag_id="input_fault")] == [second.run_id]
    journal.restore(dag_id="input_fault")
    assert path.read_bytes() == original


def test_preflight_leaves_a_still_running_run_alone(dag_runner, chaos_on, tmp_path):
    """Another run of the same DAG that is still running may be holding a file back: not ours to undo."""
    from datetime import datetime, timezone

    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    from airflow_chaos import config
    from airflow_chaos.experiment.journal import Journal

    path = tmp_path / "drop" / "orders.csv"
    path.parent.mkdir()
    path.write_bytes(b"id,amount\n1,9.5\n")
    dag_file = dag_runner.write("input_fault", SOURCE.format(path=str(path)))
    dag_runner.run(dag_file, "input_fault")  # serializes the DAG; its own teardown restores

    other = tmp_path / "held.csv"
    other.write_bytes(b"held by a running experiment")
    now = datetime.now(timezone.utc)
    with create_session() as session:
        SerializedDagModel.get_dag("input_fault", session=session).create_dagrun(
            run_id="manual__still_running",
            logical_date=None,
            run_after=now,
            run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.TEST,
            state=DagRunState.RUNNING,
            session=session,
        )
    journal = Journal(config.journal_root())
    journal.move_aside(other, dag_id="input_fault", run_id="manual__still_running")

    dag_runner.run(dag_file, "input_fault")

    assert not other.exists()  # the running run's held-back file stayed held back
    assert [e.run_id for e in journal.pending(dag_id="input_fault")] == ["manual__still_running"]
    journal.restore(run_id="manual__still_running")
    assert other.read_bytes() == b"held by a running experiment"


PREFLIGHT_SOURCE = """
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults

IN = {path!r}


@dag(dag_id="preflight_cas", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def read_input():
        with open(IN) as fh:
            return len(fh.read().splitlines())

    chaos(read_input(), faults.EmptyFile(path=IN, when="before"), dry_run={dry_run})


build()
"""


@pytest.mark.parametrize("guard", ["kill_switch", "dry_run", "production"])
def test_defect_1_preflight_never_overwrites_fresh_data(dag_runner, chaos_on, tmp_path, monkeypatch, guard):
    """Issue #7, defect 1: run 1 empties IN and has no teardown; upstream then writes new rows to IN;
    run 2 (kill switch on, dry run, or environment=production) must keep the new rows and report the
    old journal entry ``superseded``, not "restore" the stale backup over them."""
    from airflow_chaos import config
    from airflow_chaos.experiment.journal import Journal

    path = tmp_path / "in" / "orders.csv"
    path.parent.mkdir()
    path.write_bytes(b"id,amount\n1,9.5\n")
    first = dag_runner.run(
        dag_runner.write("preflight_cas", PREFLIGHT_SOURCE.format(path=str(path), dry_run=False)), "preflight_cas"
    )
    assert first.state == "success" and path.read_bytes() == b""  # faulted, no teardown
    journal = Journal(config.journal_root())
    [entry] = journal.pending(dag_id="preflight_cas")

    fresh = b"id,amount\n1,9.5\n2,20.0\n3,3.25\n"
    path.write_bytes(fresh)  # upstream delivers new rows

    dry_run = guard == "dry_run"
    dag_file = dag_runner.write("preflight_cas", PREFLIGHT_SOURCE.format(path=str(path), dry_run=dry_run))
    if guard == "kill_switch":
        from airflow.models.variable import Variable

        Variable.set("chaos_kill_switch", "true")
    elif guard == "production":
        monkeypatch.setenv("AIRFLOW__CHAOS__ENVIRONMENT", "production")
    try:
        second = dag_runner.run(dag_file, "preflight_cas")
    finally:
        if guard == "kill_switch":
            Variable.delete("chaos_kill_switch")

    assert second.state == "success"
    assert path.read_bytes() == fresh  # the fresh rows survive
    assert second.xcom("read_input") == 4
    (rec,) = second.xcom("read_input", "chaos_injections")
    assert rec["status"] in ("skipped", "dry_run")  # the guard held: nothing injected in run 2
    assert journal.state_of(entry.id) == "superseded"
    assert journal.pending(dag_id="preflight_cas") == []


TEARDOWN_SOURCE = """
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import ChaosRestoreOperator

IN = {path!r}


@dag(dag_id="teardown_cas", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def read_input():
        with open(IN) as fh:
            return len(fh.read().splitlines())

    @task
    def redeliver():  # upstream writes new rows while the experiment runs
        with open(IN, "w") as fh:
            fh.write({fresh!r})

    read = chaos(read_input(), faults.EmptyFile(path=IN, when="before"))
    read >> redeliver() >> ChaosRestoreOperator(task_id="chaos_restore").as_teardown()


build()
"""


def test_defect_1_teardown_keeps_rows_written_since_the_fault(dag_runner, chaos_on, tmp_path, caplog):
    """Issue #7, defect 1, on the teardown path: the run empties IN, a later task of the same run writes
    new rows to it; the teardown must keep them, report the entry ``superseded`` and keep the backup."""
    from airflow_chaos import config
    from airflow_chaos.experiment.journal import Journal

    path = tmp_path / "in" / "orders.csv"
    path.parent.mkdir()
    original = b"id,amount\n1,9.5\n"
    path.write_bytes(original)
    fresh = "id,amount\n1,9.5\n2,20.0\n3,3.25\n"

    with caplog.at_level("WARNING"):
        result = dag_runner.run(
            dag_runner.write("teardown_cas", TEARDOWN_SOURCE.format(path=str(path), fresh=fresh)), "teardown_cas"
        )

    assert result.state == "success" and result.task_states["chaos_restore"] == "success"
    assert result.xcom("read_input") == 0  # the fault was real: the task read an empty file
    assert path.read_text() == fresh  # the teardown did not put the old bytes over the new rows
    [restored] = result.xcom("chaos_restore")
    assert restored["outcome"] == "superseded"
    journal = Journal(config.journal_root())
    assert journal.state_of(restored["id"]) == "superseded" and restored["path"] == str(path)
    assert (journal.backups_dir / restored["id"]).read_bytes() == original  # the original is kept, not deleted
    assert any("NOT restored" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)
