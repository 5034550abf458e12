"""``first_n_tries``: a transient HTTP fault that fails only the first N Airflow tries of a task (issue #10).

``first_n`` counts requests per try, so an Airflow retry starts afresh and can never recover from it;
``first_n_tries`` is counted from the task instance's try number, so recovery through Airflow-level
retries can be tested. A try past N runs clean, and its record says so (the earlier tries' records
are gone: Airflow clears a task's XComs when it retries).
"""

from __future__ import annotations

import json

import pytest
import requests

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.base import Fault
from tests.harness import loopback_server
from tests.unit.faults.test_http import armed

TRANSIENT = [
    faults.HttpError(status=503, first_n_tries=1),
    faults.RateLimit(first_n_tries=1),
    faults.HttpTimeout(seconds=0.2, first_n_tries=1),
    faults.ConnectionReset(first_n_tries=1),
    faults.Blackhole(first_n_tries=1),
    faults.MalformedBody(kind="empty", first_n_tries=1),
]


@pytest.fixture(scope="module")
def url():
    with loopback_server() as server:
        server.expect_request("/items").respond_with_json([{"id": 1}])
        yield server.url_for("/items")


def _get(url: str) -> str:
    try:
        response = requests.get(url, timeout=0.5)
    except requests.RequestException as exc:
        return type(exc).__name__
    try:
        return f"{response.status_code} {response.json()}"
    except ValueError:
        return f"{response.status_code} not json"


@pytest.mark.parametrize("fault", TRANSIENT, ids=lambda f: f.kind)
def test_the_first_try_is_faulted_and_the_retry_runs_clean(url, fault):
    with armed(fault, try_number=1) as (ctx,):
        first = _get(url)
    with armed(fault, try_number=2) as (retry,):
        second = _get(url)

    assert first != "200 [{'id': 1}]" and ctx.changes["requests_faulted"] == 1
    assert second == "200 [{'id': 1}]"
    assert retry.changes["armed"] is False and retry.changes["try_number"] == 2
    assert retry.changes["effective"] is True  # the fault went in on try 1: this try is where it was absorbed
    assert "try 2" in retry.changes["summary"] and "tries 1..1" in retry.changes["summary"]


def test_first_n_tries_two_faults_tries_one_and_two():
    fault = faults.HttpError(status=500, first_n_tries=2)
    with loopback_server() as server:
        server.expect_request("/x").respond_with_json({"ok": True})
        seen = []
        for try_number in (1, 2, 3):
            with armed(fault, try_number=try_number):
                seen.append(requests.get(server.url_for("/x"), timeout=1).status_code)
    assert seen == [500, 500, 200]


def test_first_n_tries_round_trips_and_is_validated():
    fault = faults.HttpError(status=503, first_n=2, first_n_tries=1)
    assert Fault.from_dict(json.loads(json.dumps(fault.to_dict()))) == fault
    for bad in (0, -1, 1.5):
        with pytest.raises(ChaosConfigError, match="field 'first_n_tries'"):
            faults.HttpError(first_n_tries=bad)
