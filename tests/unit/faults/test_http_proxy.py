"""The loopback fault proxy, driven by ``curl`` subprocesses against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import requests
from pytest_httpserver import HTTPServer

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.http_injector import TaskInjector
from airflow_chaos.faults.http_proxy import FaultProxy, require_loopback
from tests.harness import loopback_server
from tests.unit.faults.test_http import ITEMS, armed

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "curl"], capture_output=True).returncode != 0, reason="no curl"
)


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    with loopback_server() as srv:
        srv.expect_request("/items").respond_with_json(ITEMS)
        yield srv


@pytest.fixture
def url(server: HTTPServer) -> str:
    return server.url_for("/items")


@dataclass
class Curl:
    code: int
    status: int | None
    headers: dict[str, str]
    body: bytes
    elapsed: float


def curl(url: str, *extra: str, max_time: float = 5) -> Curl:
    """Run curl as a child process: it finds the proxy through the environment, like a BashOperator would."""
    started = time.perf_counter()
    proc = subprocess.run(
        ["curl", "-s", "-i", "-m", str(max_time), *extra, url], capture_output=True, env=os.environ.copy()
    )
    elapsed = time.perf_counter() - started
    raw = proc.stdout
    while raw.startswith(b"HTTP/1.1 200 Connection established"):  # the CONNECT answer (with -p)
        raw = raw.split(b"\r\n\r\n", 1)[1]
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n") if head else []
    status = int(lines[0].split()[1]) if lines else None
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Curl(proc.returncode, status, headers, body, elapsed)


def test_the_proxy_is_up_only_while_armed_and_the_environment_is_restored(url, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    with armed(faults.HttpError(status=503, proxy=True)) as (ctx,):
        proxy_url = os.environ["HTTP_PROXY"]
        assert proxy_url.startswith("http://127.0.0.1:") and os.environ["https_proxy"] == proxy_url
        assert "NO_PROXY" not in os.environ and "no_proxy" not in os.environ
        result = curl(url)
    assert result.status == 503 and result.headers["x-chaos-fault"] == "http_503"
    assert ctx.changes["proxy"] == proxy_url and ctx.changes["requests_faulted"] == 1
    assert os.environ["NO_PROXY"] == "127.0.0.1,localhost" and "HTTP_PROXY" not in os.environ
    assert curl(url).status == 200


def test_rate_limit_and_first_n_through_the_proxy(url):
    with armed(faults.RateLimit(retry_after=4, first_n=2, proxy=True)) as (ctx,):
        results = [curl(url) for _ in range(3)]
    assert [r.status for r in results] == [429, 429, 200]
    assert results[0].headers["retry-after"] == "4"
    assert json.loads(results[2].body) == ITEMS
    assert ctx.changes["requests_seen"] == 3 and ctx.changes["faulted_by_kind"] == {"http_429": 2}
    assert ctx.changes["summary"] == "2 of 3 calls faulted (2 with http_429)"


def test_latency_through_the_proxy(url):
    with armed(faults.HttpLatency(ms=200, proxy=True)) as (ctx,):
        result = curl(url)
    assert result.status == 200 and 0.2 <= result.elapsed < 1.5
    assert ctx.changes["faulted_by_kind"] == {"latency": 1}


def test_timeout_reset_and_blackhole_through_the_proxy(url):
    with armed(faults.HttpTimeout(seconds=5, proxy=True)) as (ctx,):
        hung = curl(url, max_time=0.5)
    assert hung.code == 28 and 0.5 <= hung.elapsed < 2  # curl: operation timed out
    assert ctx.changes["faulted_by_kind"] == {"timeout": 1}
    with armed(faults.ConnectionReset(proxy=True)) as (ctx,):
        reset = curl(url)
    assert reset.code in (52, 56) and reset.status is None  # empty reply / connection reset
    assert ctx.changes["faulted_by_kind"] == {"reset": 1}
    with armed(faults.Blackhole(proxy=True)) as (ctx,):
        unreachable = curl(url)
    assert unreachable.status == 502 and unreachable.headers["x-chaos-fault"] == "unreachable"


@pytest.mark.parametrize("malformation", ["truncated_json", "wrong_content_type", "empty", "schema_mismatch"])
def test_malformed_bodies_through_the_proxy(url, malformation):
    with armed(faults.MalformedBody(kind=malformation, proxy=True)) as (ctx,):
        result = curl(url)
    assert result.status == 200 and result.headers["x-chaos-fault"] == f"malformed:{malformation}"
    if malformation == "schema_mismatch":
        assert json.loads(result.body)[0] == {"id_v2": 1, "name_v2": "a"}
    elif malformation == "empty":
        assert result.body == b""
    elif malformation == "wrong_content_type":
        assert result.headers["content-type"].startswith("text/html")
    else:
        assert 0 < len(result.body) < len(json.dumps(ITEMS, indent=4))
    assert ctx.changes["requests_faulted"] == 1


def test_connect_tunnels_pass_through_with_only_latency_reset_and_blackhole(url):
    with armed(faults.HttpError(status=500, proxy=True), faults.HttpLatency(ms=150)) as (error, latency):
        tunnelled = curl(url, "-p")
    assert tunnelled.status == 200 and json.loads(tunnelled.body) == ITEMS and tunnelled.elapsed >= 0.15
    assert error.changes["requests_seen"] == 0 and error.changes["effective"] is False
    assert latency.changes["faulted_by_kind"] == {"latency": 1}
    with armed(faults.ConnectionReset(proxy=True)):
        assert curl(url, "-p").code in (35, 56)
    with armed(faults.Blackhole(proxy=True)):
        assert curl(url, "-p").code == 56  # CONNECT answered 502


def test_in_process_requests_through_the_task_proxy_are_faulted_once(url):
    with armed(faults.HttpError(status=500, first_n=1, proxy=True)) as (ctx,):
        assert requests.get(url).status_code == 500  # requests honours HTTP_PROXY
        assert requests.get(url).status_code == 200
        with httpx.Client() as client:  # trust_env: built on a proxy transport
            assert client.get(url).status_code == 200
    assert ctx.changes["requests_seen"] == 3 and ctx.changes["requests_faulted"] == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_the_proxy_refuses_to_bind_anything_but_loopback(host):
    with pytest.raises(ChaosConfigError, match="only binds loopback"):
        FaultProxy(TaskInjector(key=()), host=host)
    assert require_loopback("127.0.0.1") == "127.0.0.1" and require_loopback("::1") == "::1"


def test_a_proxy_without_environment_can_be_started_and_stopped_directly(url):
    proxy = FaultProxy(TaskInjector(key=()))
    proxy_url = proxy.start(set_environment=False)
    try:
        assert "HTTP_PROXY" not in os.environ or os.environ["HTTP_PROXY"] != proxy_url
        response = requests.get(url, proxies={"http": proxy_url})
        assert response.status_code == 200 and response.json() == ITEMS
    finally:
        proxy.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, proxies={"http": proxy_url}, timeout=1)
