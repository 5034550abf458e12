"""A loopback HTTP fault proxy for the child processes of an armed task (``curl`` in a ``BashOperator``).

Started by an armed task's HTTP faults when one sets ``proxy=True``; it lives as long as the task
runs. Its boundary:

- **Where it listens**: 127.0.0.1 (any other bind raises ChaosConfigError) on a free port, on its own
  event loop in a background thread.
- **Who can use it**: only clients holding the task's credential. Each proxy draws a random token
  (:mod:`secrets`) and accepts a request only with ``Proxy-Authorization: Basic`` for
  ``chaos:<token>``; anything else (another local process, another task, a request without or with a
  wrong credential) gets ``407``. The token is never recorded: the injection records :attr:`FaultProxy.url`,
  which carries no credential.
- **Who is pointed at it**: only child processes started from the armed task's context. Nothing is
  written to ``os.environ``: while the proxy is up, ``subprocess.Popen`` (and so ``subprocess.run``,
  ``BashOperator``, ``@task.bash``, ``PythonVirtualenvOperator``, ``asyncio`` subprocesses) started in
  the armed task's context gets ``HTTP_PROXY``/``HTTPS_PROXY``/``http_proxy``/``https_proxy`` =
  ``http://chaos:<token>@127.0.0.1:<port>`` with ``NO_PROXY``/``no_proxy`` removed, added to the
  environment it would have had (``env=`` given or inherited). Other threads of the worker, other
  tasks and the armed task's own in-process clients never see these variables (the in-process
  injector already faults the task's own requests). Children started another way (``os.system``,
  ``os.exec*``, ``os.posix_spawn``, a thread the task starts without ``contextvars.copy_context()``)
  get nothing; build their environment with :func:`proxy_env`.
- **What it forwards**: absolute-form HTTP requests (``GET http://host/...``) and ``CONNECT`` tunnels.
  A request in origin-form (the proxy addressed as a server) is refused with ``400``, one aimed at
  the proxy's own address with ``508 Loop Detected``, a ``CONNECT`` to a port other than 443 with
  ``403`` unless one of the task's faults names that port in its ``host`` selector (``host="api:8443"``).
  Upstreams are not restricted to loopback: the credential is what keeps other users out.
- **What it streams**: request and response bodies pass through in 64 KiB chunks with backpressure
  both ways, whatever their size (``Content-Length`` is kept; ``Expect: 100-continue`` is answered).
  Only a :class:`~airflow_chaos.faults.http.MalformedBody` fault reads a whole body, up to
  :data:`MALFORM_LIMIT` (a longer one is answered ``502``). Tunnels are relayed with backpressure too.

Plain HTTP requests get every fault kind, decided by the same
:class:`~airflow_chaos.faults.http_injector.TaskInjector` (same rules, streams and counts) as the
in-process injector. HTTPS goes through ``CONNECT`` and is tunnelled untouched: only latency, reset
and blackhole faults apply to the tunnel (matched on host; method and path are unknown).
aiohttp is imported lazily.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import ipaddress
import logging
import os
import secrets
import socket
import struct
import subprocess
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.http_injector import (
    Hit,
    RequestInfo,
    TaskInjector,
    active,
    error_body,
    fault_headers,
    malform,
)

if TYPE_CHECKING:
    from aiohttp import ClientResponse, ClientSession, web

log = logging.getLogger(__name__)

PROXY_USER = "chaos"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
NO_PROXY_VARIABLES = ("NO_PROXY", "no_proxy")
CHUNK = 64 * 1024
"""Bytes relayed per read, both ways."""
MALFORM_LIMIT = 8 * 1024 * 1024
"""The largest response body a MalformedBody fault reads whole through the proxy."""
TUNNEL_PORT = 443
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = _HOP_BY_HOP | {"host", "content-length", "expect"}
_SELF_HOSTS = frozenset({"localhost", "0.0.0.0", "::"})


def require_loopback(host: str) -> str:
    """Return ``host`` if it is a loopback address, else raise ChaosConfigError."""
    if not _is_loopback(host):
        raise ChaosConfigError(f"FaultProxy: field 'host': the fault proxy only binds loopback, got {host!r}")
    return host


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _abort(request: web.BaseRequest) -> None:
    """Close the client connection with a TCP RST."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _refuse(status: int, text: str, **headers: str) -> web.Response:
    from aiohttp import web

    return web.Response(status=status, text=f"fault proxy: {text}", headers=headers)


