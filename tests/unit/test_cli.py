"""The ``airflow-chaos`` command, in-process: ``cli.main([...])`` with its output captured.

tests/integration/test_provider.py runs the installed script as a subprocess; these tests call the
same entry point directly so every branch is exercised (and counted) quickly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_chaos import cli
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.experiment.verdicts import build_report
from airflow_chaos.faults import DropColumn, Fault
from airflow_chaos.records import Detection, Injection, InjectionStatus


# ---------------------------------------------------------------------- faults and schema
def test_faults_lists_every_kind_with_signals_phase_and_params(capsys):
    assert cli.main(["faults"]) == 0
    lines = capsys.readouterr().out.splitlines()
    kinds = Fault.kinds()
    assert [line.split()[0] for line in lines] == list(kinds)
    drop = next(line for line in lines if line.startswith("drop_column "))
    assert "signals=schema " in drop and "phase=after " in drop and drop.endswith("params: path, column")
    http = next(line for line in lines if line.startswith("http_error "))
    assert "signals=api,volume,completeness" in http and "phase=around" in http


def test_schema_prints_the_json_schema_of_every_kind(capsys):
    assert cli.main(["schema"]) == 0
    schemas = json.loads(capsys.readouterr().out)
    assert set(schemas) == set(Fault.kinds())
    drop = schemas["drop_column"]
    assert drop["type"] == "object" and drop["required"] == ["column"]
    assert set(drop["properties"]) == {"path", "column"}
    assert schemas["inject_nulls"]["properties"]["mechanism"]["enum"] == ["MCAR", "MAR", "MNAR"]


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "airflow-chaos" in capsys.readouterr().err


# ---------------------------------------------------------------------- restore
def _mutated(tmp_path, name: str, dag_id: str = "d", run_id: str = "r"):
    target = tmp_path / name
    target.write_bytes(b"a,b\n1,2\n")
    Journal(tmp_path / "journal").rewrite(target, lambda _: b"", dag_id=dag_id, run_id=run_id)
    assert target.read_bytes() == b""
    return target


def test_restore_puts_back_what_the_journal_holds(tmp_path, capsys):
    target = _mutated(tmp_path, "orders.csv")
    assert cli.main(["restore", "--journal", str(tmp_path / "journal")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert target.read_bytes() == b"a,b\n1,2\n"
    assert out[0].split()[:2] == ["restored", "rewrite"] and out[0].endswith("orders.csv")
    assert out[-1] == f"1 mutation(s) restored, 0 superseded, from {tmp_path / 'journal'}"

    assert cli.main(["restore", "--journal", str(tmp_path / "journal")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 mutation(s) restored, 0 superseded")


def test_restore_filters_by_dag_and_run(tmp_path, capsys):
    mine = _mutated(tmp_path, "mine.csv", dag_id="mine", run_id="r1")
    other_dag = _mutated(tmp_path, "other_dag.csv", dag_id="other", run_id="r1")
    other_run = _mutated(tmp_path, "other_run.csv", dag_id="mine", run_id="r2")
    assert cli.main(["restore", "--journal", str(tmp_path / "journal"), "--dag-id", "mine", "--run-id", "r1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 mutation(s) restored")
    assert mine.read_bytes() == b"a,b\n1,2\n"
    assert other_dag.read_bytes() == b"" and other_run.read_bytes() == b""


def test_restore_leaves_a_file_written_since_the_fault(tmp_path, capsys):
    target = _mutated(tmp_path, "fresh.csv")
    target.write_bytes(b"a,b\n9,9\n")  # a new upstream run wrote the file again
    assert cli.main(["restore", "--journal", str(tmp_path / "journal")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert target.read_bytes() == b"a,b\n9,9\n"
    assert out[0].startswith("superseded") and "left as it is" in out[0]
    assert out[-1].startswith("0 mutation(s) restored, 1 superseded")


def test_restore_defaults_to_the_configured_journal(tmp_path, capsys, monkeypatch):
    target = _mutated(tmp_path, "orders.csv")
    monkeypatch.setenv("AIRFLOW__CHAOS__JOURNAL_PATH", str(tmp_path / "journal"))
    assert cli.main(["restore"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(f"from {tmp_path / 'journal'}")
    assert target.read_bytes() == b"a,b\n1,2\n"


# ---------------------------------------------------------------------- report
def test_report_without_a_report_exits_2(capsys):
    from tests.harness import _migrate

    _migrate()  # a real, empty metadata DB: the query runs and finds nothing
    assert cli.main(["report", "no_such_dag"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("airflow-chaos report: no chaos_report found for dag 'no_such_dag'")
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.out == ""


def test_report_prints_the_table_and_writes_json(tmp_path, capsys, monkeypatch):
    injection = Injection.for_fault(DropColumn(column="price"), InjectionStatus.INJECTED, task_id="transform")
    detection = Detection(check="required_columns", signals=["schema"], passed=False, task_id="validate")
    report = build_report([injection], [detection], {}, {"transform": ["validate"]}, dag_id="q", run_id="r1")
    asked = []

    def latest(dag_id, run_id):
        asked.append((dag_id, run_id))
        return report.to_json()

    monkeypatch.setattr(cli, "_latest_report", latest)
    output = tmp_path / "reports" / "q.json"
    assert cli.main(["report", "q", "--run-id", "r1", "--output", str(output)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert asked == [("q", "r1")]
    assert out[0] == "chaos verdicts for q / r1"
    assert "DETECTED" in out[3] and out[-2] == "resilience score: 100% (1 injected, 1 DETECTED)"
    assert out[-1] == f"report written to {output}"
    assert json.loads(output.read_text()) == report.to_json()


# ---------------------------------------------------------------------- a first miss (issue #8 item 10)
# Without the right AIRFLOW_HOME, `report` ended in a 63-line `no such table: xcom` traceback and
# `restore` silently created ~/airflow. Both now print one line naming AIRFLOW_HOME (and the
# Makefile's .airflow/) and exit 2. HOME points at a temporary directory, so that ~/airflow is one
# the test can watch.
@pytest.fixture
def no_airflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No AIRFLOW_HOME, no DB URL or journal path in the environment, and a HOME without ``airflow/``."""
    for name in ("AIRFLOW_HOME", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CHAOS__JOURNAL_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_issue8_item10_report_without_airflow_home_is_one_line_naming_it(no_airflow_home, capsys):
    assert cli.main(["report", "chaos_quickstart"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    line = _one_line(err)
    assert "AIRFLOW_HOME" in line and ".airflow/" in line
    assert "Traceback" not in line and "no such table" not in line
    assert not (no_airflow_home / "airflow").exists()


def test_issue8_item10_restore_without_airflow_home_creates_no_home(no_airflow_home, capsys):
    assert cli.main(["restore"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    line = _one_line(err)
    assert "AIRFLOW_HOME" in line and "--journal" in line and ".airflow/" in line
    assert not (no_airflow_home / "airflow").exists()


def test_restore_with_an_explicit_journal_needs_no_airflow_home(no_airflow_home, capsys):
    assert cli.main(["restore", "--journal", str(no_airflow_home / "journal")]) == 0

    assert "0 mutation(s) restored" in capsys.readouterr().out
    assert not (no_airflow_home / "airflow").exists()
