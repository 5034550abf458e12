"""Isolation through the real chaos wrapper: an armed and an unarmed Airflow task run concurrently in threads.

Each task is a real operator whose ``execute`` calls a loopback API with ``requests``; the armed one
goes through ``chaos()`` and the wrapper's phases (kill switch read stubbed: there is no API server
here). The unarmed task, running at the same time in the same process, must see no fault.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer

from airflow_chaos import chaos, faults
from airflow_chaos.operators.records import INJECTIONS_KEY


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/items").respond_with_json([{"id": 1}])
    server.start()
    yield server.url_for("/items")
    server.clear()
    server.stop()


class FakeTaskInstance:
    def __init__(self, task_id: str) -> None:
        self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number = "iso", "manual__1", task_id, -1, 1
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = json.loads(json.dumps(value))

    def xcom_pull(self, **kwargs: Any) -> list[Any]:
        return []


class FakeDag:
    task_ids = ("armed", "plain")


def test_an_armed_and_an_unarmed_task_in_threads_do_not_leak(url, chaos_on, monkeypatch):
    from airflow.sdk import BaseOperator

    monkeypatch.setattr("airflow_chaos.config.kill_switch_on", lambda: False)
    barrier = threading.Barrier(2, timeout=10)

    class FetchOperator(BaseOperator):
        def execute(self, context: Any) -> list[int]:
            session = requests.Session()
            barrier.wait()
            statuses = []
            for _ in range(30):
                statuses.append(session.get(url, timeout=5).status_code)
                time.sleep(0.001)
            return statuses

    armed = chaos(FetchOperator(task_id="armed"), faults.HttpError(status=503), seed=1)
    plain = FetchOperator(task_id="plain")
    results: dict[str, Any] = {}
    tis = {"armed": FakeTaskInstance("armed"), "plain": FakeTaskInstance("plain")}

    def run(op: Any) -> None:
        results[op.task_id] = op.execute({"ti": tis[op.task_id], "dag": FakeDag()})

    threads = [threading.Thread(target=run, args=(op,)) for op in (armed, plain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert results["plain"] == [200] * 30
    assert results["armed"] == [503] * 30
    (record,) = tis["armed"].pushed[INJECTIONS_KEY]
    assert record["status"] == "injected" and record["changes"]["requests_seen"] == 30
    assert record["changes"]["faulted_by_kind"] == {"http_503": 30}
    assert INJECTIONS_KEY not in tis["plain"].pushed
