"""File, timing and partial-output faults through real Airflow (dag.test on SQLite).

Each family twice: with the check that should catch it (DETECTED) and without it (SILENT). Every
DAG ends in a ``ChaosRestoreOperator`` teardown; the files are asserted byte-identical (SHA-256)
after the run, also when the armed task failed. Sensor timeouts are a few seconds.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CSV = "order_id,price,qty\n1,9.5,1\n2,20.0,3\n3,3.25,2\n4,11.0,5\n"

HEADER = """
from datetime import datetime
from pathlib import Path

from airflow.sdk import dag, get_current_context, task

from airflow_chaos import chaos, faults
from airflow_chaos.records import Detection
from airflow_chaos.exceptions import ChaosDetectionFailed
from airflow_chaos.operators.assertion import AssertDetectedOperator
from airflow_chaos.operators.records import push_detections
from airflow_chaos.operators.restore import ChaosRestoreOperator
from airflow_chaos.sensors.freshness import DataFreshnessSensor, FileArrivalSensor

DATA = {data!r}
CSV = {csv!r}


def detect(check, signals, passed, **observed):
    push_detections(get_current_context(), [Detection(check=check, signals=signals, passed=passed, observed=observed)])
    if not passed:
        raise ChaosDetectionFailed(f"{{check}} failed: {{observed}}")


@task
def export(name="orders.csv"):
    Path(DATA, name).write_text(CSV)
    return str(Path(DATA, name))

"""


def sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def write_dag(dag_runner, dag_id: str, data_dir: Path, body: str) -> Path:
    source = HEADER.format(data=str(data_dir), csv=CSV) + textwrap.dedent(
        f'''
        @dag(dag_id="{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
        def build():
        '''
    )
    source += textwrap.indent(textwrap.dedent(body), "    ") + "\n\nbuild()\n"
    return dag_runner.write(dag_id, source)


def injection(result, task_id: str) -> dict:
    (record,) = result.xcom(task_id, "chaos_injections")
    return record


# ---------------------------------------------------------------------- format family
FORMAT_BODY = """
@task
def read_orders(path):
    import pandas as pd

    if not {checked}:
        return len(Path(path).read_bytes())  # no check: "it's there, ship it"
    try:
        columns = [str(c) for c in pd.read_csv(path).columns]
    except Exception as exc:
        columns = [f"unreadable: {{exc}}"]
    detect("orders_csv_readable", ["format"], columns == ["order_id", "price", "qty"], columns=columns)

