"""Timing faults without Airflow: Delay, Jitter, PartialOutput, FalseSuccess."""

from __future__ import annotations

import time

import pandas as pd
import pyarrow as pa
import pytest

from airflow_chaos.exceptions import ChaosConfigError, ChaosInjectedFailure
from airflow_chaos.faults import Delay, FalseSuccess, Fault, FaultContext, Jitter, PartialOutput


def test_signals_and_phases():
    assert Delay.signals == Jitter.signals == ("freshness",)
    assert PartialOutput.signals == ("volume", "completeness")
    assert FalseSuccess.signals == ("volume", "freshness")
    assert (Delay.phase, Jitter.phase, PartialOutput.phase, FalseSuccess.phase) == (
        "before",
        "before",
        "instead",
        "instead",
    )


@pytest.mark.parametrize(
    "fault",
    [
        Delay(seconds=2),
        Jitter(max_seconds=3),
        PartialOutput(fraction=0.5, then="raise"),
        FalseSuccess(return_value={"rows": 0}),
    ],
)
def test_round_trip(fault):
    assert Fault.from_dict(fault.to_dict()) == fault


@pytest.mark.parametrize(
    ("cls", "params", "field"),
    [
        (Jitter, {"max_seconds": 0}, "max_seconds"),
        (PartialOutput, {"fraction": 1.0}, "fraction"),
        (PartialOutput, {"fraction": 0.5, "then": "explode"}, "then"),
    ],
)
def test_invalid_parameters_name_the_field(cls, params, field):
    with pytest.raises(ChaosConfigError, match=f"field '{field}'"):
        cls(**params)


def test_delay_keeps_its_api():
    assert Delay(seconds=120).should_defer() and not Delay(seconds=1).should_defer()
    ctx = FaultContext(seed=1)
    Delay(seconds=0.05).before(ctx)
    assert ctx.changes["delayed_seconds"] >= 0.05


def test_jitter_is_seeded_and_bounded():
    fault = Jitter(max_seconds=10)
    draws = [fault.draw(FaultContext(seed=s)) for s in range(20)]
    assert all(0 <= d <= 10 for d in draws) and len(set(draws)) > 1
    assert fault.draw(FaultContext(seed=7)) == fault.draw(FaultContext(seed=7))


def test_jitter_sleeps_what_it_drew():
    ctx = FaultContext(seed=3)
    started = time.monotonic()
    Jitter(max_seconds=0.2).before(ctx)
    assert time.monotonic() - started >= ctx.changes["drawn_seconds"] - 0.01
    assert ctx.changes["delayed_seconds"] >= ctx.changes["drawn_seconds"] - 0.01


@pytest.mark.parametrize(
    ("value", "rows"),
    [
        (pd.DataFrame({"a": range(10)}), 10),
        (pa.table({"a": list(range(10))}), 10),
        ([{"a": i} for i in range(10)], 10),
        ({"a": list(range(10)), "b": list(range(10))}, 10),
    ],
)
def test_partial_output_keeps_the_first_fraction(value, rows):
    ctx = FaultContext(seed=0)
    out = PartialOutput(fraction=0.3).instead(lambda: value, ctx)
    assert type(out) is type(value)
    assert ctx.changes == {"rows_before": rows, "rows_after": 3, "rows_dropped": 7, "then": "succeed"}
    if isinstance(value, pd.DataFrame):
        assert out["a"].tolist() == [0, 1, 2] and len(value) == 10
    elif isinstance(value, pa.Table):
        assert out.column("a").to_pylist() == [0, 1, 2]
    elif isinstance(value, dict):
        assert out == {"a": [0, 1, 2], "b": [0, 1, 2]}
    else:
        assert out == [{"a": 0}, {"a": 1}, {"a": 2}]


def test_partial_output_raise_is_an_injected_failure():
    ctx = FaultContext(seed=0)
    with pytest.raises(ChaosInjectedFailure, match="2 of 5 rows"):
        PartialOutput(fraction=0.4, then="raise").instead(lambda: list(range(5)), ctx)
    assert ctx.changes["rows_after"] == 2


def test_partial_output_respects_the_blast_radius():
    ctx = FaultContext(seed=0, max_fraction=0.2)
    out = PartialOutput(fraction=0.0).instead(lambda: list(range(10)), ctx)
    assert out == list(range(8))


def test_partial_output_passes_unknown_values_through_as_not_effective():
    ctx = FaultContext(seed=0)
    assert PartialOutput(fraction=0.5).instead(lambda: 42, ctx) == 42
    assert ctx.changes["effective"] is False
    assert ctx.ineffective_reason == "cannot cut a value of type int: it passed through untouched"


def test_false_success_never_runs_the_task():
    calls = []
    ctx = FaultContext(seed=0)
    out = FalseSuccess(return_value={"rows": 0}).instead(lambda: calls.append(1), ctx)
    assert out == {"rows": 0} and calls == []
    assert ctx.changes["work_skipped"] is True
