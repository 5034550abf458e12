"""Benchmark the HTTP fault injector and the loopback fault proxy.

Prints:
- the per-request overhead of the in-process injector (urllib3 patch) for ``requests`` against the
  same loopback server, when installed but disarmed, and when armed but letting every call through
  (an ``HttpError(rate=0)`` that matches, draws and passes; and one whose host selector does not
  match), relative to unpatched urllib3 (goal: <= 50 us);
- the cost of the decision alone (``TaskInjector.plan``) per request;
- the fault proxy's pass-through throughput in requests per second (sequential and 8 threads), next
  to the server's direct throughput.

Run: ``.venv/bin/python bench/http_faults.py [--requests 500] [--rounds 21]``. Loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import statistics
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from airflow_chaos import faults
from airflow_chaos.faults.base import FaultContext
from airflow_chaos.faults.http_injector import TaskInjector, install, uninstall
from airflow_chaos.faults.http_proxy import FaultProxy

BODY = b'[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1  # one send per response (no Nagle / delayed-ACK stalls)
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(port_queue: multiprocessing.Queue[int]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


@contextlib.contextmanager
def loopback_server() -> Iterator[str]:
    """A keep-alive JSON server on 127.0.0.1 in its own process (so it does not share our GIL)."""
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    process = multiprocessing.Process(target=_serve, args=(ports,), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=10)}/items"
    finally:
        process.terminate()
        process.join(5)


def per_request_us(session: requests.Session, url: str, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        _ = session.get(url).content
    return (time.perf_counter() - started) / n * 1e6


def _ctx() -> FaultContext:
    return FaultContext(seed=1, labels={"dag_id": "bench", "run_id": "r", "task_id": "t", "try_number": 1})


def in_process(url: str, n: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Per mode: median per-request time (us) and median paired overhead against unpatched (us).

    Modes alternate within each round in a rotating order, and each overhead is taken against the unpatched run of the
    same round, which cancels most drift from other load on the machine.
    """
    import numpy  # noqa: F401 - imported by the first armed draw; keep it out of the timings

    session = requests.Session()
    per_request_us(session, url, 200)  # warm up
    modes: dict[str, Callable[[], contextlib.AbstractContextManager[object]]] = {
        "unpatched": contextlib.nullcontext,
        "installed, disarmed": contextlib.nullcontext,
        "armed, rate=0 (match, draw, pass)": lambda: faults.HttpError(status=500, rate=0.0).around(_ctx()),
        "armed, host not matching": lambda: faults.HttpError(status=500, host="api.example.com").around(_ctx()),
    }
    samples: dict[str, list[float]] = {m: [] for m in modes}
    names = list(modes)
    for i in range(rounds):
        for mode in names[i % len(names) :] + names[: i % len(names)]:  # rotate: no mode always runs first
            arm = modes[mode]
            if mode == "unpatched":
                uninstall()
            else:
                install()
            with arm():
                samples[mode].append(per_request_us(session, url, n))
    base = samples["unpatched"]
    return {
        m: (statistics.median(v), statistics.median(x - b for x, b in zip(v, base, strict=True)))
        for m, v in samples.items()
    }


def injector_work_us() -> tuple[float, float]:
    """The injector's own work per request with the network taken out (a no-op stands in for the send).

    Returns (disarmed, armed with one rate=0 rule) in microseconds, net of the bare no-op call.
    """
    from urllib3 import HTTPConnectionPool

    from airflow_chaos.faults.http_injector import _ACTIVE, _urllib3_faulted

    pool = HTTPConnectionPool("127.0.0.1", 8080)

    def noop(*args: object, **kwargs: object) -> None:
        return None

    def disarmed() -> None:
        if _ACTIVE.get() is None:
            noop(pool, None, "GET", "/items")

    injector = TaskInjector(key=())
    injector.rules = (faults.HttpError(status=500, rate=0.0).rule(_ctx()),)

    def armed() -> None:
        _urllib3_faulted(injector, noop, pool, None, "GET", "/items?page=2", (), {"timeout": 5})

    loops = 20000

    def best(fn: Callable[[], None]) -> float:
        return min(timeit.repeat(fn, number=loops, repeat=5)) / loops * 1e6

    bare = best(lambda: noop(pool, None, "GET", "/items"))
    return best(disarmed) - bare, best(armed) - bare


def throughput(url: str, seconds: float, threads: int, proxy: str | None) -> float:
    proxies = {"http": proxy} if proxy else None
    local = threading.local()
    deadline = time.perf_counter() + seconds

    def worker() -> int:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        count = 0
        while time.perf_counter() < deadline:
            _ = session.get(url, proxies=proxies).content
            count += 1
        return count

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: worker(), range(threads)))
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per mode per round")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each throughput run")
    args = parser.parse_args()

    with loopback_server() as url:
        results = in_process(url, args.requests, args.rounds)
        print(f"in-process injector, requests.Session against {url} ({args.requests} requests x {args.rounds} rounds):")
        for mode, (us, overhead) in results.items():
            extra = "" if mode == "unpatched" else f"   overhead {overhead:+7.1f} us (median of paired rounds)"
            print(f"  {mode:<36} {us:8.1f} us/request{extra}")
        disarmed, armed = injector_work_us()
        print(
            f"  injector work alone, network excluded: disarmed {disarmed:.2f} us, armed and passing {armed:.2f} us per request"
        )

        uninstall()
        injector = TaskInjector(key=())
        injector.rules = (faults.HttpError(status=500, rate=0.0).rule(_ctx()),)
        proxy = FaultProxy(injector)
        proxy.start()
        proxy_url = proxy.auth_url  # the proxy answers 407 without the credential
        try:
            print(f"fault proxy pass-through throughput ({args.seconds:.0f} s each, rule armed with rate=0):")
            for threads in (1, 8):
                direct = throughput(url, args.seconds, threads, None)
                via = throughput(url, args.seconds, threads, proxy_url)
                print(
                    f"  {threads} client thread(s): {via:8.0f} req/s through the proxy   ({direct:8.0f} req/s direct)"
                )
        finally:
            proxy.stop()
        seen = injector.rules[0].seen
        print(f"  requests decided by the proxy: {seen}")


if __name__ == "__main__":
    main()
