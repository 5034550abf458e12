"""API checks: payload format, schema, completeness and row count; one HTTP response."""

from __future__ import annotations

import json

import pytest

from airflow_chaos.checks.api import ApiResponseCheck, PayloadExpectations, validate_payload
from airflow_chaos.exceptions import ChaosConfigError

ROWS = [{"id": 1, "name": "a", "price": 9.5}, {"id": 2, "name": "b", "price": 3}]


def by_check(detections):
    return {d.check: d for d in detections}


def test_a_healthy_payload_passes_every_check():
    dets = by_check(
        validate_payload(
            ROWS,
            required_keys=["id", "name"],
            types={"id": "integer", "price": "number"},
            not_null=["name"],
            min_rows=2,
        )
    )
    assert set(dets) == {"payload_format", "payload_schema", "payload_not_null", "payload_row_count"}
    assert all(d.passed for d in dets.values())
    assert dets["payload_row_count"].signals == ["volume"] and dets["payload_schema"].signals == ["schema"]


def test_a_swallowed_error_returning_nothing_fails_the_row_count_only():
    dets = by_check(validate_payload([], required_keys=["id"], min_rows=1))
    assert dets["payload_format"].passed and dets["payload_schema"].passed
    assert not dets["payload_row_count"].passed and dets["payload_row_count"].observed == {"rows": 0, "min_rows": 1}


def test_renamed_keys_and_wrong_types_fail_the_schema():
    renamed = [{f"{k}_v2": v for k, v in r.items()} for r in ROWS]
    schema = by_check(validate_payload(renamed, required_keys=["id", "name"]))["payload_schema"]
    assert not schema.passed and schema.observed["missing_keys"] == ["id", "name"] and schema.observed["bad_rows"] == 2
    typed = by_check(validate_payload([{"id": "1"}, {"id": True}], types={"id": "integer"}))["payload_schema"]
    assert not typed.passed and typed.observed["mistyped_keys"] == ["id"]


def test_a_payload_that_is_not_a_list_of_objects_fails_the_format():
    assert not by_check(validate_payload({"error": "x"}, min_rows=1))["payload_format"].passed
    assert not by_check(validate_payload([1, 2], min_rows=1))["payload_format"].passed
    nested = by_check(validate_payload({"items": ROWS}, records_key="items", min_rows=2))
    assert nested["payload_format"].passed and nested["payload_row_count"].passed


def test_nulls_fail_completeness():
    dets = by_check(validate_payload([{"id": 1, "name": None}, {"id": 2}], not_null=["name"]))
    assert not dets["payload_not_null"].passed and dets["payload_not_null"].observed["null_counts"] == {"name": 2}


def test_bad_configuration_names_the_field():
    with pytest.raises(ChaosConfigError, match="field 'types'"):
        PayloadExpectations(types={"id": "int"})
    with pytest.raises(ChaosConfigError, match="field 'min_rows'"):
        PayloadExpectations(min_rows=-1)


def test_api_response_check_on_status_content_type_and_body():
    check = ApiResponseCheck(payload=PayloadExpectations(required_keys=("id",), min_rows=1))
    ok = by_check(check.check(200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(ROWS).encode()))
    assert all(d.passed for d in ok.values()) and ok["api_response"].signals == ["api"]
    limited = by_check(check.check(429, {"Content-Type": "application/json"}, b'{"error": "slow down"}'))
    assert not limited["api_response"].passed and "status 429" in limited["api_response"].observed["problems"][0]
    html = by_check(check.check(200, {"content-type": "text/html"}, b"<html></html>"))
    assert not html["api_response"].passed and not html["payload_format"].passed
    truncated = by_check(check.check(200, {"Content-Type": "application/json"}, json.dumps(ROWS).encode()[:10]))
    assert any("not JSON" in p for p in truncated["api_response"].observed["problems"])
    assert not truncated["payload_row_count"].passed
    bare = ApiResponseCheck().check(200, {"Content-Type": "application/json"}, b"[]")
    assert [d.check for d in bare] == ["api_response"] and bare[0].passed
