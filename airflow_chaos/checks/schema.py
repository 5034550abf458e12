"""Schema checks that need no Great Expectations."""

from __future__ import annotations

from collections.abc import Iterable

from airflow_chaos.records import Detection


def required_columns(columns_present: Iterable[str], required: Iterable[str]) -> Detection:
    """A ``schema`` detection: fails when any of ``required`` is missing from ``columns_present``."""
    present = [str(c) for c in columns_present]
    wanted = list(required)
    missing = [c for c in wanted if c not in present]
    return Detection(
        check="required_columns",
        signals=["schema"],
        passed=not missing,
        observed={"missing": missing, "required": wanted, "present": present},
    )
