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
    from airflow_chaos.operators.detects import detects
    from airflow_chaos.operators.matrix import chaos_matrix

__version__ = "0.1.0"

__all__ = [
    "ChaosAssertionFailed",
    "ChaosConfigError",
    "ChaosDetectionFailed",
    "ChaosError",
    "ChaosRestoreError",
    "chaos",
    "chaos_matrix",
    "detects",
    "faults",
]


def __getattr__(name: str) -> Any:
    if name == "chaos":
        from airflow_chaos.operators.chaos import chaos

        return chaos
    if name == "detects":
        from airflow_chaos.operators.detects import detects

        return detects
    if name == "chaos_matrix":
        from airflow_chaos.operators.matrix import chaos_matrix

        return chaos_matrix
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