class FaultProxy:
    """An aiohttp forward proxy on 127.0.0.1 that applies a task's HTTP faults to the task's child processes.

    :param injector: the task's injector whose rules decide each request.
    :param host: the loopback address to bind (anything else raises ChaosConfigError).
    :param port: the port to bind; 0 picks a free one.
    """

    def __init__(self, injector: TaskInjector, host: str = "127.0.0.1", port: int = 0) -> None:
        self.injector = injector
        self.host = require_loopback(host)
        self.port = port
        self._token = secrets.token_urlsafe(18)
        self._expected = b"Basic " + base64.b64encode(f"{PROXY_USER}:{self._token}".encode())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.BaseRunner | None = None
        self._session: ClientSession | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def url(self) -> str:
        """The proxy's address, without the credential (safe to log and record)."""
        return f"http://{self._netloc}"

    @property
    def auth_url(self) -> str:
        """The URL clients use: ``http://chaos:<token>@127.0.0.1:<port>`` (a secret: do not log it)."""
        return f"http://{PROXY_USER}:{self._token}@{self._netloc}"

    @property
    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """A copy of ``base`` with the proxy variables (both cases) set to :attr:`auth_url` and ``NO_PROXY`` removed."""
        env = {k: v for k, v in base.items() if k not in NO_PROXY_VARIABLES}
        env.update(dict.fromkeys(PROXY_VARIABLES, self.auth_url))
        return env

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Start serving in a background thread; return :attr:`url` (no credential).

        From now on, child processes started in the context of this proxy's armed task get
        :meth:`environment` (see :func:`install_child_environment`); ``os.environ`` is not touched.
        """
        install_child_environment()
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="airflow-chaos-proxy", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), loop).result(timeout=10)
        log.info("airflow-chaos fault proxy listening on %s", self.url)
        return self.url

    def stop(self) -> None:
        """Stop the server and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    async def _serve(self) -> None:
        from aiohttp import ClientSession, ClientTimeout, web

        server = web.Server(self._handle, handler_cancellation=True)
        self._runner = web.ServerRunner(server, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._session = ClientSession(
            auto_decompress=False,
            timeout=ClientTimeout(total=None),
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),  # only what the client sent
        )

    async def _shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ who may ask for what
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        if request.method == "CONNECT":
            return await self._tunnel(request)
        return await self._forward(request)

    def _refusal(self, request: web.BaseRequest) -> web.StreamResponse | None:
        """Why this request is refused before any fault decides it (407, 400, 508, 403), or None."""
        given = request.headers.get("Proxy-Authorization", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._expected):
            return _refuse(407, "proxy credential required", **{"Proxy-Authenticate": 'Basic realm="airflow-chaos"'})
        connect = request.method == "CONNECT"
        if not connect and request.raw_path[:7].lower() != "http://":
            return _refuse(400, "not a proxy request: the target must be an absolute http:// URL (CONNECT for https)")
        host, port = _target(request)
        if self._is_self(host, port):
            return _refuse(508, "refusing a request to the proxy's own address")
        if connect and port != TUNNEL_PORT and not self._port_named(port):
            return _refuse(403, f"CONNECT only to port {TUNNEL_PORT} unless a fault's host names the port")
        return None

    def _is_self(self, host: str, port: int | None) -> bool:
        return port == self.port and (host in _SELF_HOSTS or _is_loopback(host))

    def _port_named(self, port: int | None) -> bool:
        """Whether one of the task's faults selects ``host:port`` explicitly (``host="api.internal:8443"``)."""
        return any(rule.host.endswith(f":{port}") for rule in self.injector.rules)

    # ------------------------------------------------------------------ plain HTTP
    async def _forward(self, request: web.BaseRequest) -> web.StreamResponse:
        host, port = _target(request)
        info = RequestInfo(request.method.upper(), host, port, request.url.path or "/")
        plan = self.injector.plan(info)
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
        hit = plan.terminal
        if hit is not None and hit.effect.kind != "malformed":
            return await self._fault(request, hit)
        try:
            await _continue(request)
            async with self._send(request, hit) as upstream:
                if hit is not None:
                    return await _malformed(upstream, hit)
                return await _stream_back(request, upstream)
        except Exception as exc:  # noqa: BLE001 - any upstream failure before the answer is a 502
            return _refuse(502, f"upstream failed: {type(exc).__name__}: {exc}")

    async def _fault(self, request: web.BaseRequest, hit: Hit) -> web.StreamResponse:
        from aiohttp import web

        kind = hit.effect.kind
        if kind == "respond":
            assert hit.status is not None
            return web.Response(status=hit.status, headers=fault_headers(hit), body=error_body(hit.status))
        if kind == "unreachable":
            return web.Response(status=502, headers=fault_headers(hit, None), text="host unreachable (injected)")
        if kind == "timeout":
            await asyncio.sleep(hit.effect.wait_s)
        _abort(request)
        return web.Response(status=504)  # never reaches the client: the connection is gone

    def _send(self, request: web.BaseRequest, hit: Hit | None) -> Any:
        """The upstream request (an async context manager), its body streamed from the client's.

        With a malformed-body hit, upstream is asked for identity encoding so the body can be broken.
        """
        from multidict import CIMultiDict

        assert self._session is not None
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED)
        if hit is not None:
            headers["Accept-Encoding"] = "identity"
        data = None
        if request.body_exists:
            if request.content_length is not None:
                headers["Content-Length"] = str(request.content_length)
            data = request.content
        return self._session.request(
            request.method,
            str(request.url),
            headers=headers,
            data=data,
            allow_redirects=False,
        )

    # ------------------------------------------------------------------ CONNECT
    async def _tunnel(self, request: web.BaseRequest) -> web.StreamResponse:
        from aiohttp import web

        host, port = _target(request)
        plan = self.injector.plan(RequestInfo("CONNECT", host, port, ""), tunnel=True)
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
        if plan.terminal is not None:
            return await self._fault(request, plan.terminal)
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            return _refuse(502, f"cannot reach {host}:{port}: {exc}")
        response = web.StreamResponse(status=200, reason="Connection established")
        await response.prepare(request)
        await _pipe_both(request, reader, writer)
        return response


