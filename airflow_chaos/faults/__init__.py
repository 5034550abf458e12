"""The fault catalogue: declarative, validated, JSON round-trippable fault kinds."""

from __future__ import annotations

from airflow_chaos.faults.base import SIGNALS, Fault, FaultContext, Injection, InjectionStatus
from airflow_chaos.faults.data import DropColumn
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

__all__ = [
    "SIGNALS",
    "Blackhole",
    "ConnectionReset",
    "CorruptBytes",
    "Delay",
    "DropColumn",
    "EmptyFile",
    "FalseSuccess",
    "Fault",
    "FaultContext",
    "HoldBackFile",
    "HttpError",
    "HttpLatency",
    "HttpTimeout",
    "Injection",
    "InjectionStatus",
    "Jitter",
    "MalformedBody",
    "PartialOutput",
    "RateLimit",
    "SwapFormat",
    "TruncateFile",
]
