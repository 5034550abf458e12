"""Pure detection routines yielding Detections. No Airflow imports.

The GX-backed checks (:mod:`airflow_chaos.checks.expectations`) and the format-sniffing reader
(:mod:`airflow_chaos.checks.formats`) load on first use, and ``great_expectations`` itself only when a
validation runs, so importing this package stays cheap.
"""

from __future__ import annotations

from airflow_chaos.checks.schema import required_columns
from airflow_chaos.lazy import lazy_getattr
from airflow_chaos.records import Detection

_LAZY = {
    "ProfileTolerances": "airflow_chaos.checks.expectations",
    "profile_expectations": "airflow_chaos.checks.expectations",
    "signals_for": "airflow_chaos.checks.expectations",
    "validate_frame": "airflow_chaos.checks.expectations",
    "read_bytes": "airflow_chaos.checks.formats",
    "read_path": "airflow_chaos.checks.formats",
    "sniff": "airflow_chaos.checks.formats",
    "feature_freshness": "airflow_chaos.checks.features",
    "training_statistics": "airflow_chaos.checks.features",
    "prediction_reference": "airflow_chaos.checks.models",
    "prediction_drift": "airflow_chaos.checks.models",
    "retry_budget": "airflow_chaos.checks.registry",
}

__all__ = ["Detection", "required_columns", *sorted(_LAZY)]


__getattr__ = lazy_getattr(__name__, _LAZY)