exported = chaos(
    export.override(task_id="export")(),
    faults.SwapFormat(path=DATA + "/{{{{ params.name }}}}", to="json"),
    seed=3,
)
assert_detected = AssertDetectedOperator(task_id="assert_detected")
read_orders(exported) >> assert_detected >> ChaosRestoreOperator(task_id="chaos_restore").as_teardown()
"""


def _format_dag(dag_runner, dag_id, data_dir, checked):
    body = FORMAT_BODY.format(checked=checked)
    body = body.replace("@task\ndef read_orders", "@task\ndef read_orders", 1)
    path = write_dag(dag_runner, dag_id, data_dir, body)
    # params drive the templated fault path
    text = path.read_text().replace("catchup=False)", 'catchup=False, params={"name": "orders.csv"})', 1)
    path.write_text(text)
    return path


def test_swap_format_is_detected_by_a_reader_check_and_restored(dag_runner, chaos_on, data_dir):
    result = dag_runner.run(_format_dag(dag_runner, "files_format_checked", data_dir, True), "files_format_checked")

    assert result.task_states["export"] == "success"
    assert result.task_states["read_orders"] == "failed"
    assert result.verdicts() == {"export:swap_format": "DETECTED"}
    assert result.state == "success"
    changes = injection(result, "export")["changes"]
    assert changes["path"] == str(data_dir / "orders.csv")  # rendered from {{ params.name }}
    assert changes["format_before"] == "csv" and changes["format_after"] == "json"
    assert changes["sha256_before"] == sha(CSV) != changes["sha256_after"]
    assert sha((data_dir / "orders.csv").read_bytes()) == sha(CSV)
    assert [r["path"] for r in result.xcom("chaos_restore")] == [str(data_dir / "orders.csv")]


def test_swap_format_without_a_check_is_silent(dag_runner, chaos_on, data_dir):
    result = dag_runner.run(_format_dag(dag_runner, "files_format_silent", data_dir, False), "files_format_silent")

    assert result.task_states["read_orders"] == "success"
    assert result.verdicts() == {"export:swap_format": "SILENT"}
    assert result.task_states["assert_detected"] == "failed" and result.state == "failed"
    assert sha((data_dir / "orders.csv").read_bytes()) == sha(CSV)


# ---------------------------------------------------------------------- freshness family
SENSOR_BODY = """
wait = chaos(
    FileArrivalSensor(task_id="wait_for_orders", path=DATA + "/orders.csv", poke_interval=0.3, {sensor}),
    faults.HoldBackFile(path=DATA + "/orders.csv"{release}),
)
assert_detected = AssertDetectedOperator(task_id="assert_detected")
export() >> wait >> assert_detected >> ChaosRestoreOperator(task_id="chaos_restore").as_teardown()
"""


def _sensor_dag(dag_runner, dag_id, data_dir, sensor, release=""):
    return write_dag(dag_runner, dag_id, data_dir, SENSOR_BODY.format(sensor=sensor, release=release))


def _assert_missing_detected(result, data_dir):
    assert result.task_states["wait_for_orders"] == "failed"
    assert result.verdicts() == {"wait_for_orders:hold_back_file": "DETECTED"}
    assert result.state == "success"
    (detection,) = result.xcom("wait_for_orders", "chaos_detections")
    assert detection["passed"] is False and detection["signals"] == ["freshness", "volume"]
    assert detection["observed"]["exists"] is False
    assert sha((data_dir / "orders.csv").read_bytes()) == sha(CSV)  # restored by the teardown
    assert [r["op"] for r in result.xcom("chaos_restore")] == ["move"]


def test_held_back_file_is_detected_by_the_arrival_sensor(dag_runner, chaos_on, data_dir):
    path = _sensor_dag(dag_runner, "files_hold_back_sensor", data_dir, "timeout=1.5")
    result = dag_runner.run(path, "files_hold_back_sensor")
    _assert_missing_detected(result, data_dir)
    changes = injection(result, "wait_for_orders")["changes"]
    assert changes["sha256_before"] == sha(CSV) and changes["bytes_before"] == len(CSV)


def test_held_back_file_is_detected_by_the_deferrable_sensor(dag_runner, chaos_on, data_dir):
    """dag.test() runs the trigger in-process: the sensor defers, the trigger times out, execute_complete records."""
    path = _sensor_dag(dag_runner, "files_hold_back_deferrable", data_dir, "timeout=1.5, deferrable=True")
    result = dag_runner.run(path, "files_hold_back_deferrable")
    _assert_missing_detected(result, data_dir)


def test_late_release_is_detected_against_the_arrival_sla(dag_runner, chaos_on, data_dir):
    path = _sensor_dag(dag_runner, "files_late_release", data_dir, "timeout=20, arrival_sla=0.5", ", release_after=1.5")
    result = dag_runner.run(path, "files_late_release")

    assert result.task_states["wait_for_orders"] == "failed"
    assert result.verdicts() == {"wait_for_orders:hold_back_file": "DETECTED"}
    (detection,) = result.xcom("wait_for_orders", "chaos_detections")
    assert detection["observed"]["late"] is True and detection["signals"] == ["freshness"]
    assert 1.0 <= detection["observed"]["waited_seconds"] < 20
    assert injection(result, "wait_for_orders")["changes"]["released_at"] is not None
    assert sha((data_dir / "orders.csv").read_bytes()) == sha(CSV)
    assert result.xcom("chaos_restore") == []  # released during the run: nothing left to restore


def test_late_release_within_timeout_in_reschedule_mode(dag_runner, chaos_on, data_dir):
    """Across reschedules the fault resumes its journal entry and releases the file once it is due."""
    path = _sensor_dag(
        dag_runner,
        "files_late_reschedule",
        data_dir,
        'timeout=30, mode="reschedule", arrival_sla=0.5',
        ", release_after=2",
    )
    result = dag_runner.run(path, "files_late_reschedule")

    assert result.task_states["wait_for_orders"] == "failed"
    assert result.verdicts() == {"wait_for_orders:hold_back_file": "DETECTED"}
    (detection,) = result.xcom("wait_for_orders", "chaos_detections")
    assert detection["observed"]["late"] is True and detection["observed"]["exists"] is True
    changes = injection(result, "wait_for_orders")["changes"]
    assert changes["resumed"] is True  # the last poke ran in a later try, found the journal entry, released it
    assert sha((data_dir / "orders.csv").read_bytes()) == sha(CSV)


def test_held_back_file_without_a_sensor_is_silent(dag_runner, chaos_on, data_dir):
    body = """
    @task
    def load():
        path = Path(DATA, "orders.csv")
        return path.read_text().count("\\n") if path.exists() else 0  # quietly loads nothing

    loaded = chaos(load(), faults.HoldBackFile(path=DATA + "/orders.csv"))
    assert_detected = AssertDetectedOperator(task_id="assert_detected")
    export() >> loaded >> assert_detected >> ChaosRestoreOperator(task_id="chaos_restore").as_teardown()
    """
    result = dag_runner.run(write_dag(dag_runner, "files_hold_back_silent", data_dir, body), "files_hold_back_silent")

    assert result.xcom("load") == 0
    assert result.verdicts() == {"load:hold_back_file": "SILENT"}
    assert result.state == "failed"
    assert sha((data_dir / "orders.csv").read_bytes()) == sha(CSV)


DELAY_BODY = """
@task
def schedule():
    import time

    return time.time() + 6  # the producer's file is due 6 s after it is scheduled

