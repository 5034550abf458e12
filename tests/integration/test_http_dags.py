"""HTTP faults in real DAG runs (dag.test on SQLite) against a real API on 127.0.0.1.

One DAG shows the four outcomes of the same kind of fault on an API-calling task:
retries with backoff -> RECOVERED; no retries -> FAILED_LOUDLY; a task that swallows the error and
returns ``[]`` with no check -> SILENT (its assertion fails); the same task followed by a row-count
check -> DETECTED. A second DAG drives ``curl`` in a BashOperator through the loopback fault proxy,
while another thread of the same process calls the API unfaulted.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.harness import loopback_server

pytestmark = pytest.mark.integration

ITEMS = [{"id": i, "name": f"item-{i}"} for i in range(5)]

OUTCOMES_DAG = """
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator
from airflow_chaos.operators import ValidateApiPayloadOperator

API = "__API__"


def fetch(retries):
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    if retries:
        retry = Retry(total=retries, backoff_factor=0.05, status_forcelist=[429, 500, 502, 503], allowed_methods=None)
        session.mount("http://", HTTPAdapter(max_retries=retry))
    response = session.get(API, timeout=5)
    response.raise_for_status()
    return response.json()


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test", "chaos"])
def http_outcomes():
    @task
    def fetch_with_retries():
        return fetch(retries=5)

    @task
    def fetch_without_retries():
        return fetch(retries=0)

    @task
    def fetch_swallowing():
        try:
            return fetch(retries=0)
        except Exception:
            return []

    @task
    def fetch_elsewhere():
        return fetch(retries=0)

    @task
    def fetch_swallowing_checked():
        try:
            return fetch(retries=0)
        except Exception:
            return []

    retried = chaos(fetch_with_retries(), faults.HttpError(status=[500, 503], first_n=3), seed=7)
    loud = chaos(fetch_without_retries(), faults.HttpError(status=503), seed=7)
    silent = chaos(fetch_swallowing(), faults.RateLimit(retry_after=0), seed=7)
    caught = chaos(fetch_swallowing_checked(), faults.RateLimit(retry_after=0), seed=7)
    untouched = chaos(fetch_elsewhere(), faults.Blackhole(host="api.example.com"), seed=7)

    validate_retried = ValidateApiPayloadOperator(
        task_id="validate_retried", data=retried, required_keys=["id", "name"], types={"id": "integer"}, min_rows=1
    )
    validate_rows = ValidateApiPayloadOperator(task_id="validate_rows", data=caught, min_rows=1)

    validate_retried >> AssertDetectedOperator(
        task_id="assert_recovered", task_ids=["fetch_with_retries", "validate_retried"]
    )
    loud >> AssertDetectedOperator(task_id="assert_loud", task_ids=["fetch_without_retries"])
    silent >> AssertDetectedOperator(task_id="assert_silent", task_ids=["fetch_swallowing"])
    untouched >> AssertDetectedOperator(task_id="assert_skipped", task_ids=["fetch_elsewhere"])
    validate_rows >> AssertDetectedOperator(
        task_id="assert_detected", task_ids=["fetch_swallowing_checked", "validate_rows"]
    )


http_outcomes()
"""

PROXY_DAG = """
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import dag

from airflow_chaos import chaos, faults

API = "__API__"


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test", "chaos"])
def http_proxy_curl():
    limited = BashOperator(
        task_id="curl_rate_limited",
        bash_command=(
            "first=$(curl -s -i " + API + " | tr -d '\\\\r' | grep -i -E '^(HTTP/|retry-after:|x-chaos-fault:)' | paste -sd'|' -); "
            "rest=$(for i in 1 2 3; do curl -s -o /dev/null -w '%{http_code} ' " + API + "; done); "
            "echo \\"$first||$rest\\""
        ),
    )
    chaos(limited, faults.RateLimit(retry_after=2, first_n=2, proxy=True), seed=3)

    slow = BashOperator(
        task_id="curl_slow",
        bash_command="curl -s -o /dev/null -w '%{http_code} %{time_total}' " + API,
    )
    chaos(slow, faults.HttpLatency(ms=300, proxy=True), seed=3)

    # the child's proxy variable (token redacted), its NO_PROXY, and curl at the proxy without the credential
    boundary = BashOperator(
        task_id="curl_boundary",
        bash_command=(
            'redacted=$(printf %s "$HTTP_PROXY" | sed -E "s/:[^:@]+@/:TOKEN@/"); '
            'anonymous=$(curl -s -o /dev/null -w %{http_code} -x "http://${HTTP_PROXY#*@}" ' + API + '); '
            'echo "$redacted|${NO_PROXY-unset}|$anonymous"'
        ),
        env={"NO_PROXY": "127.0.0.1,localhost"},
        append_env=True,
    )
    chaos(boundary, faults.HttpLatency(ms=1, proxy=True), seed=3)


