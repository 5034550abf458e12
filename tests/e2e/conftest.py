"""Fixtures of the native stack (``make e2e``): one stack per test module, stopped whatever happens.

The stack starts PostgreSQL, MLflow and a whole Airflow deployment (minutes on 2 cores), so it only
starts when ``CHAOS_E2E=1`` (``make e2e`` sets it); otherwise its tests are skipped, saying how to run
them. The compose-file tests (``test_compose.py``) need no stack and always run.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from tests.e2e.stack import AirflowApi, Executor, Stack

E2E_ENABLED = os.environ.get("CHAOS_E2E") == "1"
SKIP_REASON = (
    "starts PostgreSQL, MLflow and a whole Airflow deployment (minutes on 2 cores): run `make e2e` "
    "(or CHAOS_E2E=1 pytest tests/e2e)"
)
_STACKS: list[Stack] = []


def _stack(executor: Executor) -> Iterator[Stack]:
    if not E2E_ENABLED:
        pytest.skip(SKIP_REASON)
    stack = Stack(executor=executor, keep=os.environ.get("CHAOS_E2E_KEEP") == "1")
    _STACKS.append(stack)
    # A CI timeout's SIGTERM becomes an exception, so the finally below still stops every service.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        stack.start()
        print(f"\n{executor} stack up in {stack.timings['start']:.0f}s ({_timings(stack)})")
        yield stack
    finally:
        stack.stop()
        _STACKS.remove(stack)
        signal.signal(signal.SIGTERM, previous)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _timings(stack: Stack) -> str:
    return ", ".join(f"{k} {v:.0f}s" for k, v in stack.timings.items() if k != "start")


@pytest.fixture(scope="module")
def local_stack() -> Iterator[Stack]:
    yield from _stack("local")


@pytest.fixture(scope="module")
def celery_stack() -> Iterator[Stack]:
    yield from _stack("celery")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A failing stack test gets the tails of every service log and the newest task logs in its report."""
    report = yield
    if report.failed and _STACKS:
        for stack in _STACKS:
            report.sections.append((f"{stack.executor} stack logs ({stack.root})", stack.diagnostics()))
    return report


def api_of(stack: Stack) -> AirflowApi:
    return AirflowApi.of(stack)
