"""A loopback HTTP fault proxy for subprocesses and non-Python clients (curl in a BashOperator).

Started by an armed task's HTTP faults when they set ``proxy=True``: it listens on 127.0.0.1 on a
free port for the task's duration, and :func:`proxy_environment` points ``HTTP_PROXY``/``HTTPS_PROXY``
(both cases) at it with ``NO_PROXY`` cleared, restoring everything afterwards.

- Plain HTTP requests are forwarded with aiohttp and every fault kind applies, decided by the same
  :class:`~airflow_chaos.faults.http_injector.TaskInjector` (same rules, streams and counts) as the
  in-process injector.
- HTTPS goes through ``CONNECT`` and is tunnelled untouched: only latency, reset and blackhole
  faults apply to the tunnel (matched on host; method and path are unknown).

The server runs on its own event loop in a background thread. It refuses any non-loopback bind.
aiohttp is imported lazily. Environment variables are process-wide: while the proxy is up, other
threads of the same process that honour ``HTTP_PROXY`` also route through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import struct
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.http_injector import Hit, RequestInfo, TaskInjector, error_body, fault_headers, malform

if TYPE_CHECKING:
    from aiohttp import ClientSession, web

log = logging.getLogger(__name__)

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
NO_PROXY_VARIABLES = ("NO_PROXY", "no_proxy")
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
        "host",
        "content-length",
    }
)


def require_loopback(host: str) -> str:
    """Return ``host`` if it is a loopback address, else raise ChaosConfigError."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ChaosConfigError(f"FaultProxy: field 'host': the fault proxy only binds loopback, got {host!r}")
    return host


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


class FaultProxy:
    """An aiohttp forward proxy on 127.0.0.1 that applies a task's HTTP faults.

    :param injector: the task's injector whose rules decide each request.
    :param host: the loopback address to bind (anything else raises ChaosConfigError).
    """

    def __init__(self, injector: TaskInjector, host: str = "127.0.0.1", port: int = 0) -> None:
        self.injector = injector
        self.host = require_loopback(host)
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.BaseRunner | None = None
        self._session: ClientSession | None = None
        self._env: contextlib.ExitStack | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # ------------------------------------------------------------------ lifecycle
    def start(self, set_environment: bool = True) -> str:
        """Start serving in a background thread; return the proxy URL. Sets the proxy variables by default."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="airflow-chaos-proxy", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), loop).result(timeout=10)
        if set_environment:
            self._env = contextlib.ExitStack()
            self._env.enter_context(proxy_environment(self.url))
        log.info("airflow-chaos fault proxy listening on %s", self.url)
        return self.url

    def stop(self) -> None:
        """Restore the environment, stop the server and join its thread."""
        if self._env is not None:
            self._env.close()
            self._env = None
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
        self._session = ClientSession(auto_decompress=False, timeout=ClientTimeout(total=None))

    async def _shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ requests
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "CONNECT":
            return await self._tunnel(request)
        return await self._forward(request)

    async def _forward(self, request: web.BaseRequest) -> web.StreamResponse:
        from aiohttp import web

        url = request.url
        info = RequestInfo(request.method.upper(), (url.host or "").lower(), url.port, url.path or "/")
        plan = self.injector.plan(info)
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
        hit = plan.terminal
        if hit is not None and hit.effect.kind != "malformed":
            return await self._fault(request, hit)
        try:
            return await self._upstream(request, hit)
        except Exception as exc:  # noqa: BLE001 - any upstream failure is a 502 to the client
            return web.Response(status=502, text=f"fault proxy: upstream failed: {type(exc).__name__}: {exc}")

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

    async def _upstream(self, request: web.BaseRequest, hit: Hit | None) -> web.StreamResponse:
        """Forward ``request``; with a malformed-body hit, break the body (asking upstream for identity encoding)."""
        from aiohttp import web
        from multidict import CIMultiDict

        assert self._session is not None
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP)
        if hit is not None:
            headers["Accept-Encoding"] = "identity"
        body = await request.read()
        async with self._session.request(
            request.method, str(request.url), headers=headers, data=body or None, allow_redirects=False
        ) as upstream:
            content = await upstream.read()
            out = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP)
            status = upstream.status
        if hit is not None:
            content, ctype = malform(content, out.popone("Content-Type", None), hit.effect.malformation)
            out.update(fault_headers(hit, ctype))
        return web.Response(status=status, headers=out, body=content)

    async def _tunnel(self, request: web.BaseRequest) -> web.StreamResponse:
        from aiohttp import web

        host, port = (request.url.host or "").strip("[]"), request.url.port or 443
        plan = self.injector.plan(RequestInfo("CONNECT", host.lower(), port, ""), tunnel=True)
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
        if plan.terminal is not None:
            return await self._fault(request, plan.terminal)
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            return web.Response(status=502, text=f"fault proxy: cannot reach {host}:{port}: {exc}")
        response = web.StreamResponse(status=200, reason="Connection established")
        await response.prepare(request)
        await _pipe_both(request, reader, writer)
        return response


class _TunnelFeed:
    """Receives the client's bytes after CONNECT from aiohttp's protocol and writes them upstream."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.done = asyncio.Event()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.writer.write(data)
        return False, b""

    def feed_eof(self) -> None:
        self.done.set()
        with contextlib.suppress(OSError, RuntimeError):
            self.writer.write_eof()


async def _pipe_both(request: web.BaseRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Pipe bytes both ways until either side closes (aiohttp's protocol hands over the raw stream)."""
    transport = request.transport
    assert transport is not None
    feed = _TunnelFeed(writer)
    request.protocol.set_parser(feed)  # type: ignore[arg-type]
    try:
        while data := await reader.read(65536):
            transport.write(data)
    except OSError:
        pass
    finally:
        writer.close()
        transport.close()


@contextlib.contextmanager
def proxy_environment(url: str) -> Iterator[None]:
    """Point the proxy variables (both cases) at ``url`` and clear ``NO_PROXY``; restore on exit."""
    names = PROXY_VARIABLES + NO_PROXY_VARIABLES
    saved: dict[str, Any] = {name: os.environ.get(name) for name in names}
    try:
        for name in PROXY_VARIABLES:
            os.environ[name] = url
        for name in NO_PROXY_VARIABLES:
            os.environ.pop(name, None)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
