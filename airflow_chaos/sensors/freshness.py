"""Freshness and arrival sensors: wait for data, then push a ``freshness`` Detection either way.

Both sensors work in ``poke`` and ``reschedule`` mode and, with ``deferrable=True``, hand the wait to
:class:`~airflow_chaos.triggers.file.FileArrivalTrigger` so no worker slot is held. Whatever the
outcome, the sensor pushes its Detections (XCom ``chaos_detections``) *before* it fails: a file that
never came (``freshness`` + ``volume``), came late (``freshness``) or is stale (``freshness``) counts
as detected for ``AssertDetectedOperator``; one on time pushes a passing Detection.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

from airflow_chaos.checks.freshness import PathState, Seconds, arrival, deadline, freshness, seconds_of, stat_path
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.operators.records import DETECTIONS_KEY, push_detections, raise_on_critical
from airflow_chaos.records import Detection
from airflow_chaos.triggers.file import FileArrivalTrigger, arrived

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFER_GRACE_SECONDS = 60.0


def _optional_seconds(value: Seconds | None, field: str, owner: str) -> float | None:
    if value is None:
        return None
    seconds = seconds_of(value)
    if seconds < 0:
        raise ChaosConfigError(f"{owner}: field '{field}' must be >= 0 seconds, got {value!r}")
    return seconds


def epoch_of(value: str | datetime | float | None, field: str, owner: str) -> float | None:
    """A moment given as a datetime (naive means UTC), epoch seconds or an ISO-8601 / numeric string."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return epoch_of(datetime.fromisoformat(value.strip()), field, owner)
    except ValueError:
        raise ChaosConfigError(
            f"{owner}: field '{field}': not a datetime, epoch or ISO-8601 string: {value!r}"
        ) from None


