"""The Fault base: registry, JSON round trip, parse-time validation, stable seeding."""

from __future__ import annotations

import json

import pytest

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.base import Fault, FaultContext, injection_seed, stable_seed
from airflow_chaos.records import Injection, InjectionStatus


def test_every_registered_kind_round_trips_through_json():
    examples = {"drop_column": {"column": "price"}, "delay": {"seconds": 2.5}}
    for kind, params in examples.items():
        fault = Fault.from_dict({"kind": kind, **params})
        assert fault.kind == kind
        again = Fault.from_dict(json.loads(json.dumps(fault.to_dict())))
        assert again == fault and type(again) is type(fault)


def test_unknown_kind_names_the_allowed_kinds():
    with pytest.raises(ChaosConfigError, match=r"field 'kind'.*allowed: .*drop_column"):
        Fault.from_dict({"kind": "drop_colum", "column": "x"})


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: faults.Delay(seconds=0), "seconds"),
        (lambda: faults.Delay(seconds="soon"), "seconds"),
        (lambda: faults.DropColumn(column=""), "column"),
        (lambda: faults.DropColumn(), "column"),
        (lambda: faults.DropColumn(column="x", colour="red"), "colour"),
    ],
)
def test_invalid_parameters_raise_at_construction_naming_the_field(build, field):
    with pytest.raises(ChaosConfigError, match=f"field '{field}'"):
        build()


def test_faults_are_frozen():
    fault = faults.DropColumn(column="a")
    with pytest.raises(Exception, match="frozen"):
        fault.column = "b"


def test_stable_seed_is_stable_and_sensitive():
    assert stable_seed(7, "dag", "task") == stable_seed(7, "dag", "task")
    assert stable_seed(7, "dag", "task") != stable_seed(8, "dag", "task")
    # A fixed value guards against an accidental change of the hash (replays across versions).
    assert stable_seed(1, "a") == stable_seed("1", "a")
    assert 0 <= stable_seed("x") < 2**63


def test_injection_seed_with_explicit_seed_ignores_run_id_and_without_seed_uses_it():
    assert injection_seed(7, "d", "run1", "t", 0) == injection_seed(7, "d", "run2", "t", 0)
    assert injection_seed(7, "d", "run1", "t", 0) != injection_seed(7, "d", "run1", "t", 1)
    assert injection_seed(None, "d", "run1", "t", 0) != injection_seed(None, "d", "run2", "t", 0)
    assert injection_seed(7, "d", "r", "t", 0, map_index=0) != injection_seed(7, "d", "r", "t", 0, map_index=1)


def test_fault_context_rng_is_seeded():
    a = FaultContext(seed=42).rng.random(5)
    b = FaultContext(seed=42).rng.random(5)
    c = FaultContext(seed=43).rng.random(5)
    assert (a == b).all() and not (a == c).all()
    assert FaultContext(seed=1, max_fraction=0.1).bounded_fraction(0.5) == 0.1


def test_injection_record_is_json_safe_and_round_trips():
    fault = faults.DropColumn(column="price")
    inj = Injection.for_fault(fault, InjectionStatus.INJECTED, dag_id="d", run_id="r", task_id="t")
    payload = json.loads(json.dumps(inj.to_json()))
    assert payload["signals"] == ["schema"] and payload["target"] == "return_value"
    assert Injection.model_validate(payload) == inj


# ---------------------------------------------------------------------- issue #8 item 4: every bad spec is a ChaosConfigError
@pytest.mark.parametrize("kind", [["x"], {"a": 1}, float("nan"), None, 3, True, ""])
def test_a_kind_that_is_no_kind_name_is_a_config_error_naming_kind(kind):
    with pytest.raises(ChaosConfigError, match=r"field 'kind'.*allowed: .*drop_column"):
        Fault.from_dict({"kind": kind, "column": "x"})


@pytest.mark.parametrize("spec", [None, ["drop_column"], "drop_column", {"column": "x"}])
def test_a_spec_that_is_no_mapping_with_a_kind_names_the_kind_field(spec):
    with pytest.raises(ChaosConfigError, match="field 'kind'"):
        Fault.from_dict(spec)


