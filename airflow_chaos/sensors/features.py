"""FeatureFreshnessSensor: wait until the online store serves fresh features; push a ``feature.freshness`` Detection."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

from airflow_chaos.operators.features import feature_refs, max_ages, views_of
from airflow_chaos.operators.records import DETECTIONS_KEY, push_detections
from airflow_chaos.records import Detection
from airflow_chaos.triggers.features import FeatureFreshnessTrigger, served_freshness

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_chaos.hooks.feast import FeastHook

DEFER_GRACE_SECONDS = 60.0


class FeatureFreshnessSensor(BaseSensorOperator):
    """Wait until every served value of ``features`` is at most ``max_age`` old (default: each view's TTL).

    The online store does not enforce TTL: stale values are served as present. This sensor reads
    the served event timestamps (``include_event_timestamps=True``) and waits for fresh ones, e.g.
    after a materialization, before a batch scoring job reads them. On success it pushes a passing
    ``feature.freshness`` Detection; when ``timeout`` runs out it pushes a failed one, then fails.
    With ``deferrable=True`` the wait runs in the triggerer (:class:`FeatureFreshnessTrigger`).

    :param features: ``["view:feature", ...]`` (templated).
    :param entity_rows: the entities to read (templated); default: every entity of the first view's source.
    :param repo: a Feast repo directory or ``feature_store.yaml`` (templated); or ``feast_conn_id``.
    :param max_age: seconds or timedelta; default: each view's TTL.
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("features", "entity_rows", "repo")
    ui_color = "#bee5eb"

    def __init__(
        self,
        *,
        features: Sequence[str],
        entity_rows: Sequence[Mapping[str, Any]] | None = None,
        repo: str | None = None,
        feast_conn_id: str | None = "feast_default",
        max_age: float | timedelta | None = None,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(features, str):
            feature_refs(features, f"FeatureFreshnessSensor({self.task_id})")
        self.features, self.entity_rows, self.repo = features, entity_rows, repo
        self.feast_conn_id, self.max_age, self.deferrable = feast_conn_id, max_age, deferrable

    def hook(self) -> FeastHook:
        from airflow_chaos.hooks.feast import FeastHook

        return FeastHook(feast_conn_id=self.feast_conn_id, repo=self.repo)

    def _plan(self) -> tuple[str, list[str], list[dict[str, Any]], dict[str, float]]:
        hook = self.hook()
        refs = feature_refs(self.features, f"FeatureFreshnessSensor({self.task_id})")
        rows = [dict(r) for r in self.entity_rows] if self.entity_rows is not None else hook.entity_rows(views_of(refs)[0])
        return hook.repo_location(), refs, rows, max_ages(hook, refs, self.max_age)

    def poke(self, context: Context) -> bool:
        detection = served_freshness(*self._plan())
        self.log.info("feature freshness: %s %s", "fresh" if detection.passed else "stale", detection.observed)
        return detection.passed

    def execute(self, context: Context) -> Any:
        started = time.time()
        if self.deferrable:
            return self._execute_deferrable(context, started)
        try:
            super().execute(context)
        except (AirflowSensorTimeout, AirflowSkipException):
            self._push(context, served_freshness(*self._plan()))
            raise
        return self._push(context, served_freshness(*self._plan())).observed

    def _execute_deferrable(self, context: Context, started: float) -> Any:
        repo, refs, rows, ages = self._plan()
        detection = served_freshness(repo, refs, rows, ages)
        if detection.passed:
            return self._push(context, detection).observed
        self.defer(
            trigger=FeatureFreshnessTrigger(repo, refs, rows, ages, self.poke_interval, self.timeout, started),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout + DEFER_GRACE_SECONDS),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after :class:`FeatureFreshnessTrigger` fired."""
        if not event:
            raise AirflowSensorTimeout(f"{self.task_id}: the feature freshness trigger fired no event")
        detection = self._push(context, Detection.model_validate(event["detection"]))
        if event["status"] != "fresh":
            self._timed_out(float(event["waited"]))
        return detection.observed

    def _push(self, context: Context, detection: Detection) -> Detection:
        (pushed,) = push_detections(context, [detection])
        self.log.info("check %s: %s %s", pushed.check, "passed" if pushed.passed else "FAILED", pushed.observed)
        return pushed

    def _timed_out(self, waited: float) -> NoReturn:
        if self.soft_fail:
            raise AirflowSkipException(f"features not fresh within {self.timeout} s; soft_fail is set")
        raise AirflowSensorTimeout(
            f"features not fresh within {self.timeout} s (waited {waited:.1f} s). "
            f"Details in XCom '{DETECTIONS_KEY}' of task '{self.task_id}'."
        )
