"""Records as JSON XCom: how injections and detections travel between tasks on any executor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from airflow_chaos.checks.base import Detection
from airflow_chaos.faults.base import Injection

INJECTIONS_KEY = "chaos_injections"
DETECTIONS_KEY = "chaos_detections"
REPORT_KEY = "chaos_report"


def _identify(detection: Detection, context: Any) -> Detection:
    ti = context["ti"]
    return detection.model_copy(
        update={
            "dag_id": ti.dag_id,
            "run_id": ti.run_id,
            "task_id": ti.task_id,
            "map_index": ti.map_index if ti.map_index is not None else -1,
        }
    )


def push_detections(context: Any, detections: Iterable[Detection]) -> list[Detection]:
    """Stamp detections with the task's identity and push them as the ``chaos_detections`` XCom."""
    stamped = [_identify(d, context) for d in detections]
    context["ti"].xcom_push(DETECTIONS_KEY, [d.to_json() for d in stamped])
    return stamped


def _flatten(pulled: Any) -> list[dict[str, Any]]:
    if pulled is None:
        return []
    if isinstance(pulled, dict):
        return [pulled]
    out: list[dict[str, Any]] = []
    for batch in pulled:
        out.extend(_flatten(batch))
    return out


def pull_injections(context: Any, task_ids: Sequence[str]) -> list[Injection]:
    pulled = context["ti"].xcom_pull(task_ids=list(task_ids), key=INJECTIONS_KEY) if task_ids else []
    return [Injection.model_validate(rec) for rec in _flatten(pulled)]


def pull_detections(context: Any, task_ids: Sequence[str]) -> list[Detection]:
    pulled = context["ti"].xcom_pull(task_ids=list(task_ids), key=DETECTIONS_KEY) if task_ids else []
    return [Detection.model_validate(rec) for rec in _flatten(pulled)]
