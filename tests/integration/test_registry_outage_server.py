"""RegistryOutage against a real ``mlflow server`` process started here on 127.0.0.1 (issue #10).

The server serves a SQLite registry (models registered before it starts). ``CheckModelRegistryOperator``
reports each outage mode in under 5 s, with its own MLflow HTTP settings; the pipeline's own retry
budget is reported beside it. Through ``dag.test()``: the outage armed on the check is DETECTED;
with ``first_n_tries=1`` and the task's ``retries=1``, the retry reaches the server and the verdict
is RECOVERED.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosDetectionFailed
from airflow_chaos.operators.registry import CheckModelRegistryOperator
from tests.integration import mlflow_registry as reg
from tests.unit.faults.test_http import armed
from tests.unit.operators.runtime import FakeTaskInstance, context

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen, deadline_s: float = 240) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"mlflow server at {url} not healthy after {deadline_s} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A registry with one champion, served by a real ``mlflow server`` on 127.0.0.1."""
    built = reg.build(tmp_path_factory.mktemp("mlflow-server"))
    port = _free_port()
    log = open(built.root / "server.log", "wb")  # noqa: SIM115 - closed in the teardown below
    process = subprocess.Popen(
        [str(BIN / "mlflow"), "server", "--backend-store-uri", built.tracking_uri, "--default-artifact-root", str(built.root / "artifacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        reg.register(built, "served", reg.data(seed=11))  # while the server starts (same SQLite registry)
        reg.register(built, "served", reg.data(seed=1), alias="champion")
        _wait_healthy(url, process)
        from mlflow import MlflowClient

        MlflowClient(url).search_registered_models()  # the server opens its store on the first API call: not in a timed check
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its uvicorn worker, started in their own session
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.fixture
def pipeline_defaults(monkeypatch):
    """The pipeline keeps MLflow's default retry settings (about 250 s to give up on a dead registry)."""
    from airflow_chaos.faults.registry import load_request_header_plugins

    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"):
        monkeypatch.delenv(name, raising=False)
    load_request_header_plugins()


def run_check(url):
    ctx = context(FakeTaskInstance(task_id="check"))
    op = CheckModelRegistryOperator(task_id="check", model="served", tracking_uri=url, approval_tag="quality=passed")
    started = time.perf_counter()
    try:
        op.execute(ctx)
        raised = None
    except ChaosDetectionFailed as exc:
        raised = exc
    elapsed = time.perf_counter() - started
    return raised, elapsed, {d["check"]: d for d in ctx["ti"].store[("check", "chaos_detections")]}


def test_the_check_passes_against_the_live_server(server, pipeline_defaults):
    raised, _, found = run_check(server)
    assert raised is None and all(d["passed"] for d in found.values()), [d["observed"] for d in found.values()]
    assert found["registry_alias_version"]["observed"]["found"] == "2"


@pytest.mark.parametrize("mode", ["refused", "timeout", "5xx"])
def test_each_outage_mode_is_reported_in_under_5_seconds(server, pipeline_defaults, mode):
    with armed(faults.RegistryOutage(mode=mode, seconds=60, tracking_uri=server)) as (ctx,):
        raised, elapsed, found = run_check(server)
    availability = found["registry_availability"]
    assert isinstance(raised, ChaosDetectionFailed) and not availability["passed"]
    assert elapsed < 5 and availability["observed"]["elapsed_s"] < 5, (elapsed, availability)
    assert ctx.changes["stores"] == [f"http 127.0.0.1:{server.rsplit(':', 1)[1]}"] and ctx.changes["requests_faulted"] == 1
    budget = found["registry_retry_budget"]["observed"]
    assert budget["refused_s"] == 249 and budget["hanging_s"] == 1209  # what the pipeline's own (default) settings would cost


DAG = '''
from datetime import datetime, timedelta

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, CheckModelRegistryOperator

URL = {url!r}


@dag(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    check = CheckModelRegistryOperator(
        task_id="check", model="served", approval_tag="quality=passed", tracking_uri=URL,
        retries={retries}, retry_delay=timedelta(seconds=0),
    )
    chaos(check, faults.RegistryOutage(tracking_uri=URL, first_n_tries={first_n_tries}))
    check >> AssertDetectedOperator(task_id="assert_detected")


build()
'''


def test_an_outage_armed_on_the_check_is_detected_within_5_seconds(dag_runner, chaos_on, server, pipeline_defaults):
    source = DAG.format(url=server, dag_id="registry_outage_server", retries=0, first_n_tries=None)
    result = dag_runner.run(dag_runner.write("registry_outage_server", source), "registry_outage_server")
    assert result.verdicts() == {"check:registry_outage": "DETECTED"}
    assert result.task_states == {"check": "failed", "assert_detected": "success"}
    availability = next(d for d in result.xcom("check", "chaos_detections") if d["check"] == "registry_availability")
    assert availability["observed"]["elapsed_s"] < 5


def test_first_n_tries_with_a_task_retry_recovers(dag_runner, chaos_on, server, pipeline_defaults):
    source = DAG.format(url=server, dag_id="registry_outage_retry", retries=1, first_n_tries=1)
    result = dag_runner.run(dag_runner.write("registry_outage_retry", source), "registry_outage_retry")
    assert result.verdicts() == {"check:registry_outage": "RECOVERED"}, result.report
    assert result.task_states == {"check": "success", "assert_detected": "success"}
    (injection,) = result.xcom("check", "chaos_injections")
    assert injection["try_number"] == 2 and injection["changes"]["armed"] is False
    assert all(d["passed"] for d in result.xcom("check", "chaos_detections"))
