"""Pure registry checks: each passes on a healthy registry reading and fails, with what it saw, on a faulted one."""

from __future__ import annotations

import pytest

from airflow_chaos.checks import registry as checks

INPUTS = [{"name": "a", "type": "double"}, {"name": "b", "type": "double"}, {"name": "c", "type": "double"}]
EXPECTED = {"a": "double", "b": "double", "c": "double"}


def test_alias_version():
    ok = checks.alias_version("churn", "champion", "2", "2", "latest approved (quality=passed)")
    assert ok.passed and ok.signals == ["registry.version"]
    old = checks.alias_version("churn", "champion", "1", "2")
    assert not old.passed and old.observed["found"] == "1" and old.observed["expected"] == "2"
    dangling = checks.alias_version("churn", "champion", None, None)
    assert not dangling.passed
    assert checks.alias_version("churn", "champion", "7", None).passed  # any version will do


def test_latest_approved_and_tag_rules():
    versions = [
        {"version": "1", "tags": {"quality": "passed"}},
        {"version": "3", "tags": {"quality": "failed"}},
        {"version": "2", "tags": {"quality": "passed", "approved": ""}},
    ]
    assert checks.latest_approved(versions, "quality=passed") == "2"
    assert checks.latest_approved(versions, "quality") == "3"
    assert checks.latest_approved(versions, "quality=passed", below="2") == "1"
    assert checks.latest_approved(versions, "nope") is None
    assert checks.tag_rule("a=b=c") == ("a", "b=c")


def test_signature():
    assert checks.signature_matches(INPUTS, EXPECTED).passed
    assert checks.signature_matches(INPUTS, None).passed
    gone = checks.signature_matches(None, EXPECTED)
    assert not gone.passed and gone.observed == {"present": False} and gone.signals == ["registry.metadata"]
    changed = checks.signature_matches([{"name": "amount", "type": "double"}, {"name": "b", "type": "string"}], EXPECTED)
    assert not changed.passed
    assert changed.observed["missing"] == ["a", "c"] and changed.observed["added"] == ["amount"]
    assert changed.observed["retyped"] == {"b": {"expected": "double", "found": "string"}}


def test_metadata_present():
    assert checks.metadata_present({"owner": "ml", "quality": "passed"}, "churn model", ["owner", "quality=passed"], True, True).passed
    stripped = checks.metadata_present({}, "", ["owner"], require_description=True, input_example=False)
    assert not stripped.passed
    assert stripped.observed == {"missing_tags": ["owner"], "description_missing": True, "input_example_missing": True, "tags": []}
    assert checks.metadata_present({}, "", ()).passed  # nothing required


def test_model_predicts():
    assert checks.model_predicts("models:/m@champion", 50, 50, 0.2).passed
    raised = checks.model_predicts("models:/m@champion", 50, None, 0.1, "RuntimeError: broken")
    assert not raised.passed and raised.signals == ["model.quality"] and raised.observed["error"] == "RuntimeError: broken"
    assert not checks.model_predicts("u", 50, 49, 0.1).passed


def test_availability():
    assert checks.availability(0.2, 5.0).passed
    down = checks.availability(0.01, 5.0, "ConnectionError: refused", {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    assert not down.passed and down.signals == ["registry.availability"]
    assert not checks.availability(6.0, 5.0).passed  # answered, too slowly


def test_retry_budget_with_mlflows_defaults_and_with_fast_settings():
    defaults = checks.retry_budget({})
    assert defaults["max_retries"] == 7 and defaults["timeout_s"] == 120
    # sleeps after errors 2..7: 2*2**k + 1 jitter, the last capped at 120 s
    assert defaults["refused_s"] == 5 + 9 + 17 + 33 + 65 + 120 == 249
    assert defaults["hanging_s"] == 249 + 8 * 120
    fast = checks.retry_budget({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "3"})
    assert fast["refused_s"] == 0 and fast["hanging_s"] == 3 and fast["from_environment"] == ["MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"]
    two = checks.retry_budget({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0"})
    assert two["refused_s"] == 2  # 0 after the first error, 1 * 2**1 after the second
    assert checks.retry_budget({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "not a number"})["max_retries"] == 7


@pytest.mark.parametrize(("limit", "passed"), [(None, True), (300.0, True), (60.0, False)])
def test_retry_budget_finding_is_informational_unless_limited(limit, passed):
    finding = checks.retry_budget_finding({}, limit)
    assert finding.passed is passed and finding.severity == "warning" and finding.signals == ["registry.availability"]
    assert finding.observed["refused_s"] == 249 and finding.observed["limit_s"] == limit