async def _continue(request: web.BaseRequest) -> None:
    """Answer ``Expect: 100-continue`` before reading the body (the client then sends it at once)."""
    if request.body_exists and request.headers.get("Expect", "").lower() == "100-continue":
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0


def _target(request: web.BaseRequest) -> tuple[str, int | None]:
    """The host (lower case, no brackets) and port a proxy request is for (443 for a CONNECT without port)."""
    url = request.url
    default = TUNNEL_PORT if request.method == "CONNECT" else None
    return (url.host or "").strip("[]").lower(), url.port or default


async def _stream_back(request: web.BaseRequest, upstream: ClientResponse) -> web.StreamResponse:
    """Relay the upstream response chunk by chunk; a failure mid-body cuts the client's connection."""
    from aiohttp import ClientError, web
    from multidict import CIMultiDict

    headers = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in _NOT_FORWARDED)
    length = upstream.content_length if "chunked" not in upstream.headers.get("Transfer-Encoding", "") else None
    if length is not None and length <= CHUNK and request.method != "HEAD":  # one chunk: answered in one write
        body = await upstream.read()
        return web.Response(status=upstream.status, reason=upstream.reason, headers=headers, body=body)
    response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
    if length is not None:
        response.content_length = length
    await response.prepare(request)
    try:
        async for chunk in upstream.content.iter_chunked(CHUNK):
            await response.write(chunk)
        await response.write_eof()
    except (ClientError, OSError, asyncio.TimeoutError):
        _abort(request)  # the client sees the body cut short, as from the upstream itself
    return response


async def _malformed(upstream: ClientResponse, hit: Hit) -> web.StreamResponse:
    """Read the body whole (at most :data:`MALFORM_LIMIT` bytes) and answer it broken."""
    from aiohttp import web
    from multidict import CIMultiDict

    chunks: list[bytes] = []
    size = 0
    async for chunk in upstream.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > MALFORM_LIMIT:
            return _refuse(502, f"body over {MALFORM_LIMIT} bytes, too large to malform", **fault_headers(hit, None))
        chunks.append(chunk)
    out = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in _NOT_FORWARDED)
    content, ctype = malform(b"".join(chunks), out.popone("Content-Type", None), hit.effect.malformation)
    out.update(fault_headers(hit, ctype))
    return web.Response(status=upstream.status, headers=out, body=content)


