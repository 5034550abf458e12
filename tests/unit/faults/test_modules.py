"""The lazy ``airflow_chaos.faults`` names every public fault class exactly where it is defined.

``faults/modules.py`` lists, by hand, which module defines which public name: the lazy top level
must name them without importing any fault module at DAG-parse time. These tests keep that list
honest, name by name, against the classes each module really defines.
"""

from __future__ import annotations

import importlib
import inspect

import airflow_chaos.faults as faults
from airflow_chaos.faults.base import Fault
from airflow_chaos.faults.modules import EXPORTS, FAULT_MODULES, import_fault_modules


def _defined(module_name: str) -> dict[str, type[Fault]]:
    """The public Fault subclasses a module defines itself (not the ones it imports)."""
    module = importlib.import_module(module_name)
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, Fault) and obj.__module__ == module_name and not name.startswith("_")
    }


def test_every_fault_module_exports_every_kind_it_defines_and_nothing_else():
    for module_name in FAULT_MODULES:
        defined = _defined(module_name)
        kinds = {name for name, cls in defined.items() if "kind" in vars(cls)}  # bases (TableFault...) set no kind
        exported = set(EXPORTS[module_name])
        assert kinds <= exported, f"{module_name}: not exported: {sorted(kinds - exported)}"
        assert exported <= set(defined), f"{module_name}: exported but not defined there: {sorted(exported - set(defined))}"
        assert kinds, module_name


def test_every_kind_the_package_registers_comes_from_a_listed_module():
    import_fault_modules()
    shipped = {k: cls for k, cls in Fault.kinds().items() if cls.__module__.startswith("airflow_chaos.")}
    assert {cls.__module__ for cls in shipped.values()} == set(FAULT_MODULES)
    assert all(cls.__name__ in EXPORTS[cls.__module__] for cls in shipped.values())


def test_each_listed_name_loads_from_its_module_and_all_lists_every_name():
    for module_name, names in EXPORTS.items():
        module = importlib.import_module(module_name)
        for name in names:
            assert getattr(faults, name) is getattr(module, name), name
    assert sorted(faults.__all__) == sorted(name for names in EXPORTS.values() for name in names)
    assert len(faults.__all__) == len(set(faults.__all__))


def test_the_map_imports_no_fault_module():
    source = inspect.getsource(importlib.import_module("airflow_chaos.faults.modules"))
    assert "from airflow_chaos" not in source and "import airflow_chaos" not in source