exported = chaos(export(), faults.Delay(seconds=12))
schedule() >> exported
{check}
"""
DELAY_SENSOR = """
landed = FileArrivalSensor(
    task_id="orders_landed",
    path=DATA + "/orders.csv",
    due_by="{{ ti.xcom_pull(task_ids='schedule') }}",
    timeout=2,
    poke_interval=0.3,
)
exported >> landed >> AssertDetectedOperator(task_id="assert_detected")
"""


@pytest.mark.parametrize(("checked", "verdict"), [(True, "DETECTED"), (False, "SILENT")])
def test_delayed_producer_against_a_deadline(dag_runner, chaos_on, data_dir, checked, verdict):
    """Delay on the producer: its file lands after the (templated) deadline; the sensor sees it is late."""
    check = DELAY_SENSOR if checked else 'exported >> AssertDetectedOperator(task_id="assert_detected")'
    dag_id = f"timing_delay_{verdict.lower()}"
    result = dag_runner.run(write_dag(dag_runner, dag_id, data_dir, DELAY_BODY.format(check=check)), dag_id)

    assert result.verdicts() == {"export:delay": verdict}
    assert injection(result, "export")["changes"]["delayed_seconds"] >= 12
    if checked:
        assert result.task_states["orders_landed"] == "failed" and result.state == "success"
        detections = {d["check"]: d for d in result.xcom("orders_landed", "chaos_detections")}
        assert detections["file_arrival"]["passed"] is True  # it did arrive...
        late = detections["file_deadline"]  # ...but after its deadline
        assert late["passed"] is False and late["signals"] == ["freshness"] and late["observed"]["late_by_seconds"] >= 6
    else:
        assert result.state == "failed"


def test_deadline_is_met_without_chaos(dag_runner, data_dir):
    """Control for the Delay test: chaos off, the same DAG lands its file before the deadline."""
    dag_id = "timing_delay_control"
    result = dag_runner.run(write_dag(dag_runner, dag_id, data_dir, DELAY_BODY.format(check=DELAY_SENSOR)), dag_id)

    detections = {d["check"]: d for d in result.xcom("orders_landed", "chaos_detections")}
    assert detections["file_deadline"]["passed"] is True, detections["file_deadline"]["observed"]
    assert result.task_states["orders_landed"] == "success" and result.state == "success"


# ---------------------------------------------------------------------- partial output family
PARTIAL_BODY = """
@task
def extract():
    return [{{"order_id": i, "qty": i % 3}} for i in range(10)]

