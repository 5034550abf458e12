"""The loopback fault proxy, driven by ``curl`` subprocesses against real HTTP servers on 127.0.0.1.

Covers every fault kind through the proxy and its boundary: the per-task credential (407 without it),
the refused targets (its own address, CONNECT to ports no fault names), bodies streamed both ways
with bounded memory (200 MiB through a proxy in its own process, peak RSS read from ``/proc``), and
the scoping of the proxy variables to the armed task's child processes (never ``os.environ``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import requests
from pytest_httpserver import HTTPServer

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.http_injector import TaskInjector, active
from airflow_chaos.faults.http_proxy import FaultProxy, proxy_env, require_loopback
from tests.harness import loopback_server
from tests.unit.faults.test_http import ITEMS, armed

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "curl"], capture_output=True).returncode != 0, reason="no curl"
)

CREDENTIAL_URL = re.compile(r"^http://chaos:[A-Za-z0-9_-]{24}@127\.0\.0\.1:\d+$")


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
    """Run curl as a child process, like a BashOperator would: it finds the proxy in its environment."""
    started = time.perf_counter()
    proc = subprocess.run(
        ["curl", "-s", "-i", "-m", str(max_time), *extra, url], capture_output=True, env=os.environ.copy()
    )
    elapsed = time.perf_counter() - started
    raw = proc.stdout
    while raw.startswith((b"HTTP/1.1 200 Connection established", b"HTTP/1.1 100 Continue")):  # CONNECT (-p), uploads
        raw = raw.split(b"\r\n\r\n", 1)[1]
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n") if head else []
    status = int(lines[0].split()[1]) if lines else None
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Curl(proc.returncode, status, headers, body, elapsed)


def curl_code(url: str, *extra: str, write_out: str = "%{http_code}") -> str:
    """curl's ``-w`` value (``%{http_code}``, ``%{http_connect}``) for ``url``."""
    proc = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-m", "5", "-w", write_out, *extra, url], capture_output=True
    )
    return proc.stdout.decode()