http_proxy_curl()
"""


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    with loopback_server() as server:
        server.expect_request("/orders").respond_with_json(ITEMS)
        yield server.url_for("/orders")


def _injection(result, task_id: str) -> dict:
    (record,) = result.xcom(task_id, "chaos_injections")
    return record


def _verdict(result, assert_task: str) -> tuple[str, dict]:
    report = result.xcom(assert_task, "chaos_report")
    (only,) = report["results"]
    return only["verdict"], only


def test_retries_recover_no_retries_fail_loudly_swallowing_is_silent_until_a_row_count_check(dag_runner, chaos_on, api):
    path = dag_runner.write("http_outcomes", OUTCOMES_DAG.replace("__API__", api))
    result = dag_runner.run(path, "http_outcomes")
    states = result.task_states

    # retries with backoff: 3 injected 5xx, then the data; the payload checks pass -> RECOVERED
    assert states["fetch_with_retries"] == "success" and states["validate_retried"] == "success"
    assert result.xcom("fetch_with_retries") == ITEMS
    verdict, recovered = _verdict(result, "assert_recovered")
    assert verdict == "RECOVERED", recovered
    changes = recovered["changes"]
    assert changes["requests_seen"] == 4 and changes["requests_faulted"] == 3 and changes["pattern"] == "FFF."
    assert sum(changes["faulted_by_kind"].values()) == 3 and changes["effective"] is True
    assert changes["summary"].startswith("3 of 4 calls faulted")
    assert states["assert_recovered"] == "success"

    # no retries: the task raised -> FAILED_LOUDLY
    assert states["fetch_without_retries"] == "failed"
    verdict, loud = _verdict(result, "assert_loud")
    assert verdict == "FAILED_LOUDLY" and loud["changes"]["faulted_by_kind"] == {"http_503": 1}
    assert _injection(result, "fetch_without_retries")["outcome"] == "raised"
    assert states["assert_loud"] == "success"

    # swallowed 429 -> [] and nothing checks it -> SILENT, and the assertion fails
    assert states["fetch_swallowing"] == "success" and result.xcom("fetch_swallowing") == []
    verdict, silent = _verdict(result, "assert_silent")
    assert verdict == "SILENT" and silent["changes"]["faulted_by_kind"] == {"http_429": 1}
    assert states["assert_silent"] == "failed"

    # the same swallowing task with a row-count check -> DETECTED on the volume signal
    assert states["fetch_swallowing_checked"] == "success" and states["validate_rows"] == "failed"
    verdict, detected = _verdict(result, "assert_detected")
    assert verdict == "DETECTED" and detected["evidence"] == ["validate_rows:payload_row_count [volume]"]
    assert states["assert_detected"] == "success"
    # a fault whose selector matched no request: armed, but never triggered -> SKIPPED
    assert states["fetch_elsewhere"] == "success"
    verdict, skipped = _verdict(result, "assert_skipped")
    assert verdict == "SKIPPED" and skipped["reason"] == "armed, but never triggered"
    assert skipped["changes"]["requests_seen"] == 0 and skipped["changes"]["effective"] is False
    detections = result.xcom("validate_rows", "chaos_detections")
    assert {d["check"]: d["passed"] for d in detections} == {"payload_format": True, "payload_row_count": False}


def test_curl_in_a_bash_operator_goes_through_the_fault_proxy(dag_runner, chaos_on, api, monkeypatch):
    """The armed BashOperators' curl is faulted; a second thread of the worker, calling the same API
    during the whole run (dag.test runs the tasks in this process), never is."""
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    path = dag_runner.write("http_proxy_curl", PROXY_DAG.replace("__API__", api))
    statuses: list[int | str] = []
    stop = threading.Event()

    def other_thread() -> None:
        with requests.Session() as session:  # trust_env: it would follow HTTP_PROXY if the worker had one
            while not stop.is_set():
                try:
                    statuses.append(session.get(api, timeout=5).status_code)
                except requests.RequestException as exc:
                    statuses.append(type(exc).__name__)
                time.sleep(0.01)

    thread = threading.Thread(target=other_thread, daemon=True)
    thread.start()
    try:
        result = dag_runner.run(path, "http_proxy_curl")
    finally:
        stop.set()
        thread.join(10)
    assert result.state == "success", result.task_states
    assert len(statuses) > 50 and set(statuses) == {200}

    redacted, no_proxy, anonymous = result.xcom("curl_boundary").split("|")
    assert re.fullmatch(r"http://chaos:TOKEN@127\.0\.0\.1:\d+", redacted)
    assert no_proxy == "unset" and anonymous == "407"
    boundary = _injection(result, "curl_boundary")["changes"]
    assert boundary["requests_seen"] == 0 and "@" not in boundary["proxy"]  # the anonymous call never reached the rules

    first, rest = result.xcom("curl_rate_limited").split("||")
    status_line, *headers = first.split("|")
    assert status_line.startswith("HTTP/1.1 429")
    assert "Retry-After: 2" in headers and "X-Chaos-Fault: http_429" in headers
    assert rest.split() == ["429", "200", "200"]
    limited = _injection(result, "curl_rate_limited")
    assert limited["changes"]["requests_seen"] == 4 and limited["changes"]["requests_faulted"] == 2
    assert limited["changes"]["faulted_by_kind"] == {"http_429": 2}
    assert limited["changes"]["proxy"].startswith("http://127.0.0.1:")

    status, seconds = result.xcom("curl_slow").split()
    assert status == "200" and 0.3 <= float(seconds) < 2.0
    assert _injection(result, "curl_slow")["changes"]["faulted_by_kind"] == {"latency": 1}
    assert "HTTP_PROXY" not in os.environ  # restored after the task
