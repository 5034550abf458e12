"""The HTTP injector's per-request decisions, without any network: selectors, ``first_n``,
composition of several rules, counting and the summary recorded on the injection.

tests/unit/faults/test_http.py drives the same code through real clients and a real server; these
are the fast, exact checks of the decision logic (also what ``make mutate`` runs against it).
"""

from __future__ import annotations

import pytest

from airflow_chaos.faults.http_injector import Effect, Hit, RequestInfo, Rule, TaskInjector, malform

GET = RequestInfo("GET", "api.example.test", 8443, "/v1/items")


def rule(effect: Effect | None = None, **kw) -> Rule:
    return Rule(name=kw.pop("name", "r"), effect=effect or Effect("respond", statuses=(503,)), seed=1, **kw)


# ---------------------------------------------------------------------- selectors
@pytest.mark.parametrize(
    ("selectors", "matches"),
    [
        ({}, True),
        ({"host": "api.example.test"}, True),
        ({"host": "API.Example.*"}, True),
        ({"host": "api.example.test:8443"}, True),
        ({"host": "api.example.test:80"}, False),
        ({"host": "other.test"}, False),
        ({"path": "/v1/*"}, True),
        ({"path": "/V1/*"}, False),  # paths are case-sensitive
        ({"path": "/v2/*"}, False),
        ({"method": "get"}, True),
        ({"method": "POST"}, False),
        ({"host": "api.*", "path": "/v1/items", "method": "G*"}, True),
    ],
)
def test_selectors(selectors, matches):
    assert rule(**selectors).matches(GET) is matches


def test_a_request_without_a_port_matches_on_the_host_alone():
    no_port = RequestInfo("GET", "api.example.test", None, "/")
    assert rule(host="api.example.test").matches(no_port)
    assert not rule(host="api.example.test:443").matches(no_port)


def test_unmatched_requests_are_not_counted():
    r = rule(path="/other")
    assert r.decide(GET) is None
    assert (r.seen, r.faulted, r.pattern) == (0, 0, [])


# ---------------------------------------------------------------------- first_n and counting
def test_first_n_faults_the_first_n_matching_requests_then_none():
    r = rule(first_n=3)
    hits = [r.decide(GET) for _ in range(6)]
    assert [h is not None for h in hits] == [True, True, True, False, False, False]
    assert r.seen == 6


def test_counts_and_summary():
    r = Rule(name="r", effect=Effect("respond", statuses=(500, 503)), seed=4)
    for _ in range(10):
        hit = r.decide(GET)
        assert hit is not None and hit.status in (500, 503)
        r.count(hit)
    r.decide(RequestInfo("GET", "x", None, "/"))  # matches (all globs): counted as seen
    r.unapplied()
    summary = r.summary()
    assert summary["requests_seen"] == 11 and summary["requests_faulted"] == 10
    assert sum(summary["faulted_by_kind"].values()) == 10
    assert set(summary["faulted_by_kind"]) <= {"http_500", "http_503"}
    assert list(summary["faulted_by_kind"]) == sorted(summary["faulted_by_kind"])
    assert summary["pattern"] == "F" * 10 + "."
    kinds = ", ".join(f"{n} with {k}" for k, n in sorted(summary["faulted_by_kind"].items()))
    assert summary["summary"] == f"10 of 11 calls faulted ({kinds})"
    assert summary["effective"] is True


def test_summary_of_a_rule_that_faulted_nothing():
    r = rule(rate=0.0)
    r.decide(GET)
    assert r.summary() == {
        "requests_seen": 1,
        "requests_faulted": 0,
        "faulted_by_kind": {},
        "pattern": ".",
        "summary": "0 of 1 calls faulted",
        "effective": False,
    }


def test_the_pattern_stops_growing_at_its_limit():
    r = rule()
    for _ in range(250):
        r.count(r.decide(GET))  # type: ignore[arg-type]
    assert len(r.summary()["pattern"]) == 200 and r.summary()["requests_faulted"] == 250


@pytest.mark.parametrize(
    ("effect", "status", "label"),
    [
        (Effect("respond", statuses=(429,)), 429, "http_429"),
        (Effect("malformed", malformation="empty"), None, "malformed:empty"),
        (Effect("latency", ms=5), None, "latency"),
        (Effect("timeout"), None, "timeout"),
        (Effect("reset"), None, "reset"),
    ],
)
def test_effect_labels_and_terminality(effect, status, label):
    assert effect.label(status) == label
    assert effect.terminal is (effect.kind != "latency")


