"""The in-process HTTP fault injector: a urllib3 patch and an httpx transport, scoped by a ContextVar.

While an armed task runs, its HTTP faults are :class:`Rule` objects held in a per-task
:class:`TaskInjector` stored in the ContextVar ``_ACTIVE``. Outgoing requests consult it:

- **urllib3** (and so ``requests``, botocore and the MLflow client): ``HTTPConnectionPool._make_request``
  is wrapped once, idempotently, the first time a rule is armed. It runs once per attempt inside
  ``urlopen``, so urllib3's own ``Retry`` (status_forcelist, backoff, ``Retry-After``) sees faulted
  responses exactly like real ones.
- **httpx**: ``httpx.HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request``
  are wrapped the same way; :class:`ChaosTransport` wraps any other transport explicitly.

When the ContextVar is empty a patched call costs one ``ContextVar.get``. Context variables do not
flow into new threads, so a concurrent task in another thread never sees this task's faults, and a
nested armed task gets its own injector (keyed by dag, run, task and try) that shadows the outer one.

Per-request decisions come from each rule's own seeded generator: the same seed and try number give
the same calls faulted in the same order. No Airflow imports.

The loopback proxy (:mod:`airflow_chaos.faults.http_proxy`) builds on this module, never the other
way round: :func:`arm` starts whatever :data:`ProxyFactory` it is given (``FaultProxy``).
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx
    import numpy as np

EffectKind = Literal["respond", "latency", "timeout", "reset", "unreachable", "malformed"]
Malformation = Literal["truncated_json", "wrong_content_type", "empty", "schema_mismatch"]
TUNNEL_EFFECTS: frozenset[str] = frozenset({"latency", "reset", "unreachable"})
FAULT_HEADER = "X-Chaos-Fault"
_PATTERN_LIMIT = 200


# ---------------------------------------------------------------------- what a rule does to a request
@dataclass(frozen=True)
class Effect:
    """What happens to a faulted request. ``latency`` adds delay and lets the request continue."""

    kind: EffectKind
    statuses: tuple[int, ...] = ()
    retry_after: int | None = None
    ms: float = 0.0
    jitter_ms: float = 0.0
    wait_s: float = 30.0
    malformation: Malformation = "truncated_json"

    @property
    def terminal(self) -> bool:
        return self.kind != "latency"

    def label(self, status: int | None) -> str:
        """The counting key: ``http_500``, ``latency``, ``malformed:empty``..."""
        if self.kind == "respond":
            return f"http_{status}"
        if self.kind == "malformed":
            return f"malformed:{self.malformation}"
        return self.kind


@dataclass(frozen=True)
class RequestInfo:
    """The parts of a request that selectors match."""

    method: str
    host: str
    port: int | None
    path: str


@dataclass(frozen=True)
class Hit:
    """One rule's decision to fault one request."""

    rule: Rule
    effect: Effect
    status: int | None = None
    delay_s: float = 0.0


@dataclass(frozen=True)
class Plan:
    """All decisions for one request: total added latency, then at most one terminal fault."""

    delay_s: float = 0.0
    terminal: Hit | None = None


# ---------------------------------------------------------------------- one armed fault
def _glob(pattern: str, lower: bool = False) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern.lower() if lower else pattern), re.IGNORECASE if lower else 0)