class _TunnelFeed:
    """Receives the client's bytes after CONNECT from aiohttp's protocol and writes them upstream.

    When the upstream's write buffer passes :data:`CHUNK`, reading from the client pauses until it drains.
    """

    def __init__(self, writer: asyncio.StreamWriter, client: asyncio.Transport) -> None:
        self.writer = writer
        self.client = client
        self.paused = False
        self._resuming: asyncio.Future[None] | None = None

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.writer.write(data)
        if not self.paused and self.writer.transport.get_write_buffer_size() > CHUNK:
            self.paused = True
            self.client.pause_reading()
            self._resuming = asyncio.ensure_future(self._resume())
        return False, b""

    async def _resume(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            await self.writer.drain()
        self.paused = False
        with contextlib.suppress(RuntimeError):
            self.client.resume_reading()

    def feed_eof(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self.writer.write_eof()


async def _pipe_both(request: web.BaseRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Pipe bytes both ways until either side closes (aiohttp's protocol hands over the raw stream)."""
    transport = request.transport
    assert transport is not None
    request.protocol.set_parser(_TunnelFeed(writer, transport))  # type: ignore[arg-type]
    try:
        while data := await reader.read(CHUNK):
            transport.write(data)
            await request.writer.drain()  # wait while the client's buffer is over its high-water mark
    except OSError:
        pass
    finally:
        writer.close()
        transport.close()


# ---------------------------------------------------------------------- child processes of the armed task
def proxy_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process of the armed task: ``base`` (default ``os.environ``) pointed at its proxy.

    In the context of a task armed with ``proxy=True``: a copy of ``base`` with ``HTTP_PROXY``,
    ``HTTPS_PROXY`` (both cases) = ``http://chaos:<token>@127.0.0.1:<port>`` and no ``NO_PROXY``.
    Anywhere else (chaos disabled, no proxy fault, another thread): a plain copy of ``base``.
    ``subprocess.Popen`` gets this automatically; use it for ``os.exec*``, ``os.posix_spawn`` or
    a process started by a thread without the task's context.
    """
    env = dict(os.environ if base is None else base)
    injector = active()
    if injector is None or injector.proxy is None:
        return env
    return injector.proxy.environment(env)


_CHILD_LOCK = threading.Lock()
_child: dict[str, Any] = {}
# Popen(args, bufsize, executable, stdin, stdout, stderr, preexec_fn, close_fds, shell, cwd, env, ...)
_ENV_POSITION = 10


def install_child_environment() -> None:
    """Wrap ``subprocess.Popen.__init__`` once: children started in an armed task's context get :func:`proxy_env`.

    Outside such a context a Popen costs one ``ContextVar.get``; idempotent and thread-safe.
    """
    with _CHILD_LOCK:
        if "original" in _child:
            return
        original = subprocess.Popen.__init__
        _child["original"] = original

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            injector = active()
            if injector is not None and injector.proxy is not None:
                args, kwargs = _with_proxy(args, kwargs)
            original(self, *args, **kwargs)

        __init__.__wrapped__ = original  # type: ignore[attr-defined]
        subprocess.Popen.__init__ = __init__  # type: ignore[method-assign]


def uninstall_child_environment() -> None:
    """Restore ``subprocess.Popen.__init__`` (tests)."""
    with _CHILD_LOCK:
        if "original" in _child:
            subprocess.Popen.__init__ = _child.pop("original")  # type: ignore[method-assign]


def _with_proxy(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Popen's arguments with ``env`` (positional or keyword, None meaning inherited) pointed at the proxy."""
    if len(args) > _ENV_POSITION:
        env = proxy_env(args[_ENV_POSITION])
        return (*args[:_ENV_POSITION], env, *args[_ENV_POSITION + 1 :]), kwargs
    return args, {**kwargs, "env": proxy_env(kwargs.get("env"))}
