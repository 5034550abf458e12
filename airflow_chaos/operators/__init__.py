"""Thin Airflow operators: the chaos wrapper, validation operators and the assertion operator.

Imported lazily so ``import airflow_chaos.operators`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AssertDetectedOperator": "airflow_chaos.operators.assertion",
    "ValidateDataOperator": "airflow_chaos.operators.validation",
    "ValidateApiPayloadOperator": "airflow_chaos.operators.api",
    "chaos": "airflow_chaos.operators.chaos",
    "ChaosArm": "airflow_chaos.operators.chaos",
    "ChaosRestoreOperator": "airflow_chaos.operators.restore",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
