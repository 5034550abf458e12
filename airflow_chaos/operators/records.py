"""Records as JSON XCom: how injections and detections travel between tasks on any executor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from airflow_chaos.exceptions import ChaosDetectionFailed
from airflow_chaos.records import Detection, Injection

INJECTIONS_KEY = "chaos_injections"
DETECTIONS_KEY = "chaos_detections"
REPORT_KEY = "chaos_report"
MAX_NAMED_FAILURES = 10


def map_index_of(ti: Any) -> int:
    """The task instance's map index, -1 when unmapped (the runtime may say None)."""
    return ti.map_index if ti.map_index is not None else -1


def _identify(detection: Detection, context: Any) -> Detection:
    ti = context["ti"]
    return detection.model_copy(
        update={
            "dag_id": ti.dag_id,
            "run_id": ti.run_id,
            "task_id": ti.task_id,
            "map_index": map_index_of(ti),
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


def raise_on_critical(detections: Sequence[Detection], task_id: str, *, subject: str = "") -> None:
    """Raise :class:`ChaosDetectionFailed` naming the failed critical checks (after they were pushed).

    ``subject`` prefixes the count, e.g. ``"on the API payload: "``.
    """
    failed = [d for d in detections if not d.passed and d.severity == "critical"]
    if not failed:
        return
    named = [f"{d.check} [{','.join(d.signals)}]" for d in failed[:MAX_NAMED_FAILURES]]
    if len(failed) > MAX_NAMED_FAILURES:
        named.append(f"and {len(failed) - MAX_NAMED_FAILURES} more")
    raise ChaosDetectionFailed(
        f"{subject}{len(failed)} critical check(s) failed (of {len(detections)} run): {', '.join(named)}. "
        f"Details in XCom '{DETECTIONS_KEY}' of task '{task_id}'."
    )
