"""Fuzzing fault specs: whatever JSON a plan or a user hands ``Fault.from_dict``, it fails cleanly.

Issue #8 item 4: every invalid spec is a ``ChaosConfigError`` whose message names a field, raised
at parse time; no ``TypeError``, ``KeyError`` or ``OverflowError`` gets through. ``kind`` is drawn
from any JSON value (the real kinds included, so the parameters of every kind are exercised too),
parameters from the kind's real field names with values shaped like the field's type or any JSON
value, plus extra keys (``""`` included). Every spec that is valid must round-trip through JSON.
"""

from __future__ import annotations

import json
import math
import time
import types
import typing
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults import Fault

KINDS = Fault.kinds()
EXAMPLES = 1000

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**30), 10**30),
    st.floats(),  # NaN and +-inf included
    st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e300, 0.0, -0.0, 2**63, -(2**63) - 1]),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
WORDS = ["price", "qty", "x", "a", "b", "*", "GET", "2d", "PT6H", "90s", "csv", "json", "/tmp/chaos-fuzz/out.csv"]


def _shaped(annotation: Any) -> st.SearchStrategy[Any]:
    """Values shaped like ``annotation``: mostly plausible, often at the edges, sometimes out of range."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[_shaped(a) for a in args])
    if origin is list:
        return st.lists(_shaped(args[0]), max_size=4)
    plain: dict[Any, st.SearchStrategy[Any]] = {
        type(None): st.none(),
        bool: st.booleans(),
        int: st.one_of(st.integers(-2, 1000), st.integers(400, 599), st.integers()),
        float: st.one_of(st.floats(0.01, 1.0), st.floats(1.0, 1e4), st.floats(), st.integers(-10, 1000)),
        str: st.one_of(st.sampled_from(WORDS), st.text(max_size=8)),
    }
    return plain.get(annotation, json_values)


# kind -> [(field, required, values for it)], built once: building strategies per draw is slow
FIELDS: dict[str, list[tuple[str, bool, st.SearchStrategy[Any]]]] = {
    kind: [
        (name, info.is_required(), st.one_of(_shaped(info.annotation), _shaped(info.annotation), json_values))
        for name, info in fault_cls.model_fields.items()
    ]
    for kind, fault_cls in KINDS.items()
}


@st.composite
def specs(draw: st.DrawFn) -> Any:
    """A random spec: usually ``{"kind": ..., **params}``, sometimes not a mapping at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values)
    kind = draw(st.one_of(st.sampled_from(sorted(KINDS)), st.sampled_from(sorted(KINDS)), json_values))
    spec: dict[str, Any] = {"kind": kind}
    for name, required, values in FIELDS.get(kind, []) if isinstance(kind, str) else []:
        if draw(st.integers(0, 9)) < (9 if required else 3):
            spec[name] = draw(values)
    if draw(st.integers(0, 3)) == 0:
        extra = draw(st.dictionaries(st.one_of(st.just(""), st.text(max_size=6)), json_values, max_size=2))
        spec.update({k: v for k, v in extra.items() if k != "kind"})
    return spec


def test_random_specs_are_built_or_refused_with_a_config_error_naming_a_field():
    seen = {"specs": 0, "valid": 0, "refused": 0}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(specs())
    def check(spec: Any) -> None:
        seen["specs"] += 1
        try:
            fault = Fault.from_dict(spec)
        except ChaosConfigError as exc:
            seen["refused"] += 1
            assert "field '" in str(exc), f"the message names no field: {exc}"
            return
        seen["valid"] += 1
        text = json.dumps(fault.to_dict(), allow_nan=False)
        again = Fault.from_dict(json.loads(text))
        assert again == fault and type(again) is type(fault), (fault, again)

    started = time.perf_counter()
    check()
    elapsed = time.perf_counter() - started
    assert seen["specs"] >= EXAMPLES, seen
    # Both branches were exercised in earnest: many specs were valid and round-tripped, many were refused.
    assert seen["valid"] >= 100 and seen["refused"] >= 100, seen
    print(f"spec fuzz: {seen} in {elapsed:.1f} s")
