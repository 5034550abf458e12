"""Pure detection routines yielding Detections. No Airflow imports."""

from __future__ import annotations

from airflow_chaos.checks.base import Detection
from airflow_chaos.checks.schema import required_columns

__all__ = ["Detection", "required_columns"]
