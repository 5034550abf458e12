"""Freshness and arrival sensors (see DESIGN.md §2). Imported lazily so the package stays cheap."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DataFreshnessSensor": "airflow_chaos.sensors.freshness",
    "FileArrivalSensor": "airflow_chaos.sensors.freshness",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
