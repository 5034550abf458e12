"""The fault catalogue: declarative, validated, JSON round-trippable fault kinds.

Every name here loads on first use (the :mod:`airflow_chaos.lazy` pattern): importing the package
builds no pydantic model, so provider discovery and DAG files that never touch a fault pay nothing
for it. :meth:`Fault.kinds` and :meth:`Fault.from_dict` import every module of
:data:`~airflow_chaos.faults.modules.FAULT_MODULES` the first time they are asked, so the registry always lists every kind.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow_chaos.faults.modules import EXPORTS
from airflow_chaos.faults.modules import FAULT_MODULES as FAULT_MODULES
from airflow_chaos.faults.modules import import_fault_modules as import_fault_modules
from airflow_chaos.lazy import lazy_getattr

if TYPE_CHECKING:
    from airflow_chaos.faults.base import Fault, FaultContext
    from airflow_chaos.faults.data import (
        AddColumn,
        BackdateTimestamps,
        CastColumn,
        CorruptCategories,
        DropColumn,
        DropPartition,
        DuplicateRows,
        FlipLabels,
        InjectNulls,
        OutOfOrderTimestamps,
        OutOfRange,
        RenameColumn,
        ReorderColumns,
        ShiftDistribution,
        ShuffleRows,
        SwapColumns,
        TableFault,
        TruncateRows,
    )
    from airflow_chaos.faults.features import (
        CorruptFeatures,
        DropFeature,
        FeatureLag,
        FeatureVersionMismatch,
        ServingSkew,
        StaleFeatures,
    )
    from airflow_chaos.faults.files import CorruptBytes, EmptyFile, HoldBackFile, SwapFormat, TruncateFile
    from airflow_chaos.faults.http import (
        Blackhole,
        ConnectionReset,
        HttpError,
        HttpLatency,
        HttpTimeout,
        MalformedBody,
        RateLimit,
    )
    from airflow_chaos.faults.registry import (
        BrokenModel,
        ChangeSignature,
        RegistryOutage,
        RepointAlias,
        StripMetadata,
    )
    from airflow_chaos.faults.timing import Delay, FalseSuccess, Jitter, PartialOutput
    from airflow_chaos.records import SIGNALS, Injection, InjectionStatus

_LAZY: dict[str, str] = {name: module for module, names in EXPORTS.items() for name in names}

__all__ = [
    "SIGNALS",
    "AddColumn",
    "BackdateTimestamps",
    "Blackhole",
    "BrokenModel",
    "CastColumn",
    "ChangeSignature",
    "ConnectionReset",
    "CorruptBytes",
    "CorruptCategories",
    "CorruptFeatures",
    "Delay",
    "DropColumn",
    "DropFeature",
    "DropPartition",
    "DuplicateRows",
    "EmptyFile",
    "FalseSuccess",
    "Fault",
    "FaultContext",
    "FeatureLag",
    "FeatureVersionMismatch",
    "FlipLabels",
    "HoldBackFile",
    "HttpError",
    "HttpLatency",
    "HttpTimeout",
    "InjectNulls",
    "Injection",
    "InjectionStatus",
    "Jitter",
    "MalformedBody",
    "OutOfOrderTimestamps",
    "OutOfRange",
    "PartialOutput",
    "RateLimit",
    "RegistryOutage",
    "RenameColumn",
    "ReorderColumns",
    "RepointAlias",
    "ServingSkew",
    "ShiftDistribution",
    "ShuffleRows",
    "StaleFeatures",
    "StripMetadata",
    "SwapColumns",
    "SwapFormat",
    "TableFault",
    "TruncateFile",
    "TruncateRows",
]

_export = lazy_getattr(__name__, _LAZY)


def __getattr__(name: str) -> Any:
    """A fault class (or ``Fault``, ``FaultContext``, ``Injection``...), or a submodule, loaded on first use."""
    if name in _LAZY or name.startswith("_"):
        return _export(name)
    try:
        return importlib.import_module(f"{__name__}.{name}")  # ``faults.data`` without importing it first
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