@dataclass(eq=False)
class Rule:
    """One armed HTTP fault: selectors, rate, ``first_n``, its seeded stream and its counts."""

    name: str
    effect: Effect
    seed: int
    host: str = "*"
    path: str = "*"
    method: str = "*"
    rate: float = 1.0
    first_n: int | None = None
    seen: int = 0
    faulted: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    pattern: list[str] = field(default_factory=list)
    _rng: np.random.Generator | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._host_re = _glob(self.host, lower=True)
        self._path_re = _glob(self.path)
        self._method_re = _glob(self.method, lower=True)

    def matches(self, req: RequestInfo) -> bool:
        host_ok = self._host_re.match(req.host) is not None or (
            req.port is not None and self._host_re.match(f"{req.host}:{req.port}") is not None
        )
        return host_ok and self._method_re.match(req.method) is not None and self._path_re.match(req.path) is not None

    def _draws(self) -> tuple[float, float]:
        if self._rng is None:
            import numpy as np

            self._rng = np.random.default_rng(self.seed)
        a, b = self._rng.random(2)
        return float(a), float(b)

    def decide(self, req: RequestInfo) -> Hit | None:
        """Count the request if it matches; return a Hit when this rule faults it (two draws per request)."""
        if not self.matches(req):
            return None
        index = self.seen
        self.seen += 1
        fire, pick = self._draws()
        eligible = self.first_n is None or index < self.first_n
        if not (eligible and fire < self.rate):
            self._mark(".")
            return None
        effect = self.effect
        status = (
            effect.statuses[min(int(pick * len(effect.statuses)), len(effect.statuses) - 1)]
            if effect.statuses
            else None
        )
        delay = (effect.ms + pick * effect.jitter_ms) / 1000.0 if effect.kind == "latency" else 0.0
        return Hit(self, effect, status, delay)

    def count(self, hit: Hit) -> None:
        self.faulted += 1
        key = hit.effect.label(hit.status)
        self.by_kind[key] = self.by_kind.get(key, 0) + 1
        self._mark("F")

    def unapplied(self) -> None:
        """A hit that another rule's terminal fault pre-empted."""
        self._mark(".")

    def _mark(self, char: str) -> None:
        if len(self.pattern) < _PATTERN_LIMIT:
            self.pattern.append(char)

    def summary(self) -> dict[str, Any]:
        """The counts recorded on the injection."""
        kinds = ", ".join(f"{n} with {k}" for k, n in sorted(self.by_kind.items()))
        text = f"{self.faulted} of {self.seen} calls faulted" + (f" ({kinds})" if kinds else "")
        return {
            "requests_seen": self.seen,
            "requests_faulted": self.faulted,
            "faulted_by_kind": dict(sorted(self.by_kind.items())),
            "pattern": "".join(self.pattern),
            "summary": text,
            "effective": self.faulted > 0,
        }


# ---------------------------------------------------------------------- the per-task injector
class Proxy(Protocol):
    """What the injector needs of a loopback fault proxy (:class:`~airflow_chaos.faults.http_proxy.FaultProxy`)."""

    @property
    def address(self) -> tuple[str, int]: ...

    @property
    def url(self) -> str: ...

    def environment(self, base: Mapping[str, str]) -> dict[str, str]: ...

    def start(self) -> str: ...

    def stop(self) -> None: ...


@dataclass(eq=False)
class TaskInjector:
    """The HTTP rules armed on one task instance, shared by the in-process patches and the proxy."""

    key: tuple[Any, ...]
    rules: tuple[Rule, ...] = ()
    proxy: Proxy | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, req: RequestInfo, tunnel: bool = False) -> Plan:
        """Decide every rule for ``req``: latencies add up, the first terminal fault wins."""
        delay, terminal = 0.0, None
        with self.lock:
            for rule in self.rules:
                if tunnel and rule.effect.kind not in TUNNEL_EFFECTS:
                    continue
                hit = rule.decide(req)
                if hit is None:
                    continue
                if not hit.effect.terminal:
                    delay += hit.delay_s
                    rule.count(hit)
                elif terminal is None:
                    terminal = hit
                    rule.count(hit)
                else:
                    rule.unapplied()
        return Plan(delay, terminal)


ProxyFactory = Callable[[TaskInjector], Proxy]
"""Builds the (not yet started) proxy serving one injector's rules: ``FaultProxy`` itself."""

_ACTIVE: contextvars.ContextVar[TaskInjector | None] = contextvars.ContextVar("airflow_chaos_http", default=None)


def active() -> TaskInjector | None:
    """The injector of the armed task running in this context, if any."""
    return _ACTIVE.get()


@contextlib.contextmanager
def arm(rule: Rule, key: tuple[Any, ...], *, proxy: ProxyFactory | None = None) -> Iterator[TaskInjector]:
    """Arm ``rule`` for the current context; rules armed with the same ``key`` share one injector.

    A different key (a nested armed task) gets a fresh injector that shadows the outer one until it
    exits. With a ``proxy`` factory (``FaultProxy``) the loopback fault proxy is started for the
    child processes started in this context, unless the injector already has one.
    """
    install()
    current = _ACTIVE.get()
    owner = current is None or current.key != key
    injector = TaskInjector(key) if owner else current
    assert injector is not None
    token = _ACTIVE.set(injector) if owner else None
    injector.rules = (*injector.rules, rule)
    started_proxy = None
    try:
        if proxy is not None and injector.proxy is None:
            started_proxy = _start_proxy(injector, proxy)
        yield injector
    finally:
        injector.rules = tuple(r for r in injector.rules if r is not rule)
        if started_proxy is not None:
            started_proxy.stop()
            injector.proxy = None
        if token is not None:
            _ACTIVE.reset(token)


