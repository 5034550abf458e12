"""The fault catalogue: declarative, validated, JSON round-trippable fault kinds."""

from __future__ import annotations

from airflow_chaos.faults.base import Fault, FaultContext
from airflow_chaos.faults.data import (
    AddColumn,
    BackdateTimestamps,
    CastColumn,
    CorruptCategories,
    DropColumn,
    DropPartition,
    DuplicateRows,
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
from airflow_chaos.faults.timing import Delay, FalseSuccess, Jitter, PartialOutput
from airflow_chaos.records import SIGNALS, Injection, InjectionStatus

__all__ = [
    "SIGNALS",
    "AddColumn",
    "BackdateTimestamps",
    "Blackhole",
    "CastColumn",
    "ConnectionReset",
    "CorruptBytes",
    "CorruptCategories",
    "Delay",
    "DropColumn",
    "DropPartition",
    "DuplicateRows",
    "EmptyFile",
    "FalseSuccess",
    "Fault",
    "FaultContext",
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
    "RenameColumn",
    "ReorderColumns",
    "ShiftDistribution",
    "ShuffleRows",
    "SwapColumns",
    "SwapFormat",
    "TableFault",
    "TruncateFile",
    "TruncateRows",
]
