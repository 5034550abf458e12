"""The demo orders API over real HTTP on 127.0.0.1: health, pages, the returns export, clear 400s, loopback only."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from airflow_chaos.demo import api
from airflow_chaos.demo.orders import Book, orders
from airflow_chaos.exceptions import ChaosConfigError

UNTIL = "2026-01-31T12:00:00Z"


@pytest.fixture(scope="module")
def server() -> Iterator[api.DemoServer]:
    running = api.start()
    yield running
    running.shutdown()
    running.server_close()


def _get(server: api.DemoServer, path: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(server.url + path, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_health(server):
    assert _get(server, "/health") == (200, "application/json", b'{"status": "ok"}')


def test_it_listens_on_loopback_only(server):
    assert server.server_address[0] == "127.0.0.1"
    with pytest.raises(ChaosConfigError, match="field 'host'.*127.0.0.1 only.*'0.0.0.0'"):
        api.serve(0, host="0.0.0.0")
    with pytest.raises(ChaosConfigError, match="field 'port'"):
        api.serve(70000)


def test_pages_of_orders_follow_next_to_every_order_once(server):
    got, page = [], 1
    while page:
        status, kind, body = _get(server, f"/orders?page={page}&page_size=120&until={UNTIL}&seed=3")
        assert (status, kind) == (200, "application/json")
        doc = json.loads(body)
        assert (doc["page"], doc["pages"], doc["total"], doc["until"], doc["seed"]) == (page, 5, 500, UNTIL, 3)
        got += doc["orders"]
        page = doc["next"]
    assert got == orders(Book(seed=3, until=api._until(UNTIL)))


def test_the_returns_export_is_csv_for_the_same_orders(server):
    status, kind, body = _get(server, f"/returns.csv?count=20&until={UNTIL}")
    assert (status, kind) == (200, "text/csv; charset=utf-8")
    ids = [line.split(",")[0] for line in body.decode().splitlines()[1:]]
    assert ids == [str(o["order_id"]) for o in orders(Book(count=20, until=api._until(UNTIL)))]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page_size=0", "parameter 'page_size': expected an integer in [1, 1000], got 0"),
        ("count=ten", "parameter 'count': expected an integer in [1, 100000], got 'ten'"),
        ("until=yesterday", "parameter 'until': expected an ISO 8601 date-time"),
        (
            "colour=red",
            "unknown parameter(s) ['colour']; allowed: seed, count, customers, days, until, page, page_size",
        ),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(server, query, message):
    status, kind, body = _get(server, f"/orders?{query}")
    assert (status, kind) == (400, "application/json")
    assert json.loads(body)["error"].startswith(message)


def test_an_unknown_path_is_a_404_listing_the_paths(server):
    status, _kind, body = _get(server, "/customers")
    assert status == 404
    assert json.loads(body)["error"] == "no such path '/customers'; paths: /health, /orders, /returns.csv"


def test_python_m_serves_on_a_free_port_and_imports_no_airflow():
    code = (
        "import runpy, sys\n"
        "sys.argv = ['api', '--port', '0']\n"
        "import threading, os\n"
        "threading.Timer(20, lambda: os._exit(3)).start()\n"
        "runpy.run_module('airflow_chaos.demo.api', run_name='__main__')\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("demo orders API on http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1]
        with urllib.request.urlopen(url + "/health", timeout=10) as response:
            assert json.loads(response.read()) == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(timeout=10)
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, airflow_chaos.demo.api; print(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert loaded.stdout.strip() == "[]"


def test_a_port_in_use_is_one_line_and_exit_2(server, capsys):
    assert api.main(["--port", str(server.server_address[1])]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"demo orders API: cannot listen on 127.0.0.1:{server.server_address[1]}: ")
    assert "Traceback" not in err


def test_check_waits_for_a_healthy_api_and_says_when_there_is_none(server, capsys):
    port = server.server_address[1]
    assert api.main(["--check", "--port", str(port), "--timeout", "5"]) == 0
    probe = api.serve(0)  # a free port, closed again: nothing answers there
    free = probe.server_address[1]
    probe.server_close()
    assert api.main(["--check", "--port", str(free), "--timeout", "0.5"]) == 2
    assert capsys.readouterr().err == f"demo orders API: nothing healthy on http://127.0.0.1:{free} after 0.5 s\n"
