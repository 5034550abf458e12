"""The probability gate: a fault armed with ``probability=p`` goes in on a fraction ``p`` of seeds.

Each injection draws ``gate_draw(seed)`` (a stable hash of its seed, uniform in [0, 1)) and goes in
when the draw is below ``p``. The observed frequency over 1,000 seeded draws must lie within 4
binomial standard deviations of ``p`` (a correct gate fails that by chance about once in 15,000
runs; the draws are seeded, so a pass or fail here is reproducible). A gate that draws from part of
the interval (say ``/ 2**64`` instead of ``/ 2**63``: every draw below 0.5, so ``probability=0.5``
fires every time) is far outside it.
"""

from __future__ import annotations

import math

import pytest

from airflow_chaos import config
from airflow_chaos.experiment.safety import SafetySettings, decide, gate_draw
from airflow_chaos.faults import DropColumn
from airflow_chaos.faults.base import injection_seed
from airflow_chaos.records import InjectionStatus
from tests.unit.operators.runtime import FakeTaskInstance, armed_run, context

N = 1000
PROBABILITIES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9)


def within_binomial(hits: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(hits - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def tolerance_message(hits: int, n: int, p: float) -> str:
    sd = math.sqrt(n * p * (1 - p))
    return f"{hits} of {n} injected at probability {p}: expected {n * p:.0f} +- {4 * sd:.0f} (4 sigma)"


def test_gate_draw_covers_the_unit_interval_uniformly():
    draws = [gate_draw(seed) for seed in range(20_000)]
    assert min(draws) >= 0.0 and max(draws) < 1.0
    assert max(draws) > 0.99 and min(draws) < 0.01
    deciles = [0] * 10
    for d in draws:
        deciles[int(d * 10)] += 1
    for i, hits in enumerate(deciles):
        assert within_binomial(hits, len(draws), 0.1), f"decile {i}: {tolerance_message(hits, len(draws), 0.1)}"


def test_gate_draw_is_a_pure_function_of_the_seed():
    assert gate_draw(12345) == gate_draw(12345)
    assert gate_draw(12345) != gate_draw(12346)


@pytest.mark.parametrize("p", PROBABILITIES)
def test_decide_with_the_gate_draw_fires_at_the_armed_probability(p):
    on = SafetySettings(enabled=True, max_injections_per_run=10**6)
    hits = sum(
        decide(on, probability=p, draw=gate_draw(injection_seed(seed, "d", "r", "t", 0)), dry_run=False).inject
        for seed in range(N)
    )
    assert within_binomial(hits, N, p), tolerance_message(hits, N, p)


@pytest.fixture
def kill_switch_off(monkeypatch):
    monkeypatch.setattr(config, "kill_switch_on", lambda: False)


def _wrapper_statuses(p: float, seeds: range) -> list[InjectionStatus]:
    """The status the real wrapper (``ArmedRun._decide``) gives one armed fault, per experiment seed."""
    statuses = []
    for seed in seeds:
        runner = armed_run(DropColumn(column="a"), probability=p, seed=seed, ctx=context(FakeTaskInstance()))
        runner._decide()
        (item,) = runner.items
        statuses.append(item.injection.status)
    return statuses


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_the_wrapper_injects_at_the_armed_probability(kill_switch_off, p):
    statuses = _wrapper_statuses(p, range(N))
    hits = statuses.count(InjectionStatus.INJECTED)
    assert hits + statuses.count(InjectionStatus.SKIPPED) == N
    assert within_binomial(hits, N, p), tolerance_message(hits, N, p)


def test_the_wrapper_never_injects_at_zero_and_always_at_one(kill_switch_off):
    assert set(_wrapper_statuses(0.0, range(200))) == {InjectionStatus.SKIPPED}
    assert set(_wrapper_statuses(1.0, range(200))) == {InjectionStatus.INJECTED}


def test_the_wrapper_decides_with_the_injection_seeds_gate_draw(kill_switch_off):
    for seed in range(50):
        runner = armed_run(DropColumn(column="a"), probability=0.5, seed=seed)
        runner._decide()
        (item,) = runner.items
        inj = item.injection
        assert inj.seed == injection_seed(seed, "dag", "manual__2026-01-01", "produce", 0)
        injected = gate_draw(inj.seed) < 0.5
        assert (inj.status is InjectionStatus.INJECTED) is injected
        if not injected:
            assert f"(draw {gate_draw(inj.seed):.3f})" in inj.reason


# ---------------------------------------------------------------------- the recorded reasons
def test_the_reasons_recorded_for_each_rule():
    on = SafetySettings(enabled=True)
    kill = decide(SafetySettings(enabled=True, kill_switch=True), probability=1, draw=0, dry_run=False)
    assert kill.reason == "kill switch is on (Variable chaos_kill_switch)"
    assert decide(on, probability=1, draw=0, dry_run=True).reason == "dry run: recorded, nothing changed"
    assert decide(on, probability=0.25, draw=0.5, dry_run=False).reason == "probability 0.25 not drawn (draw 0.500)"
    assert decide(on, probability=1, draw=0.999, dry_run=False).reason is None


def test_max_injections_zero_is_allowed_and_injects_nothing():
    none_allowed = SafetySettings(enabled=True, max_injections_per_run=0)
    d = decide(none_allowed, probability=1, draw=0, dry_run=False)
    assert d.status is InjectionStatus.SKIPPED and d.reason == "max_injections_per_run=0 reached"