@task
def check_rows(rows):
    if {checked}:
        detect("row_count", ["volume", "completeness"], len(rows) == 10, rows=len(rows), expected=10)
    return len(rows)

rows = chaos(extract(), faults.PartialOutput(fraction=0.4))
check_rows(rows) >> AssertDetectedOperator(task_id="assert_detected")
"""


@pytest.mark.parametrize(("checked", "verdict", "state"), [(True, "DETECTED", "success"), (False, "SILENT", "failed")])
def test_partial_output_against_a_row_count_check(dag_runner, chaos_on, data_dir, checked, verdict, state):
    dag_id = f"timing_partial_{verdict.lower()}"
    result = dag_runner.run(write_dag(dag_runner, dag_id, data_dir, PARTIAL_BODY.format(checked=checked)), dag_id)

    assert result.verdicts() == {"extract:partial_output": verdict}
    assert result.state == state
    assert len(result.xcom("extract")) == 4
    changes = injection(result, "extract")["changes"]
    assert changes["rows_before"] == 10 and changes["rows_after"] == 4


# ---------------------------------------------------------------------- restore when the armed task fails
def test_files_are_restored_byte_identically_when_the_armed_task_fails(dag_runner, chaos_on, data_dir):
    body = """
    @task
    def export_all():
        for name in ("orders.csv", "customers.csv"):
            Path(DATA, name).write_text(CSV)

    @task
    def load():
        return Path(DATA, "orders.csv").read_text()  # raises: the file was held back

    exported = chaos(
        export_all(),
        faults.TruncateFile(path=DATA + "/customers.csv", keep_fraction=0.5),
        faults.CorruptBytes(path=DATA + "/customers.csv", n_bytes=8),
    )
    loaded = chaos(load(), faults.HoldBackFile(path=DATA + "/orders.csv"))
    exported >> loaded >> ChaosRestoreOperator(task_id="chaos_restore").as_teardown()
    """
    result = dag_runner.run(
        write_dag(dag_runner, "files_restore_on_failure", data_dir, body), "files_restore_on_failure"
    )

    assert result.task_states["load"] == "failed"
    assert result.task_states["chaos_restore"] == "success"
    assert result.state == "failed"
    records = result.xcom("export_all", "chaos_injections")
    assert [r["status"] for r in records] == ["injected", "injected"]
    assert records[1]["changes"]["sha256_before"] == records[0]["changes"]["sha256_after"]
    for name in ("orders.csv", "customers.csv"):
        assert sha((data_dir / name).read_bytes()) == sha(CSV), name
    assert sorted(r["op"] for r in result.xcom("chaos_restore")) == ["move", "rewrite", "rewrite"]


# ---------------------------------------------------------------------- the sensor without chaos, called directly
class _FakeTI:
    dag_id, run_id, task_id, map_index = "d", "r", "wait", -1

    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value


def test_on_time_file_pushes_a_passing_detection(data_dir):
    from airflow_chaos.sensors.freshness import FileArrivalSensor

    (data_dir / "orders.csv").write_text(CSV)
    ti = _FakeTI()
    sensor = FileArrivalSensor(task_id="wait", path=str(data_dir / "orders.csv"), arrival_sla=60, max_age=60, timeout=1)
    out = sensor.execute({"ti": ti})
    assert out["state"]["exists"] is True
    detections = ti.pushed["chaos_detections"]
    assert [(d["check"], d["passed"]) for d in detections] == [("file_arrival", True), ("file_freshness", True)]


def test_trigger_fires_on_arrival_and_on_timeout(data_dir):
    import asyncio
    import threading

    from airflow_chaos.triggers.file import FileArrivalTrigger

    target = data_dir / "late.csv"
    trigger = FileArrivalTrigger(path=str(target), poll_interval=0.05, timeout=5)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_chaos.triggers.file.FileArrivalTrigger"
    threading.Timer(0.3, lambda: target.write_text(CSV)).start()

    async def first(t):
        return await anext(t.run())

    event = asyncio.run(first(FileArrivalTrigger(**kwargs)))
    assert event.payload["status"] == "arrived" and event.payload["waited"] >= 0.25
    missing = FileArrivalTrigger(path=str(data_dir / "never.csv"), poll_interval=0.05, timeout=0.2)
    event = asyncio.run(first(missing))
    assert event.payload["status"] == "timeout" and event.payload["state"]["exists"] is False


def test_restore_operator_is_idempotent_and_fails_on_a_checksum_mismatch(tmp_path, data_dir):
    from airflow_chaos.exceptions import ChaosRestoreError
    from airflow_chaos.experiment.journal import Journal
    from airflow_chaos.operators.restore import ChaosRestoreOperator

    target = data_dir / "orders.csv"
    target.write_text(CSV)
    journal = Journal(tmp_path / "journal")
    labels = {"dag_id": _FakeTI.dag_id, "run_id": _FakeTI.run_id}
    journal.rewrite(target, lambda data: b"", injection_id="a", **labels)
    journal.move_aside(target, injection_id="b", **labels)
    journal.rewrite(data_dir / "other.csv", lambda data: b"x", injection_id="c", dag_id="d", run_id="another run")

    restore = ChaosRestoreOperator(task_id="chaos_restore", journal_path=str(tmp_path / "journal"))
    restored = restore.execute({"ti": _FakeTI()})
    assert [r["op"] for r in restored] == ["move", "rewrite"]  # newest first; the other run is left alone
    assert sha(target.read_bytes()) == sha(CSV)
    assert restore.execute({"ti": _FakeTI()}) == []
    assert (data_dir / "other.csv").read_bytes() == b"x"

    entry = journal.rewrite(target, lambda data: data[:5], injection_id="d", **labels)
    (tmp_path / "journal" / "backups" / entry.id).write_bytes(b"tampered")
    with pytest.raises(ChaosRestoreError, match="checksum"):
        restore.execute({"ti": _FakeTI()})


def test_sensor_arguments_are_validated_at_parse_time():
    from datetime import datetime, timezone

    from airflow_chaos.exceptions import ChaosConfigError
    from airflow_chaos.sensors.freshness import DataFreshnessSensor, FileArrivalSensor, epoch_of

    with pytest.raises(ChaosConfigError, match="field 'due_by'"):
        FileArrivalSensor(task_id="a", path="/x", due_by="tomorrow-ish")
    with pytest.raises(ChaosConfigError, match="field 'max_age'"):
        DataFreshnessSensor(task_id="b", path="/x", max_age=-1)
    FileArrivalSensor(task_id="c", path="/x", due_by="{{ data_interval_end }}")  # rendered later
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert epoch_of(moment, "f", "o") == epoch_of("2026-01-01T00:00:00+00:00", "f", "o") == moment.timestamp()
    assert epoch_of(moment.replace(tzinfo=None), "f", "o") == moment.timestamp()
    assert epoch_of("1767225600.5", "f", "o") == 1767225600.5 and epoch_of(None, "f", "o") is None
