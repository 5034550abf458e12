"""HTTP faults: error statuses, rate limits, latency, timeouts, resets, malformed bodies, blackholes.

Each is an ``around`` fault: armed only while the task runs, through the in-process injector
(:mod:`airflow_chaos.faults.http_injector`: urllib3, so ``requests``, botocore and the MLflow client,
plus httpx) and, with ``proxy=True``, the loopback fault proxy for subprocesses such as ``curl`` in a
``BashOperator`` (:mod:`airflow_chaos.faults.http_proxy`). Several HTTP faults on one task compose:
latencies add up and the first terminal fault (in arming order) wins a request.

Every fault selects requests by ``host`` (matched against ``host`` and ``host:port``), ``path`` and
``method`` globs, faults a matching request with probability ``rate`` and, with ``first_n``, only the
first N matching requests (then lets everything through: tests retry logic). The injection records
``requests_seen``, ``requests_faulted``, ``faulted_by_kind``, a ``pattern`` (``F`` faulted, ``.``
passed, per matching request in order), a one-line ``summary``, and ``effective=False`` when no
request was faulted. Decisions come from a generator seeded by the injection seed and the try number:
the same seed faults the same calls in the same order, an Airflow retry draws a fresh stream.
Counts and ``first_n`` are per try: an Airflow retry starts counting again, so exercise recovery
with ``first_n`` through in-task retries (urllib3 ``Retry``, tenacity), or with ``rate`` < 1.
``first_n_tries`` counts Airflow tries instead (from the task instance's try number): the fault is
armed on tries 1..N only, so a task with ``retries`` >= N recovers through Airflow's own retries. A
try past N runs clean and records ``armed=False`` with ``effective=True`` (the fault went in on the
earlier tries, whose records Airflow clears when it retries): its verdict is RECOVERED when the
checks on its output pass.

Faults follow the task's context: requests from asyncio tasks are covered, but threads a task
starts itself do not inherit context variables; submit work as ``pool.submit(contextvars.copy_context().run,
fn, ...)`` to keep it under the task's faults (this is also what keeps concurrent tasks isolated).

With ``proxy=True``, the loopback fault proxy serves the armed task's child processes only: a
process started with ``subprocess`` in the task's context (a ``BashOperator``'s command, ``curl``,
``PythonVirtualenvOperator``) gets ``HTTP_PROXY``/``HTTPS_PROXY`` (both cases) =
``http://chaos:<token>@127.0.0.1:<port>`` and no ``NO_PROXY``; ``os.environ`` is never changed, so
other threads of the worker and the task's own in-process clients (already covered by the injector)
do not go through it. The proxy answers ``407`` to anyone without the task's random credential.
:func:`~airflow_chaos.faults.http_proxy.proxy_env` builds the same environment by hand (``os.exec*``).
HTTPS from a child is tunnelled with ``CONNECT`` (port 443, or a port the fault's ``host`` names) and
only sees latency, reset and blackhole faults. See :mod:`airflow_chaos.faults.http_proxy`.

HTTP faults are ``recoverable`` (retries may absorb them) and declare the signals ``api``, ``volume``
and ``completeness``: a task that swallows the error and returns nothing is caught by a row-count check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

from pydantic import AliasChoices, Field, field_validator

from airflow_chaos.faults.base import Fault, FaultContext, stable_seed
from airflow_chaos.faults.http_injector import Effect, ProxyFactory, Rule, arm

HTTP_SIGNALS: tuple[str, ...] = ("api", "volume", "completeness")


class HttpFault(Fault):
    """Base of the HTTP faults: selectors, rate, ``first_n`` and the optional loopback proxy."""

    phase = "around"
    recoverable = True
    signals = HTTP_SIGNALS
    template_fields = ("host", "path")

    host: str = Field(default="*", min_length=1, description="Glob on the host (or host:port) of the request.")
    path: str = Field(default="*", min_length=1, description="Glob on the URL path (no query string).")
    method: str = Field(default="*", min_length=1, description="Glob on the HTTP method, case-insensitive.")
    rate: float = Field(default=1.0, ge=0, le=1, description="Chance that a matching request is faulted.")
    first_n: int | None = Field(default=None, ge=1, description="Fault only the first N matching requests.")
    first_n_tries: int | None = Field(
        default=None, ge=1, strict=True, description="Fault only the first N Airflow tries of the task (then run clean)."
    )
    proxy: bool = Field(
        default=False,
        description="Also start the loopback fault proxy for the task's child processes (HTTP(S)_PROXY in their env).",
    )

    def effect(self) -> Effect:
        raise NotImplementedError

    def target(self) -> str:
        return f"http method={self.method} host={self.host} path={self.path}"

    def rule(self, ctx: FaultContext) -> Rule:
        """This fault as an injector rule, its stream seeded by the injection seed and the try number."""
        seed = stable_seed(ctx.seed, "http", ctx.labels.get("try_number", 1))
        return Rule(
            name=self.describe(),
            effect=self.effect(),
            seed=seed,
            host=self.host,
            path=self.path,
            method=self.method,
            rate=self.rate,
            first_n=self.first_n,
        )

    @contextlib.contextmanager
    def around(self, ctx: FaultContext) -> Iterator[None]:
        if past_first_tries(self.first_n_tries, ctx):
            yield
            return
        rule = self.rule(ctx)
        labels = ctx.labels
        key = (labels.get("dag_id"), labels.get("run_id"), labels.get("task_id"), labels.get("try_number"))
        proxy_factory: ProxyFactory | None = None
        if self.proxy:
            from airflow_chaos.faults.http_proxy import FaultProxy

            proxy_factory = FaultProxy
        try:
            with arm(rule, key, proxy=proxy_factory) as injector:
                if injector.proxy is not None:
                    ctx.record(proxy=injector.proxy.url)
                yield
        finally:
            ctx.record(**rule.summary())


def past_first_tries(first_n_tries: int | None, ctx: FaultContext) -> bool:
    """True (and recorded on ``ctx``) when this try comes after the first ``first_n_tries``: it runs clean.

    The record keeps the injection effective: the fault went in on tries 1..N (Airflow clears their
    records when it retries), and this clean try is where it is absorbed or not.
    """
    try_number = int(ctx.labels.get("try_number") or 1)
    if first_n_tries is None or try_number <= first_n_tries:
        return False
    ctx.record(
        armed=False,
        first_n_tries=first_n_tries,
        try_number=try_number,
        effective=True,
        summary=f"armed on tries 1..{first_n_tries} only; try {try_number} ran clean",
    )
    return True


def _statuses(value: int | list[int]) -> list[int]:
    items = [value] if isinstance(value, int) else list(value)
    if not items:
        raise ValueError("give at least one status code")
    bad = [s for s in items if not 400 <= s <= 599]
    if bad:
        raise ValueError(f"status codes must be in 400..599, got {bad}")
    return items


class HttpError(HttpFault):
    """Answer matching requests with an error status (one of ``status``, picked per request) instead of calling out."""

    kind = "http_error"

    status: int | list[int] = Field(default=500, description="Status code, or codes to pick from per request.")
    retry_after: int | None = Field(default=None, ge=0, description="Retry-After header, in seconds.")

    @field_validator("status")
    @classmethod
    def _check_status(cls, value: int | list[int]) -> int | list[int]:
        items = _statuses(value)
        return items[0] if isinstance(value, int) else items

    def effect(self) -> Effect:
        return Effect("respond", statuses=tuple(_statuses(self.status)), retry_after=self.retry_after)


class RateLimit(HttpFault):
    """Answer matching requests with ``429 Too Many Requests`` and a ``Retry-After`` header."""

    kind = "rate_limit"

    retry_after: int = Field(default=1, ge=0, description="Retry-After header, in seconds.")

    def effect(self) -> Effect:
        return Effect("respond", statuses=(429,), retry_after=self.retry_after)


class HttpLatency(HttpFault):
    """Delay matching requests by ``ms`` plus a uniform ``0..jitter_ms``, then send them."""

    kind = "http_latency"

    ms: float = Field(gt=0, le=600_000, description="Added latency in milliseconds.")
    jitter_ms: float = Field(default=0.0, ge=0, le=600_000, description="Extra uniform jitter in milliseconds.")

    def effect(self) -> Effect:
        return Effect("latency", ms=self.ms, jitter_ms=self.jitter_ms)


class HttpTimeout(HttpFault):
    """Make matching requests hang, then time out.

    In-process, the request waits for the client's read timeout (at most ``seconds``) and raises the
    library's read-timeout error. Through the proxy, the connection hangs ``seconds`` and is reset.
    """

    kind = "http_timeout"

    seconds: float = Field(default=30.0, gt=0, le=3600, description="Longest hang when the client sets no timeout.")

    def effect(self) -> Effect:
        return Effect("timeout", wait_s=self.seconds)


class ConnectionReset(HttpFault):
    """Reset the connection of matching requests (``ECONNRESET``): no response at all."""

    kind = "connection_reset"

    def effect(self) -> Effect:
        return Effect("reset")


class Blackhole(HttpFault):
    """Make the host unreachable: a connection error (``EHOSTUNREACH``); a 502 from the proxy."""

    kind = "blackhole"

    def effect(self) -> Effect:
        return Effect("unreachable")


class MalformedBody(HttpFault):
    """Call out for real, then break the response body.

    ``truncated_json`` keeps half the bytes; ``wrong_content_type`` serves an HTML page as
    ``text/html``; ``empty`` sends no bytes; ``schema_mismatch`` keeps valid JSON but renames every
    object key ``k`` to ``k_v2``. Accepts ``kind=`` as an alias of ``malformation``.
    """

    kind = "malformed_body"
    signals = (*HTTP_SIGNALS, "schema", "format")

    malformation: Literal["truncated_json", "wrong_content_type", "empty", "schema_mismatch"] = Field(
        default="truncated_json",
        validation_alias=AliasChoices("malformation", "kind"),
        description="How the body is broken.",
    )

    def effect(self) -> Effect:
        return Effect("malformed", malformation=self.malformation)