def child_env(*names: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The values of ``names`` in a child process started from here (``-`` when unset)."""
    script = "; ".join(f'echo "{n}=${{{n}--}}"' for n in names)
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


# ---------------------------------------------------------------------- every fault kind through the proxy
def test_only_children_of_the_armed_context_get_the_proxy_and_os_environ_is_never_touched(url, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    before = dict(os.environ)
    with armed(faults.HttpError(status=503, proxy=True)) as (ctx,):
        assert dict(os.environ) == before
        seen = child_env("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy")
        result = curl(url)
    values = {seen[n] for n in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    assert len(values) == 1 and CREDENTIAL_URL.match(values.pop())
    assert seen["NO_PROXY"] == "-" and seen["no_proxy"] == "-"
    assert result.status == 503 and result.headers["x-chaos-fault"] == "http_503"
    proxy_url = ctx.changes["proxy"]
    assert seen["HTTP_PROXY"].endswith("@" + proxy_url.removeprefix("http://"))
    assert "chaos:" not in proxy_url and ctx.changes["requests_faulted"] == 1  # the token is never recorded
    assert dict(os.environ) == before and child_env("HTTP_PROXY") == {"HTTP_PROXY": "-"}
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


def test_connect_tunnels_pass_through_with_only_latency_reset_and_blackhole(server, url):
    named = f"127.0.0.1:{server.port}"  # a CONNECT to a port other than 443 needs a fault naming it
    with armed(faults.HttpError(status=500, host=named, proxy=True), faults.HttpLatency(ms=150, host=named)) as (
        error,
        latency,
    ):
        tunnelled = curl(url, "-p")
    assert tunnelled.status == 200 and json.loads(tunnelled.body) == ITEMS and tunnelled.elapsed >= 0.15
    assert error.changes["requests_seen"] == 0 and error.changes["effective"] is False
    assert latency.changes["faulted_by_kind"] == {"latency": 1}
    with armed(faults.ConnectionReset(host=named, proxy=True)):
        assert curl(url, "-p").code in (35, 56)
    with armed(faults.Blackhole(host=named, proxy=True)):
        assert curl(url, "-p").code == 56  # CONNECT answered 502


def test_in_process_clients_are_decided_once_by_the_injector_or_once_by_the_proxy(url):
    with armed(faults.HttpError(status=500, first_n=2, proxy=True)) as (ctx,):
        assert requests.get(url).status_code == 500  # no proxy variables in-process: the injector decides
        via_proxy = proxy_env()["HTTP_PROXY"]
        assert requests.get(url, proxies={"http": via_proxy}).status_code == 500  # the proxy decides, once
        assert requests.get(url, proxies={"http": via_proxy}).status_code == 200
        with httpx.Client(proxy=via_proxy) as client:
            assert client.get(url).status_code == 200
    assert ctx.changes["requests_seen"] == 4 and ctx.changes["requests_faulted"] == 2


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_the_proxy_refuses_to_bind_anything_but_loopback(host):
    with pytest.raises(ChaosConfigError, match="only binds loopback"):
        FaultProxy(TaskInjector(key=()), host=host)
    assert require_loopback("127.0.0.1") == "127.0.0.1" and require_loopback("::1") == "::1"


def test_a_proxy_can_be_started_and_stopped_directly(url):
    proxy = FaultProxy(TaskInjector(key=()))
    address = proxy.start()
    try:
        assert address == proxy.url and CREDENTIAL_URL.match(proxy.auth_url)
        response = requests.get(url, proxies={"http": proxy.auth_url})
        assert response.status_code == 200 and response.json() == ITEMS
    finally:
        proxy.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, proxies={"http": proxy.auth_url}, timeout=1)


# ---------------------------------------------------------------------- item 6: who may use the proxy
def test_requests_without_the_task_credential_get_407_and_are_never_forwarded(url):
    with armed(faults.HttpLatency(ms=1, proxy=True)) as (ctx,):
        address = ctx.changes["proxy"]  # http://127.0.0.1:<port>, no credential
        wrong = address.replace("http://", "http://chaos:not-the-token@")
        plain = curl_code(url, "-x", address)
        wrong_token = curl_code(url, "-x", wrong)
        outside = curl_code("http://example.com/", "-x", address)
        tunnel = curl_code("https://example.com/", "-p", "-x", address, write_out="%{http_connect}")
        garbled = curl_code(url, "-x", address, "--proxy-header", "Proxy-Authorization: Basic \u00e9t\u00e9")
        challenge = curl(url, "-x", address)
        allowed = curl(url)  # the child's environment carries the credential
    assert (plain, wrong_token, outside, tunnel, garbled) == ("407", "407", "407", "407", "407")
    assert challenge.headers["proxy-authenticate"] == 'Basic realm="airflow-chaos"'
    assert allowed.status == 200 and json.loads(allowed.body) == ITEMS
    assert ctx.changes["requests_seen"] == 1  # only the authenticated request reached the rules


def test_connect_goes_only_to_443_unless_a_fault_names_the_port(server, url):
    with armed(faults.HttpLatency(ms=1, proxy=True)) as (ctx,):
        refused = curl(url, "-p")
        code = curl_code(url, "-p", write_out="%{http_connect}")
    assert refused.status == 403 and refused.code == 56 and code == "403"  # curl: CONNECT refused
    assert ctx.changes["requests_seen"] == 0
    with armed(faults.HttpLatency(ms=1, host=f"127.0.0.1:{server.port}", proxy=True)) as (ctx,):
        tunnelled = curl(url, "-p")
    assert tunnelled.status == 200 and json.loads(tunnelled.body) == ITEMS
    assert ctx.changes["requests_seen"] == 1


def test_a_request_to_the_proxy_itself_is_refused_and_the_proxy_keeps_serving(url):
    with armed(faults.HttpLatency(ms=1, proxy=True)) as (ctx,):
        address = ctx.changes["proxy"]
        port = address.rsplit(":", 1)[1]
        looped = [curl(f"{address}/items"), curl(f"http://localhost:{port}/"), curl(f"http://127.0.0.1:{port}/x")]
        tunnel = curl_code(f"http://127.0.0.1:{port}/", "-p", write_out="%{http_connect}")
        userinfo = proxy_env()["HTTP_PROXY"].removeprefix("http://").split("@")[0]
        credential = "Proxy-Authorization: Basic " + base64.b64encode(userinfo.encode()).decode()
        as_a_server = curl_code(f"{address}/items", "--noproxy", "*", "-H", credential)  # origin-form
        after = [curl(url) for _ in range(3)]
    assert [r.status for r in looped] == [508, 508, 508] and all(r.elapsed < 2 for r in looped)
    assert tunnel == "508" and as_a_server == "400"
    assert [r.status for r in after] == [200, 200, 200]
    assert ctx.changes["requests_seen"] == 3  # refused requests never reach the rules


# ---------------------------------------------------------------------- item 5: streaming, bounded memory
BLOCK = bytes(range(256)) * 256  # 64 KiB of generated bytes
MIB = 1024 * 1024


class _StreamingUpstream(BaseHTTPRequestHandler):
    """``GET /bytes/<n>`` streams n generated bytes; ``PUT``/``POST`` count and hash the body as it arrives."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        size = int(self.path.rsplit("/", 1)[1])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for start in range(0, size, len(BLOCK)):
            self.wfile.write(BLOCK[: size - start])

    def do_PUT(self) -> None:
        digest, size = hashlib.sha256(), 0
        for chunk in self._body():
            digest.update(chunk)
            size += len(chunk)
        received = {
            "bytes": size,
            "sha256": digest.hexdigest(),
            "content_length": self.headers.get("Content-Length"),
            "transfer_encoding": self.headers.get("Transfer-Encoding"),
        }
        payload = json.dumps(received).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_PUT

    def _body(self) -> Iterator[bytes]:
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            yield from self._exactly(int(self.headers.get("Content-Length", 0)))
            return
        while size := int(self.rfile.readline().split(b";")[0], 16):
            yield from self._exactly(size)
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b""):  # trailers
            pass

    def _exactly(self, size: int) -> Iterator[bytes]:
        while size > 0:
            chunk = self.rfile.read(min(size, len(BLOCK)))
            if not chunk:
                return
            size -= len(chunk)
            yield chunk

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that streams generated bytes and sinks uploads."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _StreamingUpstream)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def sha256_of(size: int, block: bytes) -> str:
    digest = hashlib.sha256()
    for start in range(0, size, len(block)):
        digest.update(block[: size - start])
    return digest.hexdigest()


