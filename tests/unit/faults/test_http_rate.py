"""HTTP ``rate``: a fault armed with ``rate=r`` faults a fraction ``r`` of matching requests.

1,000 seeded requests go through the real decision path: the fault's ``around`` arms its rule, an
httpx client sends through ``chaos_transport`` (the same code the patched default transports use)
onto an in-memory ``MockTransport``. The share faulted must lie within 4 binomial standard
deviations of ``r``; ``rate=0`` never faults and ``rate=1`` always does. A loosened comparison (say
``fire <= rate + 0.05``) faults 5% of requests at ``rate=0`` and 15% at ``rate=0.1``: outside.
"""

from __future__ import annotations

import math

import httpx
import pytest

from airflow_chaos import faults
from airflow_chaos.faults.base import FaultContext, stable_seed
from airflow_chaos.faults.http_injector import Effect, RequestInfo, Rule, chaos_transport

N = 1000


def within_binomial(hits: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(hits - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def fault_context(seed: int) -> FaultContext:
    labels = {"dag_id": "d", "run_id": "r", "task_id": "t", "try_number": 1}
    return FaultContext(seed=stable_seed(seed, 0), labels=labels)


def send(fault: faults.HttpError, n: int = N, seed: int = 11, path: str = "/items") -> tuple[list[int], FaultContext]:
    """``n`` GETs under ``fault``; the upstream always answers 200."""
    upstream = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    ctx = fault_context(seed)
    with fault.around(ctx), httpx.Client(transport=chaos_transport(upstream)) as client:
        statuses = [client.get(f"http://api.example.test{path}").status_code for _ in range(n)]
    return statuses, ctx


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 0.9])
def test_the_share_faulted_is_the_rate(rate):
    statuses, ctx = send(faults.HttpError(status=503, rate=rate))
    hits = statuses.count(503)
    sd = math.sqrt(N * rate * (1 - rate))
    assert within_binomial(hits, N, rate), f"{hits} of {N} faulted at rate {rate}: expected {N * rate:.0f} +- {4 * sd:.0f}"
    assert hits + statuses.count(200) == N
    assert ctx.changes["requests_seen"] == N and ctx.changes["requests_faulted"] == hits
    assert ctx.changes["faulted_by_kind"] == {"http_503": hits}


def test_rate_zero_never_faults():
    statuses, ctx = send(faults.HttpError(status=503, rate=0.0))
    assert statuses == [200] * N
    assert ctx.changes["requests_faulted"] == 0 and ctx.changes["effective"] is False


def test_rate_one_always_faults():
    statuses, ctx = send(faults.HttpError(status=503, rate=1.0))
    assert statuses == [503] * N
    assert ctx.changes["requests_faulted"] == N and ctx.changes["effective"] is True


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_rate_holds_for_other_seeds(seed):
    statuses, _ = send(faults.HttpError(status=503, rate=0.1), seed=seed)
    assert within_binomial(statuses.count(503), N, 0.1)


def test_first_n_faults_only_among_the_first_n_at_the_rate():
    statuses, ctx = send(faults.HttpError(status=503, rate=0.5, first_n=400))
    head, tail = statuses[:400], statuses[400:]
    assert within_binomial(head.count(503), 400, 0.5)
    assert tail == [200] * 600
    assert ctx.changes["pattern"][:200] == "".join("F" if s == 503 else "." for s in statuses[:200])


def test_unmatched_requests_are_neither_counted_nor_faulted():
    statuses, ctx = send(faults.HttpError(status=503, rate=1.0, path="/other"), n=20)
    assert statuses == [200] * 20 and ctx.changes["requests_seen"] == 0


# ---------------------------------------------------------------------- the rule alone (fast, for mutation testing)
REQ = RequestInfo("GET", "api.example.test", 443, "/items")


def _rule(rate: float, seed: int = 5, **kw) -> Rule:
    return Rule(name="t", effect=Effect("respond", statuses=(500, 502, 503)), seed=seed, rate=rate, **kw)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 0.5, 0.9, 1.0])
def test_rule_decide_fires_at_its_rate(rate):
    rule = _rule(rate)
    hits = [rule.decide(REQ) for _ in range(N)]
    fired = sum(h is not None for h in hits)
    if rate in (0.0, 1.0):
        assert fired == N * rate
    else:
        assert within_binomial(fired, N, rate), f"{fired} of {N} at rate {rate}"
    assert rule.seen == N


def test_rule_picks_every_status_about_equally_and_only_listed_ones():
    rule = _rule(1.0)
    picked = [rule.decide(REQ).status for _ in range(3000)]  # type: ignore[union-attr]
    assert set(picked) == {500, 502, 503}
    for status in (500, 502, 503):
        assert within_binomial(picked.count(status), 3000, 1 / 3), (status, picked.count(status))


def test_rule_latency_is_ms_plus_a_share_of_the_jitter():
    rule = Rule(name="t", effect=Effect("latency", ms=100, jitter_ms=50), seed=3)
    delays = [rule.decide(REQ).delay_s for _ in range(500)]  # type: ignore[union-attr]
    assert all(0.1 <= d <= 0.15 for d in delays)
    assert min(delays) < 0.105 and max(delays) > 0.145
