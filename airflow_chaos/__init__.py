"""airflow-chaos: chaos engineering for ML pipelines on Apache Airflow 3.

ML pipelines rarely crash; they degrade silently. airflow-chaos injects the faults that break ML
systems into real DAG tasks and proves that a check downstream catches each one.

    from airflow_chaos import chaos, faults
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_chaos import faults
from airflow_chaos.exceptions import (
    ChaosAssertionFailed,
    ChaosConfigError,
    ChaosDetectionFailed,
    ChaosError,
    ChaosRestoreError,
)

if TYPE_CHECKING:
    from airflow_chaos.operators.chaos import chaos

__version__ = "0.1.0"

__all__ = [
    "ChaosAssertionFailed",
    "ChaosConfigError",
    "ChaosDetectionFailed",
    "ChaosError",
    "ChaosRestoreError",
    "chaos",
    "faults",
]


def __getattr__(name: str) -> Any:
    if name == "chaos":
        from airflow_chaos.operators.chaos import chaos

        return chaos
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
