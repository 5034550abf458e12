"""The demo orders API: ``python -m airflow_chaos.demo.api [--port N]``, on 127.0.0.1 only.

A shop's orders API and its warehouse's returns export, deterministic for a given seed
(:mod:`airflow_chaos.demo.orders`), served by the standard library's ``http.server``:

=====================  ==============================================================================
``GET /health``        ``{"status": "ok"}``
``GET /orders``        one page of orders, oldest first: ``{"orders": [...], "page", "page_size",
                       "pages", "total", "next", "until", "seed"}`` (``next``: the next page number
                       or null)
``GET /returns.csv``   the returns export of the same orders: ``order_id,returned`` (text/csv)
=====================  ==============================================================================

Query parameters (all optional): ``seed`` (7), ``count`` (500 orders), ``customers`` (100), ``days``
(28, the span of the data), ``until`` (ISO 8601; default: the current hour, UTC), ``page`` (1) and
``page_size`` (100, at most 1000). A bad value is a ``400`` naming the parameter and what it allows;
an unknown path a ``404``. Give ``until`` when reading several pages: the default moves every hour.

The server binds 127.0.0.1 and refuses any other address. ``--port 0`` takes a free port; the
first line printed is the base URL (``demo orders API on http://127.0.0.1:PORT``). ``--check`` serves
nothing: it waits until the API on ``--port`` answers ``/health`` (exit 0), or ``--timeout`` seconds
pass (exit 2); ``make demo`` uses it after starting the API in the background.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_chaos.demo import orders as data
from airflow_chaos.exceptions import ChaosConfigError

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8765
_BOOK_PARAMS = ("seed", "count", "customers", "days", "until")
_PAGE_PARAMS = ("page", "page_size")


class BadRequest(ValueError):
    """A query parameter out of bounds: answered with ``400`` and this message."""


def _integer(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    low, high = data.LIMITS[name]
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"parameter {name!r}: expected an integer in [{low}, {high}], got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"parameter {name!r}: expected an integer in [{low}, {high}], got {value}")
    return value


def _until(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"parameter 'until': expected an ISO 8601 date-time such as 2026-01-31T12:00:00Z, got {raw!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def book_of(query: Mapping[str, str]) -> data.Book:
    """The :class:`~airflow_chaos.demo.orders.Book` a query names (defaults for what it leaves out)."""
    unknown = sorted(set(query) - {*_BOOK_PARAMS, *_PAGE_PARAMS})
    if unknown:
        raise BadRequest(f"unknown parameter(s) {unknown}; allowed: {', '.join((*_BOOK_PARAMS, *_PAGE_PARAMS))}")
    default = data.Book()
    return data.Book(
        seed=_integer(query, "seed", default.seed),
        count=_integer(query, "count", default.count),
        customers=_integer(query, "customers", default.customers),
        days=_integer(query, "days", default.days),
        until=_until(query.get("until")),
    )


def orders_page(query: Mapping[str, str]) -> dict[str, Any]:
    """The body of ``GET /orders``."""
    spec = book_of(query)
    page, size = _integer(query, "page", 1), _integer(query, "page_size", 100)
    items, pages = data.page_of(data.orders(spec), page, size)
    return {
        "orders": items,
        "page": page,
        "page_size": size,
        "pages": pages,
        "total": spec.count,
        "next": page + 1 if page < pages else None,
        "until": spec.end.isoformat().replace("+00:00", "Z"),
        "seed": spec.seed,
    }


Route = Callable[[Mapping[str, str]], tuple[int, str, bytes]]


def _json(status: int, body: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body).encode()


ROUTES: dict[str, Route] = {
    "/health": lambda _q: _json(200, {"status": "ok"}),
    "/orders": lambda q: _json(200, orders_page(q)),
    "/returns.csv": lambda q: (200, "text/csv; charset=utf-8", data.returns_csv(book_of(q)).encode()),
}


def respond(path: str, query: Mapping[str, str]) -> tuple[int, str, bytes]:
    """Status, content type and body for a GET of ``path`` with ``query`` (single values)."""
    route = ROUTES.get(path.rstrip("/") or "/")
    if route is None:
        return _json(404, {"error": f"no such path {path!r}; paths: {', '.join(ROUTES)}"})
    try:
        return route(query)
    except BadRequest as exc:
        return _json(400, {"error": str(exc)})


class DemoHandler(BaseHTTPRequestHandler):
    server_version = "airflow-chaos-demo/1"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        status, content_type, body = respond(parts.path, query)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def serve(port: int = DEFAULT_PORT, host: str = LOOPBACK) -> DemoServer:
    """A bound server (not yet serving: call ``serve_forever``, or use :func:`start`). Loopback only."""
    if host != LOOPBACK:
        raise ChaosConfigError(f"field 'host': the demo API binds {LOOPBACK} only, got {host!r}")
    if not 0 <= port <= 65535:
        raise ChaosConfigError(f"field 'port': expected 0-65535 (0: a free port), got {port}")
    return DemoServer((host, port), DemoHandler)


def start(port: int = 0, host: str = LOOPBACK) -> DemoServer:
    """A server answering in a daemon thread (tests); ``shutdown()`` and ``server_close()`` it when done."""
    server = serve(port, host)
    threading.Thread(target=server.serve_forever, name="demo-orders-api", daemon=True).start()
    return server


def healthy(url: str, timeout: float = 30.0) -> bool:
    """Whether ``url``/health answers ``{"status": "ok"}`` within ``timeout`` seconds (polled)."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if json.loads(response.read()) == {"status": "ok"}:
                    return True
        except (OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_chaos.demo.api", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0: a free one)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not serve: wait until the API on --port answers /health (exit 2 if not)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="with --check: how long to wait (default 30 s)")
    args = parser.parse_args(argv)
    if args.check:
        url = f"http://{LOOPBACK}:{args.port}"
        if healthy(url, args.timeout):
            return 0
        print(f"demo orders API: nothing healthy on {url} after {args.timeout:g} s", file=sys.stderr)
        return 2
    try:
        server = serve(args.port)
    except (OSError, ChaosConfigError) as exc:
        print(f"demo orders API: cannot listen on {LOOPBACK}:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(f"demo orders API on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
