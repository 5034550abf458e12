"""End to end through a real scheduler: `airflow standalone` (api-server, scheduler, dag-processor,
triggerer; LocalExecutor on SQLite) runs the quickstart in real worker processes, where the DAG file
is parsed again and the chaos wrapper must re-arm itself. Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _airflow(env, *args, timeout=120):
    out = subprocess.run([str(BIN / "airflow"), *args], env=env, capture_output=True, text=True, timeout=timeout)
    return out


def _json_rows(text: str) -> list[dict]:
    """The JSON list the CLI printed (Airflow may print warnings around it)."""
    for line in reversed(text.splitlines()):
        if line.startswith("[") and line.rstrip().endswith("]"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return []


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def standalone(tmp_path):
    home = tmp_path / "airflow"
    dags = home / "dags"
    dags.mkdir(parents=True)
    shutil.copy(ROOT / "example_dags" / "quickstart.py", dags / "quickstart.py")
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__CHAOS__ENABLED": "true",
        "AIRFLOW__CHAOS__JOURNAL_PATH": str(home / "journal"),
    }
    log = open(home / "standalone.log", "w")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(
        [str(BIN / "airflow"), "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield env
    finally:
        _stop_tree(proc)
        log.close()


def _stop_tree(proc: subprocess.Popen) -> None:
    """Stop standalone and every process it started (some leave its process group), SIGKILL after 30 s."""
    import psutil

    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for p in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=30)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    proc.wait(timeout=10)


def test_quickstart_through_a_real_scheduler_is_detected(standalone):
    env = standalone

    def parsed():
        out = _airflow(env, "dags", "list", "-o", "json")
        return out.returncode == 0 and any(r["dag_id"] == "chaos_quickstart" for r in _json_rows(out.stdout))

    _wait(parsed, 180, "the dag-processor to parse the quickstart")
    assert _airflow(env, "dags", "unpause", "chaos_quickstart").returncode == 0
    trigger = _airflow(env, "dags", "trigger", "chaos_quickstart", "-o", "json")
    assert trigger.returncode == 0, trigger.stderr
    run_id = _json_rows(trigger.stdout)[0]["dag_run_id"]

    def finished():
        out = _airflow(env, "dags", "list-runs", "chaos_quickstart", "-o", "json")
        states = {r["run_id"]: r["state"] for r in _json_rows(out.stdout)}
        return states.get(run_id) if states.get(run_id) in {"success", "failed"} else None

    assert _wait(finished, 240, "the run to finish") == "success"
    report = subprocess.run(
        [str(BIN / "airflow-chaos"), "report", "chaos_quickstart", "--run-id", run_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    line = next(x for x in report.stdout.splitlines() if x.startswith("transform"))
    assert "drop_column" in line and "DETECTED" in line
    assert "resilience score: 100%" in report.stdout
