"""``detects(task, signals=[...])``: count a check the pipeline already has.

Teams already have checks: ``common.sql`` check operators, the GX provider's operators, dbt tests,
their own Python asserts. ``detects`` marks any existing task as a check for some signals, in place
(the task's type, shape and serialized form do not change, as with :func:`~airflow_chaos.chaos`):

- the task **fails**: a failed Detection on those signals, so an injected fault with one of them
  upstream is DETECTED, not FAILED_LOUDLY;
- the task **succeeds**: a passed Detection, which counts toward RECOVERED for a transient fault;
- the task succeeds but its **result says it failed** (it returned ``False``, a mapping with
  ``"success": False``, or an object whose ``success`` is False, as a GX provider operator does by
  default): a passed Detection with ``reported_failure=True``. Nothing failed, so a fault it should have
  caught is SILENT, and the report names the check that reported failure without failing its task.

Detections the task pushes itself (a ``ValidateDataOperator``) are kept; this one is added to them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.operators.records import DETECTIONS_KEY, error_text, map_index_of, push_detections
from airflow_chaos.records import Detection, validate_signals

if TYPE_CHECKING:
    from airflow.sdk import Context

#: The check name of a marked task's own detection: ``<task_id>:task_outcome`` in evidence and reports.
CHECK_NAME = "task_outcome"


def reported_failure(result: Any) -> bool:
    """Whether a task's return value says its check failed: ``False``, ``{"success": False}``, ``.success is False``."""
    if result is False:
        return True
    if isinstance(result, Mapping):
        return result.get("success") is False
    return getattr(result, "success", None) is False


def _own_detections(context: Context) -> list[dict[str, Any]]:
    """What the task itself pushed as ``chaos_detections`` in this try (kept, not overwritten)."""
    ti = context["ti"]
    index = map_index_of(ti)
    if index < 0:  # a list of one task id: no "XCom not found" error logged when the task pushed nothing
        pulled = ti.xcom_pull(task_ids=[ti.task_id], key=DETECTIONS_KEY)
    else:
        pulled = ti.xcom_pull(task_ids=ti.task_id, key=DETECTIONS_KEY, map_indexes=index)
    out: list[dict[str, Any]] = []
    for batch in pulled if isinstance(pulled, list) else [pulled]:
        out += [batch] if isinstance(batch, dict) else [d for d in batch or [] if isinstance(d, dict)]
    return out


def _push(context: Context, signals: Sequence[str], passed: bool, observed: dict[str, Any], quiet: bool) -> None:
    mine = Detection(check=CHECK_NAME, signals=list(signals), passed=passed, observed=observed, reported_failure=quiet)
    kept = [Detection.model_validate(d) for d in _own_detections(context)]
    push_detections(context, [*kept, mine])


def _checked_execute(self: Any, context: Context) -> Any:
    signals = self._chaos_detects
    try:
        result = super(self._chaos_checked_class, self).execute(context)
    except Exception as exc:
        if not _pauses(exc):
            _push(context, signals, False, {"task_state": "failed", "error": error_text(exc)}, quiet=False)
        raise
    quiet = reported_failure(result)
    observed = {"task_state": "success"} | ({"result": "reported failure (success=False)"} if quiet else {})
    _push(context, signals, True, observed, quiet=quiet)
    if quiet:
        self.log.warning(
            "check %s reported a failed result but its task succeeded: a fault it should catch stays SILENT",
            self.task_id,
        )
    return result


def _pauses(exc: BaseException) -> bool:
    from airflow.sdk.exceptions import AirflowRescheduleException, TaskDeferred

    return isinstance(exc, (TaskDeferred, AirflowRescheduleException))


@functools.cache
def _checked_class(cls: type) -> type:
    namespace = {
        "execute": _checked_execute,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    checked = type(cls.__name__, (cls,), namespace)
    checked._chaos_checked_class = checked  # type: ignore[attr-defined]
    return checked


def detects(task: Any, signals: Sequence[str]) -> Any:
    """Mark an existing task (an operator, or a ``@task`` call's output) as a check for ``signals``; returns it.

    Example::

        check = SQLCheckOperator(task_id="orders_not_null", conn_id="warehouse", sql="SELECT COUNT(*) = 0 ...")
        detects(check, signals=["completeness"])

    :param signals: the signals the task's failure stands for (``schema``, ``completeness``, ...).
    """
    operator = getattr(task, "operator", task)
    from airflow.sdk import BaseOperator

    if not isinstance(operator, BaseOperator):
        raise ChaosConfigError(f"detects(): field 'task': expected an operator, got {type(operator).__name__}")
    owner = f"detects({operator.task_id}): field 'signals'"
    if isinstance(signals, str) or not isinstance(signals, Sequence) or not signals:
        raise ChaosConfigError(f"{owner}: give a list of signals, e.g. signals=['completeness'], got {signals!r}")
    operator._chaos_detects = validate_signals(list(signals), owner)
    if not getattr(type(operator), "_chaos_checked_class", None):
        operator.__class__ = _checked_class(type(operator))
    return task
