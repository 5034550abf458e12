"""No secret reaches a record (issue #8, item 1), on a real DAG run (dag.test on SQLite).

The reproduction: a task calls ``requests.get(f"...?api_key={conn.password}")`` against a real HTTP
server on 127.0.0.1 under ``faults.HttpError(status=503)``. Before the fix the user's exception text,
URL and key included, was stored in the ``chaos_injections`` XCom.

Planted, each a fresh random value:

- a Connection password (``AIRFLOW_CONN_PARTNER_API`` JSON), sent as ``?api_key=`` and written in free text;
- a Variable whose name marks it secret (``partner_api_secret``; Airflow masks such names), the
  password of the URL's userinfo, and in free text;
- an env var read by the task (``PARTNER_TOKEN``), sent as an ``Authorization: Bearer`` header;
- a literal URL query value (``&sig=``) and a literal userinfo user name.

Three variants of the task: one lets the ``HTTPError`` propagate, one catches it and raises its own
error naming the URL, the credentials and the request headers (chained to the HTTPError), and one
catches it and returns ``[]`` (a row-count check downstream detects that).

Then every XCom of the run (raw rows of the metadata DB), the ``chaos_report`` XCom, the report
file of ``airflow-chaos report --output`` and the task logs are searched for each secret: 0 hits.
Where ``dag.test()`` writes task logs: it runs each task in-process (``run_task_in_process``) and
writes no log file; every task log line goes to the process's stdout/stderr (captured here with
``capfd``); the AIRFLOW_HOME's ``logs`` folder is searched too, in case a version writes files there.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from airflow_chaos import cli
from tests.harness import loopback_server

pytestmark = pytest.mark.integration

DAG_ID = "partner_api_secrets"

DAG = """
import os
from datetime import datetime

import requests
from airflow.sdk import BaseHook, Variable, dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateApiPayloadOperator

HOST = "127.0.0.1:__PORT__"
SIGNATURE = "__SIG__"
USER = "__USER__"


def partner_url(conn, userinfo=None):
    auth = f"{userinfo}@" if userinfo else ""
    return f"http://{auth}{HOST}/v1/orders?api_key={conn.password}&sig={SIGNATURE}&page=2"


@dag(dag_id="__DAG_ID__", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def partner_api_secrets():
    @task
    def fetch_propagates():
        conn = BaseHook.get_connection("partner_api")
        url = partner_url(conn, userinfo=USER + ":" + Variable.get("partner_api_secret"))
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        return response.json()

    @task
    def fetch_wraps():
        conn = BaseHook.get_connection("partner_api")
        headers = {"Authorization": "Bearer " + os.environ["PARTNER_TOKEN"]}
        try:
            response = requests.get(partner_url(conn), headers=headers, timeout=5)
            response.raise_for_status()
        except requests.HTTPError as exc:
            sent = dict(exc.request.headers)
            raise RuntimeError(
                f"partner API refused {conn.login}/{conn.password} (signed with "
                f"{Variable.get('partner_api_secret')}); sent {sent}: {exc}"
            ) from exc
        return response.json()

    @task
    def fetch_swallows():
        conn = BaseHook.get_connection("partner_api")
        try:
            response = requests.get(partner_url(conn), timeout=5)
            response.raise_for_status()
        except requests.HTTPError:
            return []
        return response.json()

    loud = chaos(fetch_propagates(), faults.HttpError(status=503), seed=1)
    wrapped = chaos(fetch_wraps(), faults.HttpError(status=503), seed=1)
    swallowed = chaos(fetch_swallows(), faults.HttpError(status=503), seed=1)
    rows = ValidateApiPayloadOperator(task_id="validate_rows", data=swallowed, min_rows=1)
    [loud, wrapped, rows] >> AssertDetectedOperator(task_id="assert_detected")


partner_api_secrets()
"""


def _secret(label: str) -> str:
    return f"{label}-{secrets.token_hex(8)}"


def _raw_xcoms(dag_id: str, run_id: str) -> dict[tuple[str, str], str]:
    """Every XCom row of the run as stored in the metadata DB (test-side ORM read)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=dag_id, run_id=run_id).all()
        return {(x.task_id, x.key): json.dumps(x.value, default=str) for x in rows}


