"""Registry operators and MlflowHook against a real MLflow registry (SQLite, local artifacts), on the
in-process task runtime stand-in (``runtime.FakeTaskInstance``): ``execute(context)`` and the pushed
detections. Real DAG runs are in tests/integration/test_registry_fault_dags.py."""

from __future__ import annotations

import time
import uuid

import pytest

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError, ChaosDetectionFailed
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.faults.base import FaultContext
from airflow_chaos.operators.registry import (
    CheckModelQualityOperator,
    CheckModelRegistryOperator,
    CheckPredictionsOperator,
    RollbackAliasOperator,
)
from tests.integration import mlflow_registry as reg
from tests.unit.faults.test_http import armed
from tests.unit.operators.runtime import FakeTaskInstance, context

pytestmark = pytest.mark.integration
EXPECTED = {"a": "double", "b": "double", "c": "double"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    built = reg.build(tmp_path_factory.mktemp("mlflow"))
    reg.register(built, "churn", reg.data(seed=11), tags={"owner": "ml"})  # v1
    reg.register(built, "churn", reg.data(seed=1), alias="champion", tags={"owner": "ml"})  # v2
    return built


def run(op, task_id="check"):
    ctx = context(FakeTaskInstance(task_id=task_id))
    try:
        result = op.execute(ctx)
    except Exception as exc:
        result = exc
    return result, {d["check"]: d for d in ctx["ti"].store.get((task_id, "chaos_detections"), [])}


def check_registry(registry, **kwargs):
    defaults = {"task_id": "check", "model": "churn", "tracking_uri": registry.tracking_uri}
    return CheckModelRegistryOperator(**{**defaults, **kwargs})


def fault_ctx(journal):
    return FaultContext(seed=3, journal=journal, labels={"injection_id": uuid.uuid4().hex, "run_id": "r"})


# ---------------------------------------------------------------------- CheckModelRegistryOperator
def clear_mlflow_http_settings(monkeypatch):
    """MLflow's own defaults: no ``MLFLOW_HTTP_REQUEST_*`` setting from the environment this test runs in."""
    import os

    for name in [n for n in os.environ if n.startswith("MLFLOW_HTTP_REQUEST_")]:
        monkeypatch.delenv(name)


def test_a_healthy_registry_passes_every_check(registry, monkeypatch):
    clear_mlflow_http_settings(monkeypatch)
    op = check_registry(
        registry, approval_tag="quality=passed", expected_signature=EXPECTED, required_tags=["owner"],
        require_description=True, require_input_example=True, sample=reg.data(rows=20, seed=4), target="label",
    )
    result, found = run(op)
    assert isinstance(result, list) and all(d["passed"] for d in found.values()), found
    assert set(found) == {
        "registry_retry_budget", "registry_availability", "registry_alias_version",
        "registry_signature", "registry_metadata", "model_loads_and_predicts",
    }
    assert found["registry_alias_version"]["observed"]["expected"] == "2"
    assert found["registry_retry_budget"]["observed"]["refused_s"] == 249  # MLflow's defaults in this environment
    assert found["model_loads_and_predicts"]["observed"]["predictions"] == 20


def test_each_registry_fault_fails_its_check(registry, tmp_path):
    journal = Journal(tmp_path / "journal")
    op = check_registry(registry, approval_tag="quality=passed", expected_signature=EXPECTED, required_tags=["owner"], require_description=True, require_input_example=True)
    uri = registry.tracking_uri
    cases = {
        "registry_alias_version": faults.RepointAlias(model="churn", tracking_uri=uri),
        "registry_metadata": faults.StripMetadata(model="churn", what=["description", "input_example"], tracking_uri=uri),
        "registry_signature": faults.ChangeSignature(model="churn", retype={"c": "string"}, tracking_uri=uri),
    }
    for check, fault in cases.items():
        fault.apply(None, fault_ctx(journal))
        try:
            result, found = run(op)
        finally:
            journal.restore()
        assert isinstance(result, ChaosDetectionFailed) and check in str(result)
        assert [c for c, d in found.items() if not d["passed"]] == [check], (check, found)


def test_an_outage_is_reported_in_seconds_and_the_other_checks_are_skipped(registry, monkeypatch):
    clear_mlflow_http_settings(monkeypatch)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7")  # the pipeline's own settings: MLflow's defaults
    op = check_registry(registry)
    with armed(faults.RegistryOutage(mode="timeout", seconds=60, tracking_uri=registry.tracking_uri)) as (ctx,):
        started = time.perf_counter()
        result, found = run(op)
        elapsed = time.perf_counter() - started
    assert isinstance(result, ChaosDetectionFailed) and "registry_availability" in str(result)
    assert set(found) == {"registry_retry_budget", "registry_availability"}
    availability = found["registry_availability"]["observed"]
    assert availability["elapsed_s"] < 5 and elapsed < 5 and "timed out" in availability["error"].lower()
    assert availability["settings"]["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0"
    assert found["registry_retry_budget"]["passed"] and found["registry_retry_budget"]["observed"]["hanging_s"] == 1209
    assert ctx.changes["requests_faulted"] == 1
    import os

    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "7"  # the operator put the pipeline's settings back


def test_invalid_registry_check_settings_name_the_field(registry):
    with pytest.raises(ChaosConfigError, match="field 'timeout'"):
        check_registry(registry, timeout=0)


# ---------------------------------------------------------------------- CheckModelQualityOperator
def test_quality_against_the_champion_catches_a_broken_challenger(registry, tmp_path):
    journal = Journal(tmp_path / "journal")
    holdout = reg.data(rows=300, seed=2)
    op = CheckModelQualityOperator(task_id="quality", model="churn", alias="champion", compare_to="champion", data=holdout, max_drop=0.02, tracking_uri=registry.tracking_uri)
    _, found = run(op, "quality")
    assert found["model_quality"]["passed"] and found["model_quality"]["observed"]["drop"] == 0

    faults.BrokenModel(model="churn", alias="challenger", tracking_uri=registry.tracking_uri).apply(None, fault_ctx(journal))
    try:
        op = CheckModelQualityOperator(task_id="quality", model="churn", compare_to="champion", data=holdout, max_drop=0.02, tracking_uri=registry.tracking_uri)
        result, found = run(op, "quality")
    finally:
        journal.restore()
    observed = found["model_quality"]["observed"]
    assert isinstance(result, ChaosDetectionFailed) and not found["model_quality"]["passed"]
    assert int(observed["version"]) > 2 and observed["reference_version"] == "2" and observed["drop"] > 0.1


def test_quality_of_a_model_that_raises_is_a_failed_check(registry, tmp_path):
    journal = Journal(tmp_path / "journal")
    faults.BrokenModel(model="churn", alias="challenger", mode="raise", tracking_uri=registry.tracking_uri).apply(None, fault_ctx(journal))
    try:
        op = CheckModelQualityOperator(task_id="quality", model="churn", threshold=0.9, data=reg.data(rows=50, seed=2), fail_task=False, tracking_uri=registry.tracking_uri)
        result, found = run(op, "quality")
    finally:
        journal.restore()
    assert not found["model_quality"]["passed"] and "broken model" in found["model_quality"]["observed"]["error"]
    assert isinstance(result, list)  # fail_task=False: pushed and returned, not raised


def test_quality_settings_are_validated_at_parse_time():
    with pytest.raises(ChaosConfigError, match="field 'metric'"):
        CheckModelQualityOperator(task_id="q", model="m", threshold=0.9, data=[], metric="auc")
    with pytest.raises(ChaosConfigError, match="field 'threshold' or field 'compare_to'"):
        CheckModelQualityOperator(task_id="q", model="m", data=[])
    with pytest.raises(ChaosConfigError, match="field 'model'"):
        CheckModelQualityOperator(task_id="q", threshold=0.5, data=[])


# ---------------------------------------------------------------------- CheckPredictionsOperator
def test_predictions_of_a_shifted_batch_drift(registry):
    from airflow_chaos.checks.models import prediction_reference

    model = registry.client()  # noqa: F841 - the registry is up
    reference = prediction_reference([0] * 80 + [1] * 20)
    common = {"task_id": "predictions", "model": "churn", "reference": reference, "target": "label", "tracking_uri": registry.tracking_uri}
    _, found = run(CheckPredictionsOperator(data=reg.data(rows=300, seed=6), **common), "predictions")
    assert found["prediction_drift"]["passed"], found
    result, found = run(CheckPredictionsOperator(data=reg.data(rows=300, seed=6, shift=1.5), **common), "predictions")
    assert isinstance(result, ChaosDetectionFailed)
    assert found["prediction_drift"]["observed"]["share_shift"]["1"] > 0.2
    assert found["prediction_drift"]["signals"] == ["model.predictions", "distribution"]
    _, found = run(CheckPredictionsOperator(task_id="predictions", predictions=[0] * 79 + [1] * 21, reference=reference), "predictions")
    assert found["prediction_drift"]["passed"]


# ---------------------------------------------------------------------- RollbackAliasOperator
def test_rollback_to_the_newest_approved_older_version(registry, tmp_path):
    journal = Journal(tmp_path / "journal")
    client = registry.client()
    client.set_registered_model_alias("churn", "challenger", "2")
    broken = fault_ctx(journal)
    faults.BrokenModel(model="churn", alias="challenger", tracking_uri=registry.tracking_uri).apply(None, broken)
    new = broken.changes["new_version"]  # numbers of deleted versions are not reused: not always 3
    assert client.get_model_version_by_alias("churn", "challenger").version == int(new) > 2
    op = RollbackAliasOperator(task_id="rollback", model="churn", alias="challenger", approval_tag="quality=passed", tracking_uri=registry.tracking_uri)
    assert op.trigger_rule == "one_failed"
    result, _ = run(op, "rollback")
    assert result == {"model": "churn", "alias": "challenger", "from": new, "to": "2"}
    assert sorted(r.outcome for r in journal.restore()) == ["restored", "unchanged"]
    assert client.get_model_version_by_alias("churn", "challenger").version == 2
    client.delete_registered_model_alias("churn", "challenger")


def test_rollback_with_nowhere_to_go_names_the_field(registry):
    op = RollbackAliasOperator(task_id="rollback", model="churn", alias="champion", approval_tag="nope", tracking_uri=registry.tracking_uri)
    result, _ = run(op, "rollback")
    assert isinstance(result, ChaosConfigError) and "field 'to'" in str(result)
    result, _ = run(RollbackAliasOperator(task_id="rollback", model="churn", to=2, tracking_uri=registry.tracking_uri), "rollback")
    assert result["to"] == "2"


# ---------------------------------------------------------------------- MlflowHook
def test_hook_from_a_connection_exports_the_token_and_keeps_it_out_of_the_uris(registry, monkeypatch):
    import json
    import os

    from airflow_chaos.hooks.mlflow import MlflowHook

    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_TEST", json.dumps({"conn_type": "mlflow", "password": "tok-123", "extra": {"tracking_uri": registry.tracking_uri}}))
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    hook = MlflowHook("mlflow_test")
    assert hook.uris == {"tracking_uri": registry.tracking_uri, "registry_uri": registry.tracking_uri}
    assert os.environ["MLFLOW_TRACKING_TOKEN"] == "tok-123"
    assert hook.registry.alias_version("churn", "champion") == "2"
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry.tracking_uri)
    assert MlflowHook().uris["tracking_uri"] == registry.tracking_uri  # no default connection: the environment


# ---------------------------------------------------------------------- registry faults as DAG steps
def test_registry_faults_are_steps_and_the_outage_is_arm_only():
    from airflow_chaos.operators.inject import InjectFaultOperator

    steps = [
        faults.RepointAlias(model="m"),
        faults.StripMetadata(model="m", what=["tags"]),
        faults.ChangeSignature(model="m", drop=["a"]),
        faults.BrokenModel(model="m", when="before"),
    ]
    op = InjectFaultOperator(task_id="step", faults=steps)
    assert [f.target() for f in op._chaos_arm.faults] == ["mlflow:m"] * 4
    with pytest.raises(ChaosConfigError, match=r"field 'faults\[0\]'.*registry_outage cannot be a step of its own"):
        InjectFaultOperator(task_id="step", faults=[faults.RegistryOutage()])