def test_an_empty_extra_key_is_named_with_the_allowed_fields():
    with pytest.raises(ChaosConfigError, match=r"field '': unknown field; allowed: .*column") as raised:
        Fault.from_dict({"kind": "drop_column", "column": "x", "": 1})
    assert "path" in str(raised.value)


def test_a_non_string_key_is_a_config_error_naming_it():
    with pytest.raises(ChaosConfigError, match="field '1'"):
        Fault.from_dict({"kind": "drop_column", "column": "x", 1: "y"})


def test_positional_fault_arguments_are_a_config_error_naming_the_field():
    with pytest.raises(ChaosConfigError, match=r"field 'column'.*by name.*'x'"):
        faults.DropColumn("x")  # type: ignore[misc]
    with pytest.raises(ChaosConfigError, match=r"field 'seconds'.*by name"):
        faults.Delay(5)  # type: ignore[misc]


@pytest.mark.parametrize("base", ["Fault", "TableFault", "HttpFault", "FileFault"])
def test_abstract_bases_cannot_be_built(base):
    from airflow_chaos.faults import data, files, http

    cls = {"Fault": Fault, "TableFault": data.TableFault, "HttpFault": http.HttpFault, "FileFault": files.FileFault}[
        base
    ]
    with pytest.raises(ChaosConfigError, match=rf"field 'kind'.*{base} is an abstract base"):
        cls(path="/tmp/x.csv") if base == "FileFault" else cls()


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: faults.OutOfRange(column="x", fraction=0.5), "scale"),
        (lambda: faults.ShiftDistribution(column="x"), "mean_shift"),
        (lambda: faults.SwapColumns(a="x", b="x"), "b"),
        (lambda: faults.SwapFormat(path="/tmp/x.csv", to="csv", source="csv"), "to"),
        (lambda: faults.CorruptBytes(path="/tmp/x.csv"), "fraction"),
        (lambda: faults.FalseSuccess(return_value=float("nan")), "return_value"),
        (lambda: faults.AddColumn(column="x", value=float("inf")), "value"),
        (lambda: faults.Delay(seconds=1, defer_above=float("inf")), "defer_above"),
    ],
)
def test_whole_fault_checks_name_a_field_too(build, field):
    with pytest.raises(ChaosConfigError, match=f"field '{field}'"):
        build()


def test_a_huge_input_is_cut_short_in_the_message():
    with pytest.raises(ChaosConfigError, match="field 'column'") as raised:
        faults.DropColumn(column=["x"] * 10_000)
    assert len(str(raised.value)) < 1_000


# ---------------------------------------------------------------------- exact messages and edges (make mutate)
class _NoFields(Fault):
    kind = "test_base_no_fields"
    signals = ("schema",)


def test_a_repr_is_cut_at_its_limit_with_an_ellipsis():
    from airflow_chaos.faults.base import _short_repr

    assert _short_repr("x" * 118) == "'" + "x" * 118 + "'"  # 120 characters: kept whole
    cut = _short_repr("x" * 119)  # 121 characters
    assert cut == "'" + "x" * 116 + "..." and len(cut) == 120
    assert _short_repr([1, 2, 3], limit=5) == "[1..."


def test_a_nested_position_names_each_index_of_the_field():
    from airflow_chaos.faults.base import _field_name

    assert _field_name(("order", 2, "str", 0)) == "order[2][0]"
    assert _field_name(("value", "str")) == "value"


def test_a_whole_fault_check_names_only_the_quoted_words_that_are_fields():
    from airflow_chaos.faults.base import _naming_fields

    assert _naming_fields("give 'a' or 'b', not 'c'", {"a": 1, "b": 2}) == "give field 'a' or field 'b', not 'c'"
    assert _naming_fields("field 'a' and 'b'", {"a": 1, "b": 2}) == "field 'a' and 'b'", "already named"


def test_a_fault_without_fields_says_so_when_given_one():
    with pytest.raises(ChaosConfigError) as raised:
        _NoFields(colour="red")
    assert (
        str(raised.value)
        == "invalid test_base_no_fields fault: field 'colour': unknown field; allowed: none (got 'red')"
    )
    with pytest.raises(ChaosConfigError, match=r"field '1': field names are strings; allowed: none$"):
        Fault.from_dict({"kind": "test_base_no_fields", 1: "y"})


