"""HTTP faults through the in-process injector, against a real HTTP server on 127.0.0.1.

Every fault kind with ``requests``, raw urllib3 and httpx: status codes, headers, bodies, errors,
latency bounds and per-request counts; selectors, ``first_n``, composition, determinism, isolation.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
import requests
import urllib3
from pytest_httpserver import HTTPServer
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.base import Fault, FaultContext, stable_seed
from airflow_chaos.faults.http_injector import active, async_chaos_transport, chaos_transport
from tests.harness import loopback_server

ITEMS = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
CLIENTS = ("requests", "urllib3", "httpx")


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    with loopback_server() as srv:
        srv.expect_request("/items").respond_with_json(ITEMS)
        srv.expect_request("/other").respond_with_json({"ok": True})
        srv.expect_request("/items", method="POST").respond_with_json({"created": True}, status=201)
        yield srv


@pytest.fixture
def url(server: HTTPServer) -> str:
    return server.url_for("/items")


def fault_context(seed: int = 1, try_number: int = 1, task_id: str = "t", index: int = 0) -> FaultContext:
    labels = {"dag_id": "d", "run_id": "r", "task_id": task_id, "try_number": try_number}
    return FaultContext(seed=stable_seed(seed, index), labels=labels)


@contextlib.contextmanager
def armed(*fs: Fault, seed: int = 1, try_number: int = 1, task_id: str = "t") -> Iterator[list[FaultContext]]:
    """Arm faults the way the chaos wrapper does: one context per fault, entered in order."""
    ctxs = [fault_context(seed, try_number, task_id, i) for i in range(len(fs))]
    with contextlib.ExitStack() as stack:
        for f, ctx in zip(fs, ctxs, strict=True):
            stack.enter_context(f.around(ctx))
        yield ctxs


@dataclass
class Result:
    status: int | None = None
    headers: dict[str, str] | None = None
    body: bytes = b""
    error: str | None = None
    elapsed: float = 0.0


def call(client: str, url: str, timeout: float = 2.0, method: str = "GET") -> Result:
    started = time.perf_counter()
    try:
        if client == "requests":
            r = requests.request(method, url, timeout=timeout)
            out = Result(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)
        elif client == "urllib3":
            with urllib3.PoolManager() as pm:
                r = pm.request(method, url, retries=False, timeout=timeout)
                out = Result(r.status, {k.lower(): v for k, v in r.headers.items()}, r.data)
        else:
            with httpx.Client(timeout=timeout) as c:
                r = c.request(method, url)
                out = Result(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)
    except Exception as exc:
        out = Result(error=type(exc).__name__)
    out.elapsed = time.perf_counter() - started
    return out


# ---------------------------------------------------------------------- the fault models
def test_http_faults_round_trip_and_declare_signals():
    examples = [
        faults.HttpError(status=[500, 503], rate=0.5, retry_after=2, host="api.*", first_n=3),
        faults.RateLimit(rate=0.3, retry_after=5),
        faults.HttpLatency(ms=200, jitter_ms=50, path="/v1/*"),
        faults.HttpTimeout(seconds=2),
        faults.ConnectionReset(method="POST"),
        faults.MalformedBody(kind="schema_mismatch"),
        faults.Blackhole(host="mlflow.internal", proxy=True),
    ]
    for fault in examples:
        again = Fault.from_dict(json.loads(json.dumps(fault.to_dict())))
        assert again == fault and type(again) is type(fault)
        assert fault.phase == "around" and fault.recoverable
        assert {"api", "volume", "completeness"} <= set(fault.signals)
    assert {"schema", "format"} <= set(faults.MalformedBody().signals)
    assert faults.MalformedBody(kind="empty").malformation == "empty"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: faults.HttpError(status=200), "status"),
        (lambda: faults.HttpError(status=[]), "status"),
        (lambda: faults.HttpError(rate=1.5), "rate"),
        (lambda: faults.RateLimit(retry_after=-1), "retry_after"),
        (lambda: faults.HttpLatency(ms=0), "ms"),
        (lambda: faults.HttpError(first_n=0), "first_n"),
        (lambda: faults.MalformedBody(kind="gzip_bomb"), "kind"),
        (lambda: faults.Blackhole(host=""), "host"),
    ],
)
def test_invalid_http_fault_parameters_name_the_field(build, field):
    with pytest.raises(ChaosConfigError, match=f"field '{field}'"):
        build()


# ---------------------------------------------------------------------- every kind, every client
@pytest.mark.parametrize("client", CLIENTS)
def test_http_error_answers_with_the_status_and_retry_after(client, url):
    with armed(faults.HttpError(status=[500, 503], retry_after=7)) as (ctx,):
        results = [call(client, url) for _ in range(6)]
    assert {r.status for r in results} <= {500, 503}
    assert all(r.headers["retry-after"] == "7" for r in results)
    assert all(json.loads(r.body)["error"] == "injected by airflow-chaos" for r in results)
    assert ctx.changes["requests_seen"] == 6 and ctx.changes["requests_faulted"] == 6
    by_kind = ctx.changes["faulted_by_kind"]
    assert sum(by_kind.values()) == 6 and set(by_kind) <= {"http_500", "http_503"}
    assert [f"http_{r.status}" for r in results].count("http_500") == by_kind.get("http_500", 0)
    assert ctx.changes["effective"] is True


@pytest.mark.parametrize("client", CLIENTS)
def test_rate_limit_is_429_with_retry_after(client, url):
    with armed(faults.RateLimit(retry_after=3)) as (ctx,):
        result = call(client, url)
    assert result.status == 429 and result.headers["retry-after"] == "3"
    assert ctx.changes["faulted_by_kind"] == {"http_429": 1}
    assert ctx.changes["summary"] == "1 of 1 calls faulted (1 with http_429)"


@pytest.mark.parametrize("client", CLIENTS)
def test_latency_delays_then_lets_the_call_through(client, url):
    call(client, url)  # warm up imports and sockets
    with armed(faults.HttpLatency(ms=150, jitter_ms=50)) as (ctx,):
        results = [call(client, url) for _ in range(3)]
    assert all(r.status == 200 and json.loads(r.body) == ITEMS for r in results)
    assert all(0.15 <= r.elapsed < 0.5 for r in results), [r.elapsed for r in results]
    assert ctx.changes["faulted_by_kind"] == {"latency": 3}


@pytest.mark.parametrize(
    ("client", "error"), [("requests", "ReadTimeout"), ("urllib3", "ReadTimeoutError"), ("httpx", "ReadTimeout")]
)
def test_timeout_waits_for_the_client_read_timeout_then_raises(client, error, url):
    with armed(faults.HttpTimeout(seconds=5)) as (ctx,):
        result = call(client, url, timeout=0.3)
    assert result.error == error
    assert 0.3 <= result.elapsed < 1.5
    assert ctx.changes["faulted_by_kind"] == {"timeout": 1}


def test_timeout_is_capped_by_seconds_when_the_client_sets_none(url):
    with armed(faults.HttpTimeout(seconds=0.2)):
        started = time.perf_counter()
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(url)
    assert 0.2 <= time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("client", "error"), [("requests", "ConnectionError"), ("urllib3", "ProtocolError"), ("httpx", "ReadError")]
)
def test_connection_reset_raises_the_library_connection_error(client, error, url):
    with armed(faults.ConnectionReset()) as (ctx,):
        result = call(client, url)
    assert result.error == error
    assert ctx.changes["faulted_by_kind"] == {"reset": 1}


@pytest.mark.parametrize(
    ("client", "error"), [("requests", "ConnectionError"), ("urllib3", "NewConnectionError"), ("httpx", "ConnectError")]
)
def test_blackhole_makes_the_host_unreachable(client, error, url):
    with armed(faults.Blackhole()) as (ctx,):
        result = call(client, url)
    assert result.error == error
    assert ctx.changes["faulted_by_kind"] == {"unreachable": 1}


def _parses(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("malformation", ["truncated_json", "wrong_content_type", "empty", "schema_mismatch"])
def test_malformed_body_breaks_the_real_response(client, malformation, url, server):
    before = len(server.log)
    with armed(faults.MalformedBody(kind=malformation)) as (ctx,):
        result = call(client, url)
    assert len(server.log) == before + 1  # the real server was called
    assert result.status == 200 and result.headers["x-chaos-fault"] == f"malformed:{malformation}"
    assert int(result.headers["content-length"]) == len(result.body)
    if malformation == "truncated_json":
        assert result.body and not _parses(result.body) and json.dumps(ITEMS, indent=4).encode().startswith(result.body)
    elif malformation == "wrong_content_type":
        assert result.headers["content-type"].startswith("text/html") and not _parses(result.body)
    elif malformation == "empty":
        assert result.body == b""
    else:
        assert json.loads(result.body) == [{"id_v2": r["id"], "name_v2": r["name"]} for r in ITEMS]
    assert ctx.changes["faulted_by_kind"] == {f"malformed:{malformation}": 1}


# ---------------------------------------------------------------------- rate, first_n, selectors, composition
def test_first_n_fails_the_first_calls_and_urllib3_retry_recovers(url):
    session = requests.Session()
    retry = Retry(total=5, backoff_factor=0.01, status_forcelist=[500, 503], allowed_methods=None)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    with armed(faults.HttpError(status=503, first_n=3)) as (ctx,):
        response = session.get(url, timeout=2)
        again = session.get(url, timeout=2)
    assert response.status_code == 200 and response.json() == ITEMS and again.status_code == 200
    assert ctx.changes["requests_seen"] == 5 and ctx.changes["requests_faulted"] == 3
    assert ctx.changes["pattern"] == "FFF.."
    assert ctx.changes["summary"] == "3 of 5 calls faulted (3 with http_503)"


def test_urllib3_retry_honours_the_injected_retry_after(url):
    retry = Retry(total=2, status_forcelist=[429], respect_retry_after_header=True)
    with urllib3.PoolManager(retries=retry) as pm, armed(faults.RateLimit(retry_after=1, first_n=1)):
        started = time.perf_counter()
        response = pm.request("GET", url)
    assert response.status == 200 and time.perf_counter() - started >= 0.95


def test_rate_faults_about_that_share_and_zero_is_not_effective(url):
    session = requests.Session()
    with armed(faults.HttpError(status=500, rate=0.3)) as (ctx,):
        statuses = [session.get(url).status_code for _ in range(60)]
    assert 8 <= statuses.count(500) <= 30
    assert ctx.changes["requests_faulted"] == statuses.count(500)
    with armed(faults.HttpError(status=500, rate=0.0)) as (ctx,):
        assert all(session.get(url).status_code == 200 for _ in range(5))
    assert ctx.changes["effective"] is False and ctx.changes["requests_seen"] == 5


def test_selectors_match_host_path_and_method_globs(server):
    items, other = server.url_for("/items"), server.url_for("/other")
    with armed(faults.HttpError(status=502, path="/items*", method="post", host="127.0.0.*")) as (ctx,):
        assert requests.get(items).status_code == 200
        assert requests.post(other).status_code != 502
        assert requests.post(items).status_code == 502
    assert ctx.changes["requests_seen"] == 1
    with armed(faults.HttpError(status=502, host=f"127.0.0.1:{server.port}")) as (ctx,):
        assert requests.get(other).status_code == 502
    with armed(faults.HttpError(status=502, host="api.example.com")) as (ctx,):
        assert requests.get(items).status_code == 200
    assert ctx.changes == {**ctx.changes, "requests_seen": 0, "effective": False}


def test_faults_on_one_task_compose_latency_adds_and_the_first_terminal_wins(url):
    session = requests.Session()
    session.get(url)
    fs = (faults.HttpLatency(ms=100), faults.RateLimit(first_n=1), faults.HttpError(status=500, first_n=2))
    with armed(*fs) as ctxs:
        started = time.perf_counter()
        statuses = [session.get(url).status_code for _ in range(3)]
        elapsed = time.perf_counter() - started
    assert statuses == [429, 500, 200]
    assert elapsed >= 0.3
    latency, limit, error = (c.changes for c in ctxs)
    assert latency["requests_faulted"] == 3 and limit["requests_faulted"] == 1
    assert error["requests_seen"] == 3 and error["requests_faulted"] == 1 and error["pattern"] == ".F."


# ---------------------------------------------------------------------- determinism
def _pattern(url: str, seed: int, try_number: int = 1) -> str:
    session = requests.Session()
    with armed(faults.HttpError(status=[500, 502, 503], rate=0.5), seed=seed, try_number=try_number) as (ctx,):
        statuses = [session.get(url).status_code for _ in range(20)]
    assert ctx.changes["pattern"] == "".join("F" if s != 200 else "." for s in statuses)
    return ",".join(map(str, statuses))


def test_same_seed_same_calls_fail_in_the_same_order_and_a_retry_draws_afresh(url):
    first, second = _pattern(url, seed=7), _pattern(url, seed=7)
    assert first == second
    assert _pattern(url, seed=8) != first
    retry = _pattern(url, seed=7, try_number=2)
    assert retry != first and retry == _pattern(url, seed=7, try_number=2)


# ---------------------------------------------------------------------- scope and isolation
def test_nothing_is_faulted_outside_the_armed_block(url):
    with armed(faults.HttpError(status=500)):
        assert active() is not None
        assert requests.get(url).status_code == 500
    assert active() is None
    assert all(call(c, url).status == 200 for c in CLIENTS)


def test_an_armed_and_an_unarmed_task_run_concurrently_without_leaking(url):
    barrier = threading.Barrier(2)
    seen: dict[str, list[int]] = {"armed": [], "unarmed": []}

    def task(name: str, fault: Fault | None) -> None:
        session = requests.Session()
        with armed(fault, task_id=name) if fault else contextlib.nullcontext():
            barrier.wait()
            for _ in range(25):
                seen[name].append(session.get(url).status_code)
                time.sleep(0.001)

    threads = [
        threading.Thread(target=task, args=("armed", faults.HttpError(status=500))),
        threading.Thread(target=task, args=("unarmed", None)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["armed"] == [500] * 25
    assert seen["unarmed"] == [200] * 25


def test_threads_the_task_starts_are_covered_only_with_a_copied_context(url):
    with armed(faults.HttpError(status=500)) as (ctx,), ThreadPoolExecutor(2) as pool:
        bare = pool.submit(lambda: requests.get(url).status_code).result()
        copied = pool.submit(contextvars.copy_context().run, lambda: requests.get(url).status_code).result()
    assert (bare, copied) == (200, 500)
    assert ctx.changes["requests_seen"] == 1


def test_a_nested_armed_task_shadows_the_outer_one(url):
    with armed(faults.HttpError(status=500), task_id="outer") as (outer,):
        with armed(faults.RateLimit(), task_id="inner") as (inner,):
            assert requests.get(url).status_code == 429
        assert requests.get(url).status_code == 500
    assert outer.changes["requests_seen"] == 1 and inner.changes["requests_seen"] == 1


# ---------------------------------------------------------------------- httpx transports
def test_explicit_chaos_transport_wraps_custom_transports_once():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=ITEMS)

    client = httpx.Client(transport=chaos_transport(httpx.MockTransport(handler)))
    with armed(faults.MalformedBody(kind="empty")) as (ctx,):
        assert client.get("http://api.example.com/items").content == b""
    assert client.get("http://api.example.com/items").json() == ITEMS
    assert ctx.changes["requests_seen"] == 1


def test_async_httpx_clients_are_covered(url):
    async def fetch() -> list[int]:
        async with httpx.AsyncClient(timeout=2) as client:
            return [(await client.get(url)).status_code for _ in range(3)]

    with armed(faults.HttpError(status=503, first_n=2)) as (ctx,):
        assert asyncio.run(fetch()) == [503, 503, 200]
    assert ctx.changes["requests_faulted"] == 2

    async def wrapped() -> int:
        transport = async_chaos_transport(httpx.MockTransport(lambda r: httpx.Response(200)))
        async with httpx.AsyncClient(transport=transport) as client:
            return (await client.get("http://x.test/")).status_code

    with armed(faults.RateLimit()):
        assert asyncio.run(wrapped()) == 429
