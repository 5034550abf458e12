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

from airflow_chaos.demo.progress import Group, Reporter, alive, groups_of, read_states


def _db(path, runs):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE dag_run (id INTEGER PRIMARY KEY, dag_id TEXT, run_id TEXT)")
    conn.execute("CREATE TABLE task_instance (dag_id TEXT, run_id TEXT, task_id TEXT, state TEXT)")
    for run_id, rows in runs:
        conn.execute("INSERT INTO dag_run (dag_id, run_id) VALUES ('suite', ?)", (run_id,))
        conn.executemany("INSERT INTO task_instance VALUES ('suite', ?, ?, ?)", [(run_id, t, s) for t, s in rows])
    conn.commit()
    conn.close()


def test_a_group_says_where_it_stopped():
    assert Group("a", {"a.x": "success", "a.y": "success"}).summary() == "all 2 tasks succeeded"
    stopped = Group("b", {"b.extract": "failed", "b.validate": "upstream_failed", "b.train": "upstream_failed"})
    assert stopped.summary() == "stopped at extract (failed); 2 tasks did not run"
    assert Group("assert_detected", {"assert_detected": "failed"}).summary() == "failed"
    assert not Group("c", {"c.x": "success", "c.y": "running"}).finished
    assert not Group("d").finished


def test_each_group_is_reported_once_when_it_has_finished():
    out = io.StringIO()
    reporter = Reporter(out)
    first = [
        ("control.a", "success"),
        ("control.b", "running"),
        ("api_500.a", "failed"),
        ("api_500.b", "upstream_failed"),
    ]
    assert [line.split()[2:4] for line in reporter.update(first)] == [["1/2", "api_500"]]
    assert reporter.update(first) == []
    (line,) = reporter.update([("control.a", "success"), ("control.b", "success"), *first[2:]])
    assert line.split()[2:] == ["2/2", "control", "all", "2", "tasks", "succeeded"]
    assert out.getvalue().count("\n") == 2


def test_groups_of_splits_on_the_first_dot():
    groups = groups_of([("g.t", "success"), ("g.sub.t", None), ("top", "success")])
    assert sorted(groups) == ["g", "top"] and sorted(groups["g"].states) == ["g.sub.t", "g.t"]


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
