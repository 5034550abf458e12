"""A new user's first miss (issue #8 items 9 and 10): `make demo` on the README's SILENT variant, and
`airflow-chaos report` pointed at the wrong Airflow home.

Item 9: `make demo` on the quickstart with "price" dropped from `required_columns` exited 2 with 50
log lines and a traceback, never printed the verdict table, and left `reports/quickstart.json`
holding the previous DETECTED run. Now it prints the table and one line saying what SILENT means and
what to add, writes the report of *this* run, and fails with the documented code of the demo's last
step (`airflow-chaos report --exit-code`: 1, a fault went SILENT), which make reports as `Error 1`
before exiting 2 as it does for any failed step.

The quickstart moved to `make quickstart` (issue #12: `make demo` runs the resilience suite now), with
the same exit codes. The `make quickstart` test runs the real Makefile (real `airflow db migrate`,
`airflow dags test` and `airflow-chaos report` subprocesses, about 45 s) on a temporary Airflow home, DAG folder and report
path given as make variables; `-o .venv/.installed` keeps make from re-syncing the venv the tests
run in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from airflow_chaos import cli

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
QUICKSTART = ROOT / "example_dags" / "quickstart.py"
pytestmark = pytest.mark.integration


def _silent_quickstart() -> str:
    """The README's SILENT variant: the quickstart with "price" dropped from ``required_columns``."""
    source = QUICKSTART.read_text()
    silent = source.replace(
        'required_columns=["order_id", "price", "qty", "revenue"]', 'required_columns=["order_id", "qty", "revenue"]'
    )
    assert silent != source
    return silent


def _user_env(**extra: str) -> dict[str, str]:
    """A user's shell: none of the test harness's AIRFLOW_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return {**env, **extra}


def test_issue8_item9_make_demo_on_the_silent_variant_prints_the_verdict_and_writes_this_run(tmp_path):
    make = shutil.which("make")
    assert make, "make is needed for `make demo`"
    home, dags, report = tmp_path / "airflow-home", tmp_path / "dags", tmp_path / "reports" / "quickstart.json"
    dags.mkdir()
    (dags / "quickstart.py").write_text(_silent_quickstart())
    report.parent.mkdir()
    report.write_text(json.dumps({"run_id": "an earlier run", "results": [{"verdict": "DETECTED"}]}))

    variables = [f"AIRFLOW_HOME_DIR={home}", f"DEMO_DAGS={dags}", f"QUICKSTART_REPORT={report}"]
    out = subprocess.run(
        [make, "--no-print-directory", "-o", ".venv/.installed", "quickstart", *variables],
        cwd=ROOT,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=500,
        check=False,
    )

    assert out.returncode == 2, out.stdout + out.stderr  # make's code for a failed step ...
    assert "quickstart] Error 1" in out.stderr, out.stderr  # ... whose own code 1 means: a fault went SILENT
    lines = out.stdout.splitlines()
    header = next(line for line in lines if line.startswith("chaos verdicts for chaos_quickstart / "))
    run_id = header.rsplit(" / ", 1)[1]
    assert run_id.startswith("manual__")
    table = lines[lines.index(header) + 1 :]
    assert table[0].split() == ["task", "fault", "signals", "verdict", "evidence"]
    assert table[2].split()[:4] == ["transform", "drop_column(column='price')", "schema", "SILENT"]
    assert "resilience score: 0% (1 injected, 1 SILENT)" in lines
    assert any(
        line.startswith("SILENT means the fault went in and every check stayed green")
        and "fails on schema downstream of 'transform'" in line
        for line in lines
    ), out.stdout
    assert f"report written to {report}" in lines
    saved = json.loads(report.read_text())
    assert saved["run_id"] == run_id
    assert [r["verdict"] for r in saved["results"]] == ["SILENT"]
    assert "Traceback" not in out.stdout + out.stderr


def test_issue8_item9_report_at_a_logical_date_is_that_runs_report(dag_runner, chaos_on, tmp_path, capsys):
    """Two runs of one DAG, DETECTED then SILENT: each --logical-date names its own run, whatever is newest."""
    detected_at = datetime(2031, 3, 1, tzinfo=timezone.utc)
    silent_at = datetime(2031, 3, 2, tzinfo=timezone.utc)
    detected = dag_runner.run(dag_runner.copy(QUICKSTART), "chaos_quickstart", logical_date=detected_at)
    assert detected.verdicts() == {"transform:drop_column": "DETECTED"}
    silent = dag_runner.run(
        dag_runner.write("quickstart", _silent_quickstart()), "chaos_quickstart", logical_date=silent_at
    )
    assert silent.state == "failed" and silent.verdicts() == {"transform:drop_column": "SILENT"}
    capsys.readouterr()

    output = tmp_path / "report.json"
    argv = ["report", "chaos_quickstart", "--exit-code", "--output", str(output)]
    assert cli.main([*argv, "--logical-date", silent_at.isoformat()]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"chaos verdicts for chaos_quickstart / {silent.run_id}\n")
    assert "SILENT means the fault went in" in out
    assert json.loads(output.read_text())["run_id"] == silent.run_id

    assert cli.main([*argv, "--logical-date", detected_at.isoformat()]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"chaos verdicts for chaos_quickstart / {detected.run_id}\n")
    assert "SILENT" not in out
    assert json.loads(output.read_text())["run_id"] == detected.run_id


def test_issue8_item9_report_at_a_logical_date_without_a_run_exits_2(dag_runner, capsys):
    from tests.harness import _migrate

    _migrate()
    assert cli.main(["report", "chaos_quickstart", "--logical-date", "2031-04-01T00:00:00+00:00", "--exit-code"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [
        "airflow-chaos report: dag 'chaos_quickstart' has no run at logical date 2031-04-01T00:00:00+00:00: "
        "the run never started"
    ]


def test_issue8_item10_report_on_a_home_without_airflow_tables_is_one_line(tmp_path):
    """`airflow-chaos report` in a fresh AIRFLOW_HOME (no migrated DB): was a 63-line `no such table: xcom` traceback."""
    out = subprocess.run(
        [str(BIN / "airflow-chaos"), "report", "chaos_quickstart"],
        env=_user_env(AIRFLOW_HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("airflow-chaos report: cannot read chaos runs from the Airflow metadata DB sqlite:///")
    assert "no such table: xcom" in lines[0]
    assert f"AIRFLOW_HOME={tmp_path}" in lines[0] and ".airflow/" in lines[0]
