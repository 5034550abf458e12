"""The Fault model's contract at parse time: exact error messages naming the field, the registry, round trips.

Misconfiguration fails loudly at DAG-parse time with ChaosConfigError naming the field and the
allowed values (DESIGN §5.6); these pin the messages so a regression in how they are built shows.
"""

from __future__ import annotations

import re

import pytest

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults import Fault
from airflow_chaos.faults.base import JournalEntry


def message(build) -> str:
    with pytest.raises(ChaosConfigError) as info:
        build()
    return str(info.value)


def _no_kind(got: str) -> str:
    return (
        "field 'kind': a fault is a mapping with a 'kind' key, e.g. {'kind': 'drop_column', 'column': 'x'}; "
        f"got {got}; allowed kinds: {', '.join(Fault.kinds())}"
    )


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (lambda: Fault.from_dict({"kind": "drop_column"}), "invalid drop_column fault: field 'column': Field required (got {})"),
        (
            lambda: faults.InjectNulls(column="a", fraction=1.5),
            "invalid inject_nulls fault: field 'fraction': Input should be less than or equal to 1 (got 1.5)",
        ),
        (
            lambda: faults.ReorderColumns(order=["a", 2]),
            "invalid reorder_columns fault: field 'order[1]': Input should be a valid string (got 2)",
        ),
        (
            lambda: faults.DropColumn(column="a", extra=1),
            "invalid drop_column fault: field 'extra': unknown field; allowed: path, column (got 1)",
        ),
        (  # a model-level rule: no field to name, and no "Value error, " prefix
            lambda: faults.InjectNulls(column="a", fraction=0.1, condition_column="b"),
            "invalid inject_nulls fault: field 'condition_column' is only used with mechanism='MAR'",
        ),
        (  # a field validator's message keeps the field and the input
            lambda: faults.HttpError(status=[200]),
            "invalid http_error fault: field 'status': status codes must be in 400..599, got [200] (got [200])",
        ),
        # not a mapping with a kind: the field is 'kind', and every kind registered when the test runs is allowed
        (lambda: Fault.from_dict("drop_column"), lambda: _no_kind("'drop_column'")),
        (lambda: Fault.from_dict({"column": "a"}), lambda: _no_kind("{'column': 'a'}")),
    ],
)
def test_configuration_errors_name_the_field(build, text):
    assert message(build) == (text() if callable(text) else text)


def test_one_message_per_distinct_problem():
    text = message(lambda: faults.AddColumn(column="a", value=[1]))
    assert text.startswith("invalid add_column fault: field 'value': Input should be a valid string (got [1]); ")
    parts = text.removeprefix("invalid add_column fault: ").split("; ")
    assert len(parts) == len(set(parts)) == 4


def test_an_unknown_kind_lists_the_allowed_ones():
    text = message(lambda: Fault.from_dict({"kind": "nope"}))
    assert re.fullmatch(r"field 'kind': unknown fault kind 'nope'; allowed: [a-z_, ]+", text)
    allowed = text.split("allowed: ")[1].split(", ")
    assert allowed == sorted(allowed) and {"drop_column", "http_error", "delay"} <= set(allowed)


def test_round_trip_and_describe():
    fault = faults.InjectNulls(column="qty", fraction=0.2, mechanism="MNAR")
    data = fault.to_dict()
    assert data == {"kind": "inject_nulls", "path": None, "column": "qty", "fraction": 0.2, "mechanism": "MNAR", "condition_column": None}
    assert Fault.from_dict(data) == fault and type(Fault.from_dict(data)) is faults.InjectNulls
    assert data["kind"] == "inject_nulls", "from_dict must not change its argument"
    assert fault.describe() == "inject_nulls(column='qty', fraction=0.2, mechanism='MNAR')"


# ---------------------------------------------------------------------- the registry
def test_a_kind_with_an_unknown_signal_fails_naming_the_class():
    with pytest.raises(ChaosConfigError, match=r"^BadSignal: unknown signal\(s\) \['nope'\]; allowed: schema, "):

        class BadSignal(Fault):
            kind = "test_model_bad_signal"
            signals = ("schema", "nope")

    assert "test_model_bad_signal" not in Fault.kinds()


def test_a_kind_registered_twice_by_different_classes_fails():
    class First(Fault):
        kind = "test_model_twice"
        signals = ("schema",)

    with pytest.raises(ChaosConfigError, match=r"^fault kind 'test_model_twice' is registered twice \(First, Second\)$"):

        class Second(Fault):
            kind = "test_model_twice"
            signals = ("schema",)

    assert Fault.kinds()["test_model_twice"] is First


def test_the_same_class_defined_again_replaces_itself():
    def define():
        class Again(Fault):
            kind = "test_model_again"
            signals = ("volume",)

        return Again

    first, second = define(), define()
    assert Fault.kinds()["test_model_again"] is second and first is not second


def test_a_base_class_without_a_kind_is_not_registered():
    before = dict(Fault.kinds())

    class Base(Fault):
        signals = ("schema",)

    assert Fault.kinds() == before


def test_kinds_are_sorted_and_a_copy():
    kinds = Fault.kinds()
    assert list(kinds) == sorted(kinds)
    kinds.pop("drop_column")
    assert "drop_column" in Fault.kinds()


# ---------------------------------------------------------------------- phases a fault does not have
@pytest.mark.parametrize("phase", ["before", "around", "apply", "instead"])
def test_a_phase_a_fault_does_not_implement_says_so(phase):
    class OnlyAfter(Fault):
        kind = f"test_model_only_{phase}"
        signals = ("schema",)

    fault = OnlyAfter()
    args = {"before": (None,), "around": (None,), "apply": (1, None), "instead": (lambda: 1, None)}[phase]
    name = "after" if phase == "apply" else phase
    with pytest.raises(NotImplementedError, match=f"^test_model_only_{phase} has no '{name}' phase$"):
        getattr(fault, phase)(*args)


@pytest.mark.parametrize(("phase", "target"), [("before", "task"), ("around", "task"), ("after", "return_value"), ("instead", "task")])
def test_the_default_target_follows_the_phase(phase, target):
    class Phased(Fault):
        kind = f"test_model_phase_{phase}"
        signals = ("schema",)

    Phased.phase = phase  # type: ignore[misc]
    assert Phased().target() == target


def test_target_follows_the_phase():
    assert faults.Delay(seconds=1).target() == "task"
    assert faults.DropColumn(column="a").target() == "return_value"
    assert faults.DropColumn(column="a", path="/data/x.csv").target() == "file:/data/x.csv"


# ---------------------------------------------------------------------- the journal protocol's record
def test_journal_entry_json_needs_id_op_path_and_a_checksum_field():
    good = {"id": "e1", "op": "rewrite", "path": "/x", "checksum": None}
    assert JournalEntry.valid_json(good)
    assert not JournalEntry.valid_json({k: v for k, v in good.items() if k != "checksum"})
    for key in ("id", "op", "path"):
        assert not JournalEntry.valid_json({**good, key: None}), key