def _start_proxy(injector: TaskInjector, factory: ProxyFactory) -> Proxy:
    proxy = factory(injector)
    proxy.start()
    injector.proxy = proxy
    return proxy


# ---------------------------------------------------------------------- bodies and headers
def error_body(status: int) -> bytes:
    return json.dumps({"error": "injected by airflow-chaos", "status": status}).encode()


def fault_headers(hit: Hit, content_type: str | None = "application/json") -> dict[str, str]:
    """The headers a faulted response carries (urllib3, httpx and the proxy alike).

    ``Content-Type`` when ``content_type`` is given, :data:`FAULT_HEADER` naming the fault
    (``http_503``, ``malformed:empty``, ``unreachable``...) and ``Retry-After`` when the fault sets one.
    """
    headers = {"Content-Type": content_type} if content_type else {}
    headers[FAULT_HEADER] = hit.effect.label(hit.status)
    if hit.effect.retry_after is not None:
        headers["Retry-After"] = str(hit.effect.retry_after)
    return headers


def _rename_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {f"{k}_v2": _rename_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_keys(v) for v in value]
    return value


def malform(body: bytes, content_type: str | None, malformation: Malformation) -> tuple[bytes, str | None]:
    """Return the malformed body and content type.

    ``truncated_json`` keeps the first half of the bytes; ``wrong_content_type`` serves an HTML
    gateway page as ``text/html``; ``empty`` sends no bytes; ``schema_mismatch`` keeps valid JSON but
    renames every object key ``k`` to ``k_v2``.
    """
    if malformation == "truncated_json":
        return (body[: len(body) // 2] if len(body) > 1 else b"{"), content_type
    if malformation == "wrong_content_type":
        return b"<html><body><h1>Service temporarily unavailable</h1></body></html>", "text/html; charset=utf-8"
    if malformation == "empty":
        return b"", content_type
    try:
        return json.dumps(_rename_keys(json.loads(body))).encode(), content_type
    except ValueError:
        return body, content_type


# ---------------------------------------------------------------------- urllib3
_INSTALL_LOCK = threading.Lock()
_installed: dict[str, Any] = {}


def install() -> None:
    """Wrap urllib3 (and httpx when installed) once; idempotent and thread-safe."""
    if _installed.get("done"):
        return
    with _INSTALL_LOCK:
        if _installed.get("done"):
            return
        _install_urllib3()
        with contextlib.suppress(ImportError):
            _install_httpx()
        _installed["done"] = True


def _install_urllib3() -> None:
    from urllib3.connectionpool import HTTPConnectionPool

    original = HTTPConnectionPool._make_request
    _installed["urllib3"] = original

    def _make_request(self: Any, conn: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        injector = _ACTIVE.get()
        if injector is None or not injector.rules:
            return original(self, conn, method, url, *args, **kwargs)
        return _urllib3_faulted(injector, original, self, conn, method, url, args, kwargs)

    _make_request.__wrapped__ = original  # type: ignore[attr-defined]
    HTTPConnectionPool._make_request = _make_request  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore the original urllib3 and httpx methods (tests and benchmarks)."""
    with _INSTALL_LOCK:
        from urllib3.connectionpool import HTTPConnectionPool

        if "urllib3" in _installed:
            HTTPConnectionPool._make_request = _installed.pop("urllib3")  # type: ignore[method-assign]
        if "httpx" in _installed:
            import httpx

            httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request = _installed.pop("httpx")  # type: ignore[method-assign]
        _installed.pop("done", None)


def _urllib3_request(pool: Any, method: str, url: str) -> RequestInfo:
    if url.startswith(("http://", "https://")):
        parts = urlsplit(url)
        return RequestInfo(method.upper(), (parts.hostname or "").lower(), parts.port, parts.path or "/")
    return RequestInfo(method.upper(), str(pool.host).lower(), pool.port, url.split("?", 1)[0] or "/")


def _via_own_proxy(injector: TaskInjector, pool: Any) -> bool:
    proxy_url = getattr(pool, "proxy", None)
    return (
        injector.proxy is not None
        and proxy_url is not None
        and (proxy_url.host, proxy_url.port) == injector.proxy.address
    )


def _urllib3_faulted(
    injector: TaskInjector, original: Any, pool: Any, conn: Any, method: str, url: str, args: Any, kwargs: Any
) -> Any:
    if _via_own_proxy(injector, pool):  # the task's own proxy applies the faults
        return original(pool, conn, method, url, *args, **kwargs)
    plan = injector.plan(_urllib3_request(pool, method, url))
    if plan.delay_s:
        time.sleep(plan.delay_s)
    hit = plan.terminal
    if hit is None:
        return original(pool, conn, method, url, *args, **kwargs)
    return _urllib3_apply(hit, original, pool, conn, method, url, args, kwargs)


def _urllib3_apply(hit: Hit, original: Any, pool: Any, conn: Any, method: str, url: str, args: Any, kwargs: Any) -> Any:
    from urllib3.exceptions import NewConnectionError, ReadTimeoutError

    kind = hit.effect.kind
    if kind == "reset":
        raise ConnectionResetError(104, "Connection reset by peer (injected by airflow-chaos)")
    if kind == "unreachable":
        raise NewConnectionError(conn, "Failed to establish a new connection: [Errno 113] No route to host (injected)")
    if kind == "timeout":
        read_timeout = pool._get_timeout(kwargs.get("timeout", pool.timeout)).read_timeout
        wait = hit.effect.wait_s if read_timeout is None else min(float(read_timeout), hit.effect.wait_s)
        time.sleep(wait)
        raise ReadTimeoutError(pool, url, f"Read timed out. (read timeout={read_timeout}) (injected)")
    if kind == "respond":
        assert hit.status is not None
        return _urllib3_response(pool, method, url, kwargs, hit.status, fault_headers(hit), error_body(hit.status))
    real = original(pool, conn, method, url, *args, **{**kwargs, "preload_content": True, "decode_content": True})
    body = real.data
    headers = {
        k: v
        for k, v in real.headers.items()
        if k.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
    }
    body, ctype = malform(body, real.headers.get("Content-Type"), hit.effect.malformation)
    headers.pop("Content-Type", None)
    headers.pop("content-type", None)
    headers.update(fault_headers(hit, ctype))
    kwargs = {**kwargs, "response_conn": None}  # the real response already returned its connection
    return _urllib3_response(pool, method, url, kwargs, real.status, headers, body)


def _urllib3_response(
    pool: Any, method: str, url: str, kwargs: dict[str, Any], status: int, headers: dict[str, str], body: bytes
) -> Any:
    from http.client import responses

    from urllib3.response import HTTPResponse

    response_conn = kwargs.get("response_conn")
    if response_conn is not None:  # nothing was sent on it: hand it back to the pool now
        pool._put_conn(response_conn)
    return HTTPResponse(
        body=io.BytesIO(body),
        headers={**headers, "Content-Length": str(len(body))},
        status=status,
        version=11,
        version_string="HTTP/1.1",
        reason=responses.get(status, ""),
        preload_content=kwargs.get("preload_content", True),
        decode_content=kwargs.get("decode_content", True),
        retries=kwargs.get("retries"),
        pool=pool,
        request_method=method,
        request_url=url,
    )


# ---------------------------------------------------------------------- httpx
_HANDLED = "airflow_chaos.handled"


def _httpx_request(request: httpx.Request) -> RequestInfo:
    url = request.url
    return RequestInfo(request.method.upper(), url.host.lower(), url.port, url.path or "/")


def _httpx_plan(request: httpx.Request) -> Plan | None:
    injector = _ACTIVE.get()
    if injector is None or not injector.rules or request.extensions.get(_HANDLED):
        return None
    request.extensions = {**request.extensions, _HANDLED: True}
    return injector.plan(_httpx_request(request))


def _httpx_terminal(hit: Hit, request: httpx.Request) -> tuple[httpx.Response | None, float]:
    """The response or exception for a terminal fault that needs no upstream call; (None, 0) for malformed."""
    import httpx

    kind = hit.effect.kind
    if kind == "reset":
        raise httpx.ReadError("[Errno 104] Connection reset by peer (injected by airflow-chaos)", request=request)
    if kind == "unreachable":
        raise httpx.ConnectError("[Errno 113] No route to host (injected by airflow-chaos)", request=request)
    if kind == "timeout":
        return None, _httpx_wait(hit, request)
    if kind == "respond":
        assert hit.status is not None
        body = error_body(hit.status)
        return httpx.Response(hit.status, headers=fault_headers(hit), content=body, request=request), 0.0
    return None, 0.0


def _httpx_wait(hit: Hit, request: httpx.Request) -> float:
    read = (request.extensions.get("timeout") or {}).get("read")
    return hit.effect.wait_s if read is None else min(float(read), hit.effect.wait_s)


def _httpx_timeout(request: httpx.Request) -> Exception:
    import httpx

    return httpx.ReadTimeout("timed out (injected by airflow-chaos)", request=request)


def _httpx_malformed(hit: Hit, response: httpx.Response, request: httpx.Request) -> httpx.Response:
    import httpx

    body, ctype = malform(response.content, response.headers.get("content-type"), hit.effect.malformation)
    drop = {"content-encoding", "content-length", "transfer-encoding", "content-type"}
    headers = {k: v for k, v in response.headers.items() if k.lower() not in drop}
    headers.update(fault_headers(hit, ctype))
    headers["Content-Length"] = str(len(body))
    return httpx.Response(response.status_code, headers=headers, content=body, request=request)


def handle_sync(request: httpx.Request, call_next: Any) -> httpx.Response:
    """Apply the active faults to one httpx request; ``call_next(request)`` sends it for real."""
    plan = _httpx_plan(request)
    if plan is None:
        return call_next(request)
    if plan.delay_s:
        time.sleep(plan.delay_s)
    if plan.terminal is None:
        return call_next(request)
    response, wait = _httpx_terminal(plan.terminal, request)
    if response is not None:
        return response
    if plan.terminal.effect.kind == "timeout":
        time.sleep(wait)
        raise _httpx_timeout(request)
    real = call_next(request)
    real.read()
    real.close()
    return _httpx_malformed(plan.terminal, real, request)


async def handle_async(request: httpx.Request, call_next: Any) -> httpx.Response:
    """Async twin of :func:`handle_sync` (sleeps with asyncio)."""
    import asyncio

    plan = _httpx_plan(request)
    if plan is None:
        return await call_next(request)
    if plan.delay_s:
        await asyncio.sleep(plan.delay_s)
    if plan.terminal is None:
        return await call_next(request)
    response, wait = _httpx_terminal(plan.terminal, request)
    if response is not None:
        return response
    if plan.terminal.effect.kind == "timeout":
        await asyncio.sleep(wait)
        raise _httpx_timeout(request)
    real = await call_next(request)
    await real.aread()
    await real.aclose()
    return _httpx_malformed(plan.terminal, real, request)


def _httpx_via_own_proxy(transport: Any) -> bool:
    """True when an httpx transport sends through the armed task's own fault proxy (it decides there)."""
    injector = _ACTIVE.get()
    proxy_url = getattr(getattr(transport, "_pool", None), "_proxy_url", None)
    if injector is None or injector.proxy is None or proxy_url is None:
        return False
    return (proxy_url.host.decode(), proxy_url.port) == injector.proxy.address


def _install_httpx() -> None:
    import httpx

    sync_original = httpx.HTTPTransport.handle_request
    async_original = httpx.AsyncHTTPTransport.handle_async_request
    _installed["httpx"] = (sync_original, async_original)

    def handle_request(self: Any, request: httpx.Request) -> httpx.Response:
        if _ACTIVE.get() is None or _httpx_via_own_proxy(self):
            return sync_original(self, request)
        return handle_sync(request, lambda r: sync_original(self, r))

    async def handle_async_request(self: Any, request: httpx.Request) -> httpx.Response:
        if _ACTIVE.get() is None or _httpx_via_own_proxy(self):
            return await async_original(self, request)
        return await handle_async(request, lambda r: async_original(self, r))

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


def chaos_transport(inner: httpx.BaseTransport | None = None) -> httpx.BaseTransport:
    """An httpx transport applying the active task's faults around ``inner`` (default ``HTTPTransport()``).

    Only needed for custom transports (``MockTransport``, third-party ones): the default httpx
    transports are covered automatically while a task is armed.
    """
    import httpx

    base = inner if inner is not None else httpx.HTTPTransport()

    class ChaosTransport(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return handle_sync(request, base.handle_request)

        def close(self) -> None:
            base.close()

    return ChaosTransport()


def async_chaos_transport(inner: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncBaseTransport:
    """Async twin of :func:`chaos_transport`."""
    import httpx

    base = inner if inner is not None else httpx.AsyncHTTPTransport()

    class AsyncChaosTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await handle_async(request, base.handle_async_request)

        async def aclose(self) -> None:
            await base.aclose()

    return AsyncChaosTransport()