# ---------------------------------------------------------------------- several rules on one request
def test_latencies_add_up_and_the_first_terminal_fault_wins():
    slow = Rule(name="slow", effect=Effect("latency", ms=100), seed=1)
    slower = Rule(name="slower", effect=Effect("latency", ms=200), seed=2)
    first = rule(name="first", effect=Effect("respond", statuses=(500,)))
    second = rule(name="second", effect=Effect("reset"))
    injector = TaskInjector(("d", "r", "t", 1), (slow, first, second, slower))
    plan = injector.plan(GET)
    assert plan.delay_s == pytest.approx(0.3)
    assert plan.terminal is not None and plan.terminal.rule is first and plan.terminal.status == 500
    assert (slow.faulted, slower.faulted, first.faulted, second.faulted) == (1, 1, 1, 0)
    assert second.seen == 1 and second.pattern == ["."], "a pre-empted hit is seen, not faulted"


def test_no_rule_firing_is_an_empty_plan():
    injector = TaskInjector(("k",), (rule(rate=0.0), Rule(name="l", effect=Effect("latency", ms=10), seed=1, rate=0.0)))
    plan = injector.plan(GET)
    assert plan.delay_s == 0.0 and plan.terminal is None


def test_a_tunnel_only_sees_latency_reset_and_unreachable():
    respond = rule(effect=Effect("respond", statuses=(500,)))
    reset = rule(effect=Effect("reset"))
    injector = TaskInjector(("k",), (respond, reset))
    plan = injector.plan(GET, tunnel=True)
    assert plan.terminal is not None and plan.terminal.rule is reset
    assert respond.seen == 0, "a rule a tunnel cannot apply does not even count the request"


def test_latency_hits_carry_their_delay_and_terminal_hits_none():
    latency = Rule(name="l", effect=Effect("latency", ms=40, jitter_ms=0), seed=1).decide(GET)
    assert isinstance(latency, Hit) and latency.delay_s == pytest.approx(0.04) and latency.status is None
    error = rule().decide(GET)
    assert isinstance(error, Hit) and error.delay_s == 0.0 and error.status == 503


# ---------------------------------------------------------------------- malformed bodies
def test_malformations():
    body = b'{"items": [{"id": 1}], "next": null}'
    assert malform(body, "application/json", "truncated_json") == (body[: len(body) // 2], "application/json")
    assert malform(b"x", "application/json", "truncated_json") == (b"{", "application/json")
    assert malform(b"[]", "application/json", "truncated_json") == (b"[", "application/json")
    assert malform(body, "application/json", "empty") == (b"", "application/json")
    html, ctype = malform(body, "application/json", "wrong_content_type")
    assert html == b"<html><body><h1>Service temporarily unavailable</h1></body></html>"
    assert ctype == "text/html; charset=utf-8"
    renamed, ctype = malform(body, "application/json", "schema_mismatch")
    assert renamed == b'{"items_v2": [{"id_v2": 1}], "next_v2": null}' and ctype == "application/json"
    assert malform(b"not json", None, "schema_mismatch") == (b"not json", None)


def test_a_rule_that_does_not_fire_leaves_the_next_one_its_chance():
    quiet, loud = rule(name="quiet", rate=0.0), rule(name="loud", effect=Effect("reset"))
    plan = TaskInjector(("k",), (quiet, loud)).plan(GET)
    assert plan.terminal is not None and plan.terminal.rule is loud
    assert (quiet.seen, loud.seen) == (1, 1)


def test_the_same_seed_faults_the_same_requests():
    def pattern(seed: int) -> str:
        r = Rule(name="r", effect=Effect("respond", statuses=(500, 502)), seed=seed, rate=0.5)
        return "".join("." if (h := r.decide(GET)) is None else str(h.status) for _ in range(64))

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)


def test_a_rule_that_faulted_a_single_call_was_effective():
    r = rule(first_n=1)
    for _ in range(2):
        hit = r.decide(GET)
        if hit is not None:
            r.count(hit)
    summary = r.summary()
    assert (summary["requests_seen"], summary["requests_faulted"]) == (2, 1)
    assert summary["summary"] == "1 of 2 calls faulted (1 with http_503)"
    assert summary["effective"] is True


def test_a_request_is_faulted_when_its_draw_is_below_the_rate_not_equal_to_it():
    import math

    fire, _ = rule()._draws()  # the first request's draws of a rule seeded 1
    assert rule(rate=fire).decide(GET) is None, "P(fault) = rate: a draw equal to the rate is not faulted"
    assert rule(rate=math.nextafter(fire, 1.0)).decide(GET) is not None
