"""ValidateApiPayloadOperator: arguments validated in ``__init__``; detections pushed before it raises."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_chaos.exceptions import ChaosConfigError, ChaosDetectionFailed
from airflow_chaos.operators.api import ValidateApiPayloadOperator
from airflow_chaos.operators.records import DETECTIONS_KEY


class FakeTaskInstance:
    dag_id, run_id, task_id, map_index = "api", "manual__1", "validate_payload", -1

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        json.dumps(value, allow_nan=False)
        self.pushed[key] = value


def test_a_good_payload_passes_and_returns_json_safe_detections():
    op = ValidateApiPayloadOperator(task_id="validate_payload", data=[{"id": 1}], required_keys=["id"], min_rows=1)
    ti = FakeTaskInstance()
    out = op.execute({"ti": ti})
    assert [d["check"] for d in out] == ["payload_format", "payload_schema", "payload_row_count"]
    assert all(d["passed"] and d["task_id"] == "validate_payload" for d in ti.pushed[DETECTIONS_KEY])


def test_an_empty_payload_pushes_a_failed_volume_detection_then_raises():
    op = ValidateApiPayloadOperator(task_id="validate_payload", data=[], min_rows=1)
    ti = FakeTaskInstance()
    with pytest.raises(ChaosDetectionFailed, match=r"payload_row_count \[volume\].*chaos_detections"):
        op.execute({"ti": ti})
    failed = [d for d in ti.pushed[DETECTIONS_KEY] if not d["passed"]]
    assert [(d["check"], d["signals"]) for d in failed] == [("payload_row_count", ["volume"])]


def test_fail_task_false_only_records():
    op = ValidateApiPayloadOperator(task_id="v", data={"oops": 1}, min_rows=1, fail_task=False)
    out = op.execute({"ti": FakeTaskInstance()})
    assert [d["passed"] for d in out] == [False, False]


def test_bad_arguments_raise_at_parse_time_naming_the_task_and_field():
    with pytest.raises(ChaosConfigError, match="v: field 'types'"):
        ValidateApiPayloadOperator(task_id="v", data=[], types={"id": "int"})
