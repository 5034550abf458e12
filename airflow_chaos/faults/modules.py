"""Which module defines which public fault name: the lazy ``airflow_chaos.faults`` and the registry read it.

Standard library only, and no import of a fault module: :mod:`airflow_chaos.faults` loads its names
from this map on first use, and :class:`~airflow_chaos.faults.base.Fault` calls
:func:`import_fault_modules` the first time it is asked for a kind, so the registry always lists
every kind. Keeping the map here, below both, is what keeps the package free of an import circle
(``faults.base`` used to import ``faults`` for it). A test checks the map name by name against the
fault classes each module defines.
"""

from __future__ import annotations

import importlib

#: Public name -> the module defining it, grouped by module.
EXPORTS: dict[str, tuple[str, ...]] = {
    "airflow_chaos.faults.base": (
        "Fault",
        "FaultContext",
    ),
    "airflow_chaos.faults.data": (
        "AddColumn",
        "BackdateTimestamps",
        "CastColumn",
        "CorruptCategories",
        "DropColumn",
        "DropPartition",
        "DuplicateRows",
        "FlipLabels",
        "InjectNulls",
        "OutOfOrderTimestamps",
        "OutOfRange",
        "RenameColumn",
        "ReorderColumns",
        "ShiftDistribution",
        "ShuffleRows",
        "SwapColumns",
        "TableFault",
        "TruncateRows",
    ),
    "airflow_chaos.faults.features": (
        "CorruptFeatures",
        "DropFeature",
        "FeatureLag",
        "FeatureVersionMismatch",
        "ServingSkew",
        "StaleFeatures",
    ),
    "airflow_chaos.faults.files": (
        "CorruptBytes",
        "EmptyFile",
        "HoldBackFile",
        "SwapFormat",
        "TruncateFile",
    ),
    "airflow_chaos.faults.http": (
        "Blackhole",
        "ConnectionReset",
        "HttpError",
        "HttpLatency",
        "HttpTimeout",
        "MalformedBody",
        "RateLimit",
    ),
    "airflow_chaos.faults.registry": (
        "BrokenModel",
        "ChangeSignature",
        "RegistryOutage",
        "RepointAlias",
        "StripMetadata",
    ),
    "airflow_chaos.faults.timing": (
        "Delay",
        "FalseSuccess",
        "Jitter",
        "PartialOutput",
    ),
    "airflow_chaos.records": (
        "SIGNALS",
        "Injection",
        "InjectionStatus",
    ),
}
#: The modules that define fault kinds; each kind registers itself when its module is imported.
FAULT_MODULES: tuple[str, ...] = tuple(m for m in EXPORTS if m.rsplit(".", 1)[-1] not in ("base", "records"))


def import_fault_modules() -> None:
    """Import every module of :data:`FAULT_MODULES`, registering all fault kinds."""
    for module in FAULT_MODULES:
        importlib.import_module(module)