def test_a_request_body_over_1_mib_goes_through_when_no_fault_matches(upstream, tmp_path: Path):
    body = tmp_path / "body.bin"
    body.write_bytes(BLOCK * 80)  # 5 MiB
    with armed(faults.HttpError(status=500, host="elsewhere.invalid", proxy=True)) as (ctx,):
        result = curl(f"{upstream}/sink", "--data-binary", f"@{body}")
    assert result.status == 200, result.body[:200]
    received = json.loads(result.body)
    assert received["bytes"] == 5 * MIB and received["sha256"] == sha256_of(5 * MIB, BLOCK)
    assert received["content_length"] == str(5 * MIB) and received["transfer_encoding"] is None
    assert ctx.changes["requests_seen"] == 0


PROXY_PROCESS = """
import sys
from airflow_chaos import faults
from airflow_chaos.faults.base import FaultContext
from airflow_chaos.faults.http_injector import TaskInjector
from airflow_chaos.faults.http_proxy import FaultProxy

# a rule that matches every request (tunnels too), draws, and never fires; it names the upstream port for CONNECT
rule = faults.HttpLatency(ms=1000, rate=0.0, host=sys.argv[1]).rule(FaultContext(seed=1))
proxy = FaultProxy(TaskInjector(key=(), rules=(rule,)))
proxy.start()
print(proxy.auth_url, flush=True)
sys.stdin.read()
print(rule.seen, flush=True)
proxy.stop()
"""


class PeakRss:
    """Peak resident memory of another process since :meth:`reset`, from ``/proc/<pid>``.

    Resets the kernel's high-water mark (``clear_refs`` 5) and reads ``VmHWM``; where that is not
    allowed, samples ``VmRSS`` every 5 ms instead.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.sampled = 0
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    def _kib(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.pid}/status")

    def reset(self) -> int:
        """Start measuring; return the resident memory now (KiB)."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        return self._kib("VmRSS")

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.sampled = max(self.sampled, self._kib("VmRSS"))

    def peak(self) -> int:
        """The peak resident memory since :meth:`reset` (KiB)."""
        if self._sampler is None:
            return self._kib("VmHWM")
        self._stop.set()
        self._sampler.join()
        return self.sampled


def test_200_mib_stream_through_the_proxy_both_ways_with_bounded_memory(upstream):
    """The proxy runs in its own process; curl downloads and uploads 200 MiB, plain and through CONNECT."""
    size = 200 * MIB
    named = upstream.removeprefix("http://")
    proxy = subprocess.Popen(
        [sys.executable, "-c", PROXY_PROCESS, named], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proxy.stdout is not None and proxy.stdin is not None
        auth_url = proxy.stdout.readline().strip()
        assert CREDENTIAL_URL.match(auth_url), auth_url
        warm = subprocess.run(["curl", "-s", "-x", auth_url, f"{upstream}/bytes/{MIB}"], capture_output=True)
        assert len(warm.stdout) == MIB  # lazy imports and the first draw happen before measuring
        memory = PeakRss(proxy.pid)
        baseline = memory.reset()
        started = time.perf_counter()
        download = f"curl -s -S -f -x {auth_url} {upstream}/bytes/{size} | sha256sum"
        tunnel = f"curl -s -S -f -p -x {auth_url} {upstream}/bytes/{size} | sha256sum"
        upload = f"head -c {size} /dev/zero | curl -s -S -f -x {auth_url} -T - {upstream}/sink"
        tunnel_upload = f"head -c {size} /dev/zero | curl -s -S -f -p -x {auth_url} -T - {upstream}/sink"
        out = [
            subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120)
            for cmd in (download, tunnel, upload, tunnel_upload)
        ]
        seconds = time.perf_counter() - started
        growth_mib = (memory.peak() - baseline) / 1024
        proxy.stdin.close()
        seen = int(proxy.stdout.readline())
    finally:
        proxy.kill()
        proxy.wait()
    assert [o.returncode for o in out] == [0, 0, 0, 0], [o.stderr for o in out]
    generated, zeros = sha256_of(size, BLOCK), sha256_of(size, bytes(len(BLOCK)))
    assert out[0].stdout.split()[0] == generated and out[1].stdout.split()[0] == generated
    for uploaded in (json.loads(out[2].stdout), json.loads(out[3].stdout)):
        assert uploaded["bytes"] == size and uploaded["sha256"] == zeros
    assert seen == 1 + 4  # every request went through the rules (the tunnels as CONNECT)
    print(f"800 MiB through the proxy in {seconds:.1f} s, peak RSS growth {growth_mib:.1f} MiB")
    assert growth_mib < 64, f"the proxy's peak RSS grew {growth_mib:.0f} MiB while streaming"


