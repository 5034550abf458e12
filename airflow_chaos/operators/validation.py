"""Validation operators: run checks on a task's output, push Detections, then raise if a critical one failed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_chaos.checks.base import Detection
from airflow_chaos.checks.schema import required_columns
from airflow_chaos.exceptions import ChaosConfigError, ChaosDetectionFailed
from airflow_chaos.operators.records import DETECTIONS_KEY, push_detections

if TYPE_CHECKING:
    from airflow.sdk import Context


def columns_of(data: Any) -> list[str]:
    """Column names of a DataFrame, Arrow table, list of records or dict of columns."""
    if hasattr(data, "column_names"):
        return list(data.column_names)
    if hasattr(data, "columns"):
        return [str(c) for c in data.columns]
    if isinstance(data, dict):
        return list(data)
    if isinstance(data, list):
        seen: dict[str, None] = {}
        for row in data:
            if isinstance(row, dict):
                seen.update(dict.fromkeys(row))
        return list(seen)
    raise ChaosConfigError(f"field 'data': cannot read columns from a {type(data).__name__}")


class ValidateDataOperator(BaseOperator):
    """Validate a dataset produced upstream and record a Detection per check.

    Detections are pushed (XCom ``chaos_detections``) before this task raises, so a failed check
    still counts for :class:`AssertDetectedOperator`.

    :param data: the dataset, usually ``upstream_task.output`` (templated).
    :param required_columns: columns that must exist (a ``schema`` check).
    :param fail_task: raise :class:`ChaosDetectionFailed` when a critical check fails (default True).
    """

    template_fields: Sequence[str] = ("data", "required_columns")
    ui_color = "#c3e6cb"

    def __init__(
        self,
        *,
        data: Any,
        required_columns: Sequence[str] | None = None,
        fail_task: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not required_columns:
            raise ChaosConfigError(f"{self.task_id}: give at least one check: field 'required_columns'")
        self.data = data
        self.required_columns = list(required_columns)
        self.fail_task = fail_task

    def run_checks(self, data: Any) -> list[Detection]:
        return [required_columns(columns_of(data), self.required_columns)]

    def execute(self, context: Context) -> list[dict[str, Any]]:
        detections = push_detections(context, self.run_checks(self.data))
        failed = [d for d in detections if not d.passed and d.severity == "critical"]
        for d in detections:
            self.log.info(
                "check %s [%s]: %s %s", d.check, ",".join(d.signals), "passed" if d.passed else "FAILED", d.observed
            )
        if failed and self.fail_task:
            names = ", ".join(f"{d.check} [{','.join(d.signals)}]" for d in failed)
            raise ChaosDetectionFailed(
                f"{len(failed)} critical check(s) failed: {names}. "
                f"Details in XCom '{DETECTIONS_KEY}' of task '{self.task_id}'."
            )
        return [d.to_json() for d in detections]