class FileArrivalSensor(BaseSensorOperator):
    """Wait for a file, object or partition to arrive; record whether it came on time.

    :param path: local path or fsspec / ``ObjectStoragePath`` URL; a directory counts as its newest
        file (templated).
    :param max_age: freshness SLA: a file older than this (seconds or timedelta) does not count as
        arrived; the sensor keeps waiting for a fresh one.
    :param arrival_sla: lateness SLA: the file must arrive within this long after the sensor's first
        poke. A file that arrives later is *late*: a failed ``freshness`` Detection.
    :param due_by: deadline: the file must have landed (by its modification time) by this moment, a
        datetime, epoch seconds or an ISO-8601 string (templated), e.g.
        ``"{{ dag_run.start_date + macros.timedelta(minutes=10) }}"``. Later is *late*.
    :param timeout: how long to wait at all (seconds or timedelta), as for every sensor.
    :param deferrable: wait in the triggerer (:class:`FileArrivalTrigger`) instead of a worker.
    :param fail_task: fail when the file is late or stale (default True). A file that never came
        always fails the sensor (``AirflowSensorTimeout``), after its Detection is pushed.
    """

    template_fields: Sequence[str] = ("path", "due_by")
    ui_color = "#bee5eb"
    check_name = "file_arrival"

    def __init__(
        self,
        *,
        path: str,
        max_age: Seconds | None = None,
        arrival_sla: Seconds | None = None,
        due_by: str | datetime | float | None = None,
        deferrable: bool = False,
        fail_task: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not path:
            raise ChaosConfigError(f"{self.task_id}: field 'path' must not be empty")
        self.path = str(path)
        self.max_age = _optional_seconds(max_age, "max_age", self.task_id)
        self.arrival_sla = _optional_seconds(arrival_sla, "arrival_sla", self.task_id)
        if not (isinstance(due_by, str) and "{{" in due_by):
            epoch_of(due_by, "due_by", self.task_id)  # fail at parse time unless templated
        self.due_by = due_by
        self.deferrable = deferrable
        self.fail_task = fail_task

    # ------------------------------------------------------------------ checks
    def poke(self, context: Context) -> bool:
        state = stat_path(self.path)
        self.log.info("poking %s: %s", self.path, "present" if state.exists else "missing")
        return arrived(state, self.max_age, time.time())

    def evaluate(self, state: PathState, waited: float, now: float) -> list[Detection]:
        """The Detections for what the sensor found after waiting ``waited`` seconds."""
        detections = [arrival(state, waited, self.arrival_sla, check=self.check_name), *self._deadline(state)]
        if self.max_age is not None and state.exists:
            detections.append(freshness(state, self.max_age, now, check="file_freshness"))
        return detections

    def _deadline(self, state: PathState) -> list[Detection]:
        due_by = epoch_of(self.due_by, "due_by", self.task_id)
        if due_by is None or not state.exists:
            return []
        return [deadline(state, due_by, check=self.check_name.replace("arrival", "deadline"))]

    # ------------------------------------------------------------------ execution
    def execute(self, context: Context) -> Any:
        started = self._started_at(context)
        if self.deferrable:
            return self._execute_deferrable(context, started)
        try:
            super().execute(context)
        except (AirflowSensorTimeout, AirflowSkipException):
            self._record(context, stat_path(self.path), time.time() - started)
            raise
        return self._conclude(context, stat_path(self.path), time.time() - started)

    def _started_at(self, context: Context) -> float:
        """Epoch seconds of the first poke (across reschedules in ``reschedule`` mode)."""
        if self.reschedule:
            first = context["ti"].get_first_reschedule_date(context)
            if first is not None:
                return float(first.timestamp())
        return time.time()

    def _execute_deferrable(self, context: Context, started: float) -> Any:
        if self.poke(context):
            return self._conclude(context, stat_path(self.path), time.time() - started)
        self.defer(
            trigger=FileArrivalTrigger(
                path=self.path,
                max_age=self.max_age,
                poll_interval=self.poke_interval,
                timeout=self.timeout,
                started_at=started,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout + DEFER_GRACE_SECONDS),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after :class:`FileArrivalTrigger` fired."""
        if not event:
            raise AirflowSensorTimeout(f"{self.task_id}: the trigger for {self.path} fired no event")
        state = PathState(**event["state"])
        if event["status"] != "arrived":
            self._record(context, state, float(event["waited"]))
            self._timed_out(float(event["waited"]))
        return self._conclude(context, state, float(event["waited"]))

    # ------------------------------------------------------------------ outcome
    def _record(self, context: Context, state: PathState, waited: float) -> list[Detection]:
        detections = push_detections(context, self.evaluate(state, waited, time.time()))
        for d in detections:
            self.log.info(
                "check %s [%s]: %s %s", d.check, ",".join(d.signals), "passed" if d.passed else "FAILED", d.observed
            )
        return detections

    def _timed_out(self, waited: float) -> NoReturn:
        if self.soft_fail:
            raise AirflowSkipException(f"{self.path} did not arrive within {self.timeout} s; soft_fail is set")
        raise AirflowSensorTimeout(
            f"{self.path} did not arrive within {self.timeout} s (waited {waited:.1f} s). "
            f"Details in XCom '{DETECTIONS_KEY}' of task '{self.task_id}'."
        )

    def _conclude(self, context: Context, state: PathState, waited: float) -> dict[str, Any]:
        detections = self._record(context, state, waited)
        if self.fail_task:
            raise_on_critical(detections, self.task_id, subject=f"{self.path} arrived but ")
        return {"path": self.path, "waited": round(waited, 3), "state": state.observed()}


class DataFreshnessSensor(FileArrivalSensor):
    """Wait until the data at ``path`` is fresh: modified at most ``max_age`` ago.

    ``path`` may be a file or a partition (a directory or prefix: its newest file counts). A stale
    file is treated as not there yet; when ``timeout`` runs out, the sensor pushes a failed
    ``freshness`` Detection (with ``volume`` when there is no data at all) and fails.

    :param max_age: the freshness SLA, seconds or timedelta (required).
    """

    check_name = "data_arrival"

    def __init__(self, *, path: str, max_age: Seconds, **kwargs: Any) -> None:
        super().__init__(path=path, max_age=max_age, **kwargs)

    def evaluate(self, state: PathState, waited: float, now: float) -> list[Detection]:
        assert self.max_age is not None
        detections = [freshness(state, self.max_age, now, check="data_freshness")]
        if self.arrival_sla is not None and state.exists:
            detections.append(arrival(state, waited, self.arrival_sla, check=self.check_name))
        return detections + self._deadline(state)
