"""make demo's progress lines: one per scenario as it finishes, read from an Airflow SQLite metadata DB.

The DB here is a stand-in with the two tables and the columns the reader uses (``dag_run``:
``id, dag_id, run_id``; ``task_instance``: ``dag_id, run_id, task_id, state``): a real Airflow DB is
exercised by ``make demo`` itself.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys

from airflow_chaos.demo.progress import Reporter, Stage, alive, read_states, stages_of


def _db(path, runs):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE dag_run (id INTEGER PRIMARY KEY, dag_id TEXT, run_id TEXT)")
    conn.execute("CREATE TABLE task_instance (dag_id TEXT, run_id TEXT, task_id TEXT, state TEXT)")
    for run_id, rows in runs:
        conn.execute("INSERT INTO dag_run (dag_id, run_id) VALUES ('suite', ?)", (run_id,))
        conn.executemany("INSERT INTO task_instance VALUES ('suite', ?, ?, ?)", [(run_id, t, s) for t, s in rows])
    conn.commit()
    conn.close()


def test_a_stage_names_the_scenarios_where_it_failed_or_never_ran():
    stage = Stage("validate", {"control": "success", "nulls": "failed", "api_500": "upstream_failed", "x": "success"})
    assert stage.summary() == "2 succeeded; failed in nulls; not run in api_500"
    assert Stage("train", {"control": "success"}).summary() == "1 succeeded"
    assert Stage("assert_detected", {"": "failed"}).summary() == "failed"
    assert not Stage("score", {"control": "success", "nulls": "running"}).finished
    assert not Stage("empty").finished


def test_each_stage_is_reported_once_when_it_has_finished_everywhere():
    out = io.StringIO()
    reporter = Reporter(out)
    first = [
        ("control.extract", "success"),
        ("api_500.extract", "failed"),
        ("control.train", "running"),
        ("api_500.train", "upstream_failed"),
    ]
    (line,) = reporter.update(first)
    assert line.split()[2:] == ["1/2", "extract", "1", "succeeded;", "failed", "in", "api_500"]
    assert reporter.update(first) == []
    (line,) = reporter.update([*first[:2], ("control.train", "success"), first[3]])
    assert line.split()[2:] == ["2/2", "train", "1", "succeeded;", "not", "run", "in", "api_500"]
    assert out.getvalue().count("\n") == 2


def test_stages_of_splits_on_the_last_dot():
    stages = stages_of([("g.t", "success"), ("h.t", None), ("top", "success"), ("g.sub.u", "failed")])
    assert sorted(stages) == ["t", "top", "u"]
    assert stages["t"].states == {"g": "success", "h": None} and stages["top"].states == {"": "success"}
    assert stages["u"].states == {"g.sub": "failed"}


def test_read_states_reads_the_newest_run_and_tolerates_a_missing_db(tmp_path):
    db = tmp_path / "airflow.db"
    _db(db, [("old", [("control.a", "failed")]), ("new", [("control.a", "success"), ("x.b", None)])])
    assert read_states(str(db), "suite") == [("control.a", "success"), ("x.b", None)]
    assert read_states(str(db), "other") == []
    assert read_states(str(tmp_path / "missing.db"), "suite") == []


def test_alive_follows_the_process():
    done = subprocess.run([sys.executable, "-c", "pass"], check=True)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert alive(process.pid) and alive(None)
    finally:
        process.kill()
        process.wait()
    assert not alive(process.pid)
    assert done.returncode == 0


def test_gate_exits_with_the_state_of_the_suites_judge_in_the_newest_run(tmp_path, capsys):
    """make demo exits with the suite's own gate: 0 when ``assert_detected`` succeeded (every SILENT a
    known gap), 1 when it failed (a new miss), 2 when it never ran."""
    from airflow_chaos.demo.progress import main

    db = tmp_path / "airflow.db"
    _db(db, [("old", [("assert_detected", "success")]), ("new", [("control.extract", "success"), ("assert_detected", "failed")])])
    assert main(["--db", str(db), "--dag", "suite", "--gate", "assert_detected"]) == 1
    assert "assert_detected: failed" in capsys.readouterr().out
    _db(db2 := tmp_path / "ok.db", [("r", [("assert_detected", "success")])])
    assert main(["--db", str(db2), "--dag", "suite", "--gate", "assert_detected"]) == 0
    assert "assert_detected: success" in capsys.readouterr().out
    _db(db3 := tmp_path / "none.db", [("r", [("control.extract", "upstream_failed")])])
    assert main(["--db", str(db3), "--dag", "suite", "--gate", "assert_detected"]) == 2
    assert "assert_detected: never ran" in capsys.readouterr().out
