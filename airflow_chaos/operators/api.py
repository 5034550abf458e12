"""ValidateApiPayloadOperator: check the JSON payload an upstream task extracted from an API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_chaos.checks.api import PayloadExpectations
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.operators.records import push_detections, raise_on_critical

if TYPE_CHECKING:
    from airflow.sdk import Context


class ValidateApiPayloadOperator(BaseOperator):
    """Validate an extracted API payload and record a Detection per check.

    Always checks that the payload is a list of JSON objects (``format``); then, as configured, the
    required keys and their JSON types (``schema``), non-null keys (``completeness``) and a minimum
    row count (``volume``: the check that catches a task which swallowed an HTTP error and returned
    ``[]``). Detections are pushed (XCom ``chaos_detections``) before this task raises.

    :param data: the payload, usually ``upstream_task.output`` (templated).
    :param required_keys: keys every record must have.
    :param types: ``{key: json type}`` with types string, number, integer, boolean, array, object, null.
    :param not_null: keys that must never be null.
    :param min_rows: the least number of records a healthy extract returns.
    :param records_key: read the records from this key of a JSON object payload (templated).
    :param fail_task: raise :class:`ChaosDetectionFailed` when a critical check fails (default True).
    """

    template_fields: Sequence[str] = ("data", "records_key")
    ui_color = "#c3e6cb"

    def __init__(
        self,
        *,
        data: Any,
        required_keys: Sequence[str] | None = None,
        types: Mapping[str, str] | None = None,
        not_null: Sequence[str] | None = None,
        min_rows: int | None = None,
        records_key: str | None = None,
        fail_task: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        try:
            self.expectations = PayloadExpectations(
                tuple(required_keys or ()), dict(types or {}), tuple(not_null or ()), min_rows, records_key
            )
        except ChaosConfigError as exc:
            raise ChaosConfigError(f"{self.task_id}: {exc}") from None
        self.data = data
        self.records_key = records_key
        self.fail_task = fail_task

    def execute(self, context: Context) -> list[dict[str, Any]]:
        expectations = PayloadExpectations(
            self.expectations.required_keys,
            self.expectations.types,
            self.expectations.not_null,
            self.expectations.min_rows,
            self.records_key,
        )
        detections = push_detections(context, expectations.validate(self.data))
        for d in detections:
            self.log.info(
                "check %s [%s]: %s %s", d.check, ",".join(d.signals), "passed" if d.passed else "FAILED", d.observed
            )
        if self.fail_task:
            raise_on_critical(detections, self.task_id, subject="on the API payload: ")
        return [d.to_json() for d in detections]