def _hits(text: str, planted: dict[str, str]) -> list[str]:
    return [name for name, value in planted.items() if value in text]


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "connection password": _secret("connpw"),
        "secret Variable": _secret("varsecret"),
        "env var token": _secret("envtoken"),
        "URL query value": _secret("sig"),
        "userinfo user": _secret("userinfo"),
    }
    connection = {"conn_type": "http", "host": "127.0.0.1", "login": "svc", "password": values["connection password"]}
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_API", json.dumps(connection))
    monkeypatch.setenv("AIRFLOW_VAR_PARTNER_API_SECRET", values["secret Variable"])
    monkeypatch.setenv("PARTNER_TOKEN", values["env var token"])
    return values


def _run(dag_runner: Any, planted: dict[str, str], capfd: pytest.CaptureFixture[str]) -> tuple[Any, str]:
    with loopback_server() as server:
        server.expect_request("/v1/orders").respond_with_json([{"id": 1}])
        source = (
            DAG.replace("__PORT__", str(server.port))
            .replace("__SIG__", planted["URL query value"])
            .replace("__USER__", planted["userinfo user"])
            .replace("__DAG_ID__", DAG_ID)
        )
        capfd.readouterr()
        result = dag_runner.run(dag_runner.write(DAG_ID, source), DAG_ID)
        out, err = capfd.readouterr()
    return result, out + err


def test_planted_secrets_reach_no_xcom_report_or_task_log(
    dag_runner: Any,
    chaos_on: None,
    planted: dict[str, str],
    capfd: pytest.CaptureFixture[str],
    airflow_home: Path,
    tmp_path: Path,
) -> None:
    result, task_log = _run(dag_runner, planted, capfd)
    states = result.task_states
    assert states["fetch_propagates"] == "failed" and states["fetch_wraps"] == "failed", states
    assert states["fetch_swallows"] == "success" and states["validate_rows"] == "failed", states
    assert result.verdicts() == {
        "fetch_propagates:http_error": "FAILED_LOUDLY",
        "fetch_wraps:http_error": "FAILED_LOUDLY",
        "fetch_swallows:http_error": "DETECTED",
    }

    # every XCom of the run, as stored
    raw = _raw_xcoms(DAG_ID, result.run_id)
    assert {("fetch_propagates", "chaos_injections"), ("assert_detected", "chaos_report")} <= set(raw)
    leaks = {key: _hits(text, planted) for key, text in raw.items() if _hits(text, planted)}
    assert leaks == {}, leaks

    # the records keep what helps: the status, the host, where the secrets were (not their values)
    (propagated,) = result.xcom("fetch_propagates", "chaos_injections")
    error = propagated["error"]
    assert error.startswith("HTTPError: 503 Server Error"), error
    assert "http://***@127.0.0.1:" in error and "/v1/orders?api_key=***&sig=***&page=***" in error, error
    (wrapped,) = result.xcom("fetch_wraps", "chaos_injections")
    assert "'Authorization': '***'" in wrapped["error"] and "partner API refused svc/***" in wrapped["error"]

    # the report file written by `airflow-chaos report --output`
    output = tmp_path / "report.json"
    assert cli.main(["report", DAG_ID, "--run-id", result.run_id, "--output", str(output)]) == 0
    cli_out, cli_err = capfd.readouterr()
    report_text = output.read_text()
    assert json.loads(report_text)["run_id"] == result.run_id
    assert _hits(report_text, planted) == [] and _hits(cli_out + cli_err, planted) == []

    # task logs: dag.test() writes none to files (searched anyway); they go to the process's output
    log_files = list((airflow_home / "logs").rglob("*")) if (airflow_home / "logs").exists() else []
    file_text = "".join(p.read_text(errors="replace") for p in log_files if p.is_file())
    assert "Task failed with exception" in task_log  # the traceback of the failed tasks was logged
    assert "503 Server Error" in task_log and "sent {" in task_log
    assert _hits(task_log, planted) == [], [line for line in task_log.splitlines() if _hits(line, planted)]
    assert _hits(file_text, planted) == []
