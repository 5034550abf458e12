"""Freshness and arrival sensors (see DESIGN.md §2). Imported lazily so the package stays cheap."""

from __future__ import annotations

from airflow_chaos.lazy import lazy_getattr

_EXPORTS = {
    "DataFreshnessSensor": "airflow_chaos.sensors.freshness",
    "FileArrivalSensor": "airflow_chaos.sensors.freshness",
    "FeatureFreshnessSensor": "airflow_chaos.sensors.features",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
