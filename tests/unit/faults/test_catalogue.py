"""The Markdown fault catalogue is generated from the models: every kind, every field, its type and default."""

from __future__ import annotations

from typing import Literal

from airflow_chaos.faults import Fault
from airflow_chaos.faults.catalogue import catalogue_markdown, type_label, value_label


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in catalogue_markdown().splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[1].strip("`")] = cells
    return rows


def _package_kinds() -> dict[str, type[Fault]]:
    """The kinds the package ships: other tests register their own kinds (``test_*``) on the same registry."""
    return {k: cls for k, cls in Fault.kinds().items() if cls.__module__.startswith("airflow_chaos.")}


def test_every_kind_has_one_row_with_every_field_its_signals_and_phase():
    rows = _rows()
    assert set(rows) == set(_package_kinds())
    for kind, cls in _package_kinds().items():
        cells = rows[kind]
        assert cells[0] == f"`{cls.__name__}`"
        for name in cls.model_fields:
            assert f"`{name}: " in cells[2], (kind, name)
        assert cells[3] == ", ".join(cls.signals)
        assert cells[4] == cls.phase


def test_fields_show_type_and_default_as_python_source():
    rows = _rows()
    assert rows["http_timeout"][2].startswith('`seconds: float = 30.0`, `host: str = "*"`')
    assert '`source: "parquet" \\| "csv" \\| "tsv" \\| "json" \\| "jsonl" \\| None = None`' in rows["swap_format"][2]
    assert "`values: list[str] \\| None = None`" in rows["corrupt_categories"][2]
    assert '= "truncated_json" (alias kind)`' in rows["malformed_body"][2]
    assert rows["drop_column"][2] == "`column: str`, `path: str \\| None = None`"  # required first, shared last


def test_value_label_writes_python_with_double_quoted_strings():
    assert value_label(["signature", "tags"]) == '["signature", "tags"]'
    assert value_label({"a": 1}) == '{"a": 1}'
    assert value_label(None) == "None" and value_label(False) == "False" and value_label(30.0) == "30.0"


def test_a_kind_registered_outside_the_package_is_not_in_the_catalogue():
    class LocalProbe(Fault):
        kind = "test_catalogue_local_probe"
        signals = ("schema",)

    try:
        assert "test_catalogue_local_probe" in Fault.kinds()
        assert "test_catalogue_local_probe" not in _rows()
    finally:
        Fault._registry.pop("test_catalogue_local_probe", None)


def test_type_label():
    assert type_label(int | None) == "int | None"
    assert type_label(Literal["MCAR", "MAR"]) == '"MCAR" | "MAR"'
    assert type_label(list[int] | int) == "list[int] | int"


def test_kinds_registered_outside_the_package_stay_out_of_its_catalogue():
    from typing import ClassVar

    from airflow_chaos.faults.base import Fault
    from airflow_chaos.faults.catalogue import catalogue_markdown

    class UsersOwnFault(Fault):  # registered by user code (here: this test module)
        kind: ClassVar[str] = "users_own_fault_for_the_catalogue_test"

    try:
        assert "users_own_fault_for_the_catalogue_test" not in catalogue_markdown()
    finally:
        Fault._registry.pop("users_own_fault_for_the_catalogue_test", None)
