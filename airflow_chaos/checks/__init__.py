"""Pure detection routines yielding Detections. No Airflow imports.

``great_expectations`` is imported only inside the functions that run a validation, so importing this
package stays cheap.
"""

from __future__ import annotations

from airflow_chaos.checks.base import Detection
from airflow_chaos.checks.expectations import (
    ProfileTolerances,
    profile_expectations,
    signals_for,
    validate_frame,
)
from airflow_chaos.checks.formats import read_bytes, read_path, sniff
from airflow_chaos.checks.schema import required_columns

__all__ = [
    "Detection",
    "ProfileTolerances",
    "profile_expectations",
    "read_bytes",
    "read_path",
    "required_columns",
    "signals_for",
    "sniff",
    "validate_frame",
]
