"""airflow-chaos: chaos engineering for ML pipelines on Apache Airflow 3.

ML pipelines rarely crash; they degrade silently. airflow-chaos injects the faults that break ML
systems into real DAG tasks and proves that a check downstream catches each one.

    from airflow_chaos import chaos, faults
"""

from __future__ import annotations

from airflow_chaos.exceptions import (
    ChaosAssertionFailed,
    ChaosConfigError,
    ChaosDetectionFailed,
    ChaosError,
    ChaosRestoreError,
)
from airflow_chaos.lazy import lazy_getattr

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing alone costs more than this whole package
if TYPE_CHECKING:
    from typing import Any

    from airflow_chaos import faults
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


# Provider discovery imports this package in every Airflow process: it loads nothing more until used.
_export = lazy_getattr(
    __name__,
    {
        "chaos": "airflow_chaos.operators.chaos",
        "detects": "airflow_chaos.operators.detects",
        "chaos_matrix": "airflow_chaos.operators.matrix",
    },
)


def __getattr__(name: str) -> Any:
    """``chaos``, ``detects``, ``chaos_matrix`` and the ``faults`` catalogue, loaded on first use."""
    if name == "faults":
        import airflow_chaos.faults as catalogue

        return catalogue
    return _export(name)