# ---------------------------------------------------------------------- item 7: only the armed task's children
def test_other_threads_of_the_worker_are_not_routed_through_the_proxy(url):
    """A second thread of the same process, running while the proxy is armed, is never faulted."""
    seen: dict[str, object] = {}
    armed_now, checked, stopped = threading.Event(), threading.Event(), threading.Event()

    def other_thread() -> None:
        assert armed_now.wait(10)
        seen["HTTP_PROXY"] = os.environ.get("HTTP_PROXY")
        seen["requests"] = requests.get(url, timeout=5).status_code
        client = httpx.Client(timeout=5)  # built while the proxy is up: trust_env reads the environment now
        seen["httpx"] = client.get(url).status_code
        seen["curl"] = curl(url).status  # a child of this thread inherits nothing
        seen["proxy_env"] = "HTTP_PROXY" in proxy_env()
        checked.set()
        assert stopped.wait(10)
        seen["httpx after the proxy stopped"] = client.get(url).status_code
        client.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    with armed(faults.HttpError(status=503, proxy=True)) as (ctx,):
        armed_now.set()
        assert checked.wait(20)
        faulted = curl(url)
    stopped.set()
    thread.join(10)
    assert seen == {
        "HTTP_PROXY": None,
        "requests": 200,
        "httpx": 200,
        "curl": 200,
        "proxy_env": False,
        "httpx after the proxy stopped": 200,
    }
    assert faulted.status == 503 and ctx.changes["requests_seen"] == 1


def test_every_way_popen_takes_an_environment_gets_the_proxy_in_the_armed_context():
    names = ("HTTP_PROXY", "https_proxy", "NO_PROXY", "KEPT")
    command = ["sh", "-c", "; ".join(f'echo "{n}=${{{n}--}}"' for n in names)]

    def values(process: subprocess.Popen[str]) -> dict[str, str]:
        return dict(line.split("=", 1) for line in process.communicate()[0].splitlines())

    explicit = {"KEPT": "yes", "NO_PROXY": "*", "PATH": os.environ["PATH"]}
    pipe = subprocess.PIPE
    assert values(subprocess.Popen(command, stdout=pipe, text=True, env=explicit))["HTTP_PROXY"] == "-"
    with armed(faults.HttpLatency(ms=1, proxy=True)):
        injector = active()
        assert injector is not None and injector.proxy is not None
        expected = proxy_env()["HTTP_PROXY"]
        inherited = values(subprocess.Popen(command, stdout=pipe, text=True))
        given = values(subprocess.Popen(command, stdout=pipe, text=True, env=explicit))
        # Popen(args, bufsize, executable, stdin, stdout, stderr, preexec_fn, close_fds, shell, cwd, env)
        by_position = values(
            subprocess.Popen(command, -1, None, None, pipe, None, None, True, False, None, explicit, text=True)
        )
    assert CREDENTIAL_URL.match(expected)
    assert inherited == {"HTTP_PROXY": expected, "https_proxy": expected, "NO_PROXY": "-", "KEPT": "-"}
    assert given == by_position == {"HTTP_PROXY": expected, "https_proxy": expected, "NO_PROXY": "-", "KEPT": "yes"}
    assert explicit["NO_PROXY"] == "*"  # the caller's mapping is not modified


def test_proxy_env_outside_an_armed_proxy_is_a_plain_copy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "internal")
    assert proxy_env() == dict(os.environ)
    assert proxy_env({"A": "1"}) == {"A": "1"}
    with armed(faults.HttpError(status=500)):  # armed, but no proxy=True
        assert proxy_env() == dict(os.environ)
