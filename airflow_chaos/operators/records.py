"""Records as JSON XCom: how injections and detections travel between tasks on any executor.

Nothing leaves a task with a secret in it. :mod:`airflow_chaos.redaction` hides URL userinfo and
query values and values under sensitive names; :func:`redacted` adds Airflow's own secrets masker
(``airflow.sdk.log``: connection passwords, secret Variables, every ``mask_secret`` value) and is
applied to every record pushed, every report, and the chaos log lines (:class:`RedactedLog`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

from airflow_chaos.exceptions import ChaosDetectionFailed
from airflow_chaos.records import Detection, Injection
from airflow_chaos.redaction import redact_json, redact_text, sensitive_values

INJECTIONS_KEY = "chaos_injections"
DETECTIONS_KEY = "chaos_detections"
REPORT_KEY = "chaos_report"
#: A task's model metrics (``{"auc": 0.91}``), for an experiment's impact against its control.
METRICS_KEY = "chaos_metrics"
MAX_NAMED_FAILURES = 10


# ---------------------------------------------------------------------- redaction
def _masked(value: Any) -> Any:
    """Airflow's secrets masker on every string of a JSON value (its values only: key names are ours)."""
    from airflow.sdk._shared.secrets_masker import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def redacted(value: Any) -> Any:
    """A JSON value fit to leave the task: :func:`~airflow_chaos.redaction.redact_json`, then Airflow's masker."""
    return _masked(redact_json(value))


def redacted_text(text: str) -> str:
    """``text`` fit for a record or a log line: :func:`~airflow_chaos.redaction.redact_text`, then Airflow's masker."""
    return str(_masked(redact_text(text)))


def error_text(exc: BaseException) -> str:
    """``"Type: message"`` of an exception, redacted: what an injection records as its ``error``."""
    return redacted_text(f"{type(exc).__name__}: {exc}")


def redact_exception(exc: BaseException) -> None:
    """Redact a task's exception in place before it propagates, so Airflow's traceback log carries no secret.

    Each string argument of the exception, of exceptions among its arguments and of its ``__cause__`` /
    ``__context__`` chain is redacted, and the secrets found are registered with Airflow's
    ``mask_secret`` (so the supervisor also hides them where an exception formats itself another way).
    Never raises: the user's exception is what must propagate.
    """
    from airflow.sdk.log import mask_secret

    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        with contextlib.suppress(Exception):
            for secret in sensitive_values(str(current)):
                mask_secret(secret)
            current.args = tuple(redacted_text(a) if isinstance(a, str) else a for a in current.args)
        nested = [a for a in current.args if isinstance(a, BaseException)]
        pending.extend(e for e in (*nested, current.__cause__, current.__context__) if e is not None)


class RedactedLog:
    """A task logger whose ``info`` / ``warning`` lines are formatted, then redacted, then logged."""

    def __init__(self, log: Any) -> None:
        self._log = log

    def _line(self, msg: str, args: tuple[Any, ...]) -> str:
        return redacted_text(msg % args if args else msg)

    def info(self, msg: str, *args: Any) -> None:
        self._log.info("%s", self._line(msg, args))

    def warning(self, msg: str, *args: Any) -> None:
        self._log.warning("%s", self._line(msg, args))


# ---------------------------------------------------------------------- pushing and pulling records
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
    """Stamp detections with the task's identity, redact them and push them as the ``chaos_detections`` XCom.

    Returns the detections as pushed (redacted), so the task's log lines and return value show the same.
    """
    records = [redacted(_identify(d, context).to_json()) for d in detections]
    context["ti"].xcom_push(DETECTIONS_KEY, records)
    return [Detection.model_validate(r) for r in records]


def _flatten(pulled: Any) -> list[dict[str, Any]]:
    if pulled is None:
        return []
    if isinstance(pulled, dict):
        return [pulled]
    out: list[dict[str, Any]] = []
    for batch in pulled:
        out.extend(_flatten(batch))
    return out


def push_injections(context: Any, injections: Iterable[Injection]) -> list[dict[str, Any]]:
    """Push injection records, redacted, as the ``chaos_injections`` XCom; returns what was pushed."""
    records = [redacted(i.to_json()) for i in injections]
    context["ti"].xcom_push(INJECTIONS_KEY, records)
    return records


def pull_injections(context: Any, task_ids: Sequence[str]) -> list[Injection]:
    pulled = context["ti"].xcom_pull(task_ids=list(task_ids), key=INJECTIONS_KEY) if task_ids else []
    return [Injection.model_validate(rec) for rec in _flatten(pulled)]


def pull_detections(context: Any, task_ids: Sequence[str]) -> list[Detection]:
    pulled = context["ti"].xcom_pull(task_ids=list(task_ids), key=DETECTIONS_KEY) if task_ids else []
    return [Detection.model_validate(rec) for rec in _flatten(pulled)]


def record_metrics(context: Any = None, **metrics: float) -> dict[str, float]:
    """Record the model metrics a task ended with, for the impact of an experiment's scenarios.

    Pushes ``{name: value}`` as the ``chaos_metrics`` XCom of the running task (pushing that XCom by
    hand does the same). In a matrix, each scenario's metric is compared with the control's: the
    report shows ``scenario - control``, both measured. Call it inside a task::

        @task
        def train(frame):
            auc = ...
            record_metrics(auc=auc)
    """
    values = {name: float(value) for name, value in metrics.items()}
    if context is None:
        from airflow.sdk import get_current_context

        context = get_current_context()
    context["ti"].xcom_push(METRICS_KEY, values)
    return values


def pull_metrics(context: Any, task_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``{task_id: {metric: value}}`` of the tasks that recorded metrics (one pull per task: task ids are
    not in the values). A mapped task's instances are merged."""
    ti = context["ti"]
    out: dict[str, dict[str, Any]] = {}
    for task_id in task_ids:  # a list of one: every map index, and no "XCom not found" error logged per task
        for value in _flatten(ti.xcom_pull(task_ids=[task_id], key=METRICS_KEY)):
            out.setdefault(task_id, {}).update(value)
    return out


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