def test_a_non_string_key_lists_the_allowed_fields():
    with pytest.raises(ChaosConfigError) as raised:
        Fault.from_dict({"kind": "drop_column", "column": "x", 1: "y"})
    assert str(raised.value) == "invalid drop_column fault: field '1': field names are strings; allowed: path, column"


def test_a_positional_argument_names_the_field_it_was_meant_for_and_lists_the_fields():
    with pytest.raises(ChaosConfigError) as raised:
        faults.Delay(5)  # type: ignore[misc]
    assert str(raised.value) == (
        "invalid delay fault: field 'seconds': give fields by name, e.g. Delay(seconds=...), "
        "not by position (got (5,)); fields: seconds, defer_above"
    )
    with pytest.raises(ChaosConfigError, match=r"field 'defer_above': .*Delay\(defer_above=\.\.\.\)"):
        faults.Delay(90, seconds=1)  # type: ignore[misc]  # seconds given: the field left is defer_above
    with pytest.raises(ChaosConfigError, match=r"field 'seconds': .*\(got \(5,\)\)"):
        faults.Delay(5, defer_above=9)  # type: ignore[misc]


def test_a_positional_argument_with_every_field_given_or_none_to_give():
    with pytest.raises(ChaosConfigError) as raised:
        _NoFields(5)  # type: ignore[misc]
    assert str(raised.value) == (
        "invalid test_base_no_fields fault: field 'args[0]': give fields by name, e.g. _NoFields(args[0]=...), "
        "not by position (got (5,)); fields: none"
    )
    with pytest.raises(ChaosConfigError, match=r"^invalid delay fault: field 'args\[0\]': "):
        faults.Delay(5, seconds=1, defer_above=9)  # type: ignore[misc]


def test_an_abstract_base_lists_the_allowed_kinds_separated_by_commas():
    with pytest.raises(ChaosConfigError) as raised:
        Fault()
    allowed = str(raised.value).split("allowed kinds: ")[1].split(", ")
    assert allowed == sorted(allowed) and {"delay", "drop_column", "test_base_no_fields"} <= set(allowed)


def test_to_dict_is_json_not_python_objects():
    from datetime import timedelta

    fault = Fault.from_dict(
        {"kind": "feature_lag", "repo": "/tmp/repo", "feature_view": "fv", "by": timedelta(hours=2)}
    )
    doc = fault.to_dict()
    assert doc["kind"] == "feature_lag" and doc["by"] == "PT2H"
    assert json.loads(json.dumps(doc)) == doc
    assert Fault.from_dict(doc) == fault


def test_map_index_zero_is_a_mapped_instance_of_its_own():
    assert injection_seed(7, "d", "r", "t", 0, map_index=0) != injection_seed(7, "d", "r", "t", 0, map_index=-1)
    assert injection_seed(7, "d", "r", "t", 0, map_index=-1) == injection_seed(7, "d", "r", "t", 0)


def test_a_registered_state_resource_is_built_by_its_factory():
    from airflow_chaos.faults import base

    resource = object()
    base.register_state_resource("test_base.resource", lambda: resource)
    try:
        assert base.state_resource("test_base.resource") is resource
    finally:
        base._STATE_RESOURCES.pop("test_base.resource")


def test_a_state_module_is_imported_to_register_its_resources(monkeypatch):
    import sys
    import types

    from airflow_chaos.faults import base

    module = types.ModuleType("test_base_state_module")
    resource = object()
    imported: list[str] = []

    def load(name: str) -> types.ModuleType:
        imported.append(name)
        base.register_state_resource("test_base_prefix.x", lambda: resource)
        return module

    monkeypatch.setitem(sys.modules, "test_base_state_module", module)
    monkeypatch.setattr("importlib.import_module", load)
    base.register_state_module("test_base_prefix.", "test_base_state_module")
    try:
        assert base.state_resource("test_base_prefix.x") is resource
        assert imported == ["test_base_state_module"]
    finally:
        base._STATE_RESOURCES.pop("test_base_prefix.x", None)
        base._STATE_RESOURCE_MODULES.pop("test_base_prefix.")
