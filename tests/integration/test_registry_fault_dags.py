"""Model-registry faults through real DAG runs (``dag.test()``) on a real MLflow registry (issue #10).

One registry per module (SQLite backend, local artifacts, sklearn models logged with explicit
``pip_requirements``), one registered model per fault. Each fault runs in a DAG of its own:

    promote / train / serve -> (fault: armed, or an InjectFaultOperator step) -> check -> assert_detected -> restore

With the relevant check the verdict is DETECTED; the same DAG whose consumer uses the model without
checking it (a deployment with a silent fallback, a scoring task, schema and null checks only)
ends SILENT. After every run the registry equals its state before: aliases, tags, descriptions,
signatures and input examples compared.
"""

from __future__ import annotations

import pytest

from tests.integration import mlflow_registry as reg

pytestmark = pytest.mark.integration

MODELS = ("m_repoint", "m_dangling", "m_strip", "m_signature", "m_outage", "m_broken", "m_labels", "m_serving")
EXPECTED = {"a": "double", "b": "double", "c": "double"}

DAG = '''
from datetime import datetime, timedelta

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import (
    AssertDetectedOperator,
    ChaosRestoreOperator,
    CheckModelQualityOperator,
    CheckModelRegistryOperator,
    CheckPredictionsOperator,
    InjectFaultOperator,
    RollbackAliasOperator,
    ValidateDataOperator,
)
from tests.integration import mlflow_registry as reg

URI = {uri!r}
ROOT = {root!r}
EXPERIMENT = {experiment!r}
MODEL = {model!r}
CHECKED = {checked!r}
REFERENCE = {reference!r}
EXPECTED = {expected!r}


def registry_check(**kwargs):
    return CheckModelRegistryOperator(task_id="check", model=MODEL, tracking_uri=URI, **kwargs)


@dag(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def promote():
        return reg.promote(URI, MODEL)

    @task
    def deploy():
        return reg.deploy(URI, MODEL)

    @task
    def score(frame=None, alias="champion"):
        return reg.score(URI, MODEL, alias, reg.data(rows=100, seed=4) if frame is None else frame)

{body}
    verdict = AssertDetectedOperator(task_id="assert_detected")
    last >> verdict >> ChaosRestoreOperator(task_id="restore").as_teardown()


build()
'''

BODIES = {
    # an old version redeployed by accident: an InjectFaultOperator step after the promotion
    "repoint": """
    step = InjectFaultOperator(task_id="redeploy_old", faults=[faults.RepointAlias(model=MODEL, tracking_uri=URI)])
    last = registry_check(approval_tag="quality=passed") if CHECKED else deploy()
    promote() >> step >> last
""",
    # the version behind the alias deleted: the alias dangles (armed after the promotion)
    "dangling": """
    promoted = chaos(promote(), faults.RepointAlias(model=MODEL, to="deleted", tracking_uri=URI))
    last = registry_check() if CHECKED else deploy()
    promoted >> last
""",
    # registered without metadata (armed after the promotion)
    "strip": """
    promoted = chaos(promote(), faults.StripMetadata(model=MODEL, tracking_uri=URI))
    last = registry_check(required_tags=["owner"], require_description=True, require_input_example=True) if CHECKED else score()
    promoted >> last
""",
    # the signature changes, the inference code does not: an InjectFaultOperator step
    "signature": """
    step = InjectFaultOperator(task_id="change_signature", faults=[faults.ChangeSignature(model=MODEL, rename={"a": "amount"}, tracking_uri=URI)])
    last = registry_check(expected_signature=EXPECTED) if CHECKED else deploy()
    promote() >> step >> last
""",
    # the registry unreachable while the checking (or deploying) task runs
    "outage": """
    last = registry_check() if CHECKED else deploy()
    chaos(last, faults.RegistryOutage(tracking_uri=URI))
    promote() >> last
""",
    # a broken model takes over the challenger alias; the quality gate fails and the alias is rolled back
    "broken": """
    @task
    def promote_challenger():
        return reg.promote(URI, MODEL, alias="challenger")

    promoted = chaos(promote_challenger(), faults.BrokenModel(model=MODEL, alias="challenger", tracking_uri=URI))
    if CHECKED:
        gate = CheckModelQualityOperator(task_id="check", model=MODEL, alias="challenger", compare_to="champion", max_drop=0.02, data=ROOT + "/holdout.csv", tracking_uri=URI)
        rollback = RollbackAliasOperator(task_id="rollback", model=MODEL, alias="challenger", approval_tag="quality=passed", tracking_uri=URI)
        promoted >> gate >> rollback
        last = [gate, rollback]
    else:
        last = score(alias="challenger")
        promoted >> last
""",
    # a mislabeled training batch: schema and null checks pass, the quality gate does not
    "labels": """
    @task
    def training_data():
        return reg.data(rows=200, seed=1)

    @task
    def train(frame):
        return reg.train_and_log(ROOT, URI, EXPERIMENT, frame)

    frame = chaos(training_data(), faults.FlipLabels(column="label", fraction=0.3), seed=4)
    schema = ValidateDataOperator(
        task_id="schema_and_nulls", data=frame, required_columns=["a", "b", "c", "label"],
        expect=[{"type": "expect_column_values_to_not_be_null", "column": "label"}],
    )
    candidate = train(frame)
    last = [schema]
    if CHECKED:
        gate = CheckModelQualityOperator(task_id="check", model=MODEL, model_uri=candidate, compare_to="champion", max_drop=0.02, data=ROOT + "/holdout.csv", tracking_uri=URI)
        last.append(gate)
    else:
        last.append(candidate)
""",
    # the serving input shifted: every registry check passes, the predictions do not
    "serving": """
    @task
    def serving_batch():
        return reg.data(rows=300, seed=6)

    batch = chaos(serving_batch(), faults.ShiftDistribution(column="a", mean_shift=1.5), seed=2)
    if CHECKED:
        last = CheckPredictionsOperator(task_id="check", data=batch, model=MODEL, alias="champion", reference=REFERENCE, target="label", tracking_uri=URI)
    else:
        last = score(frame=batch)
""",
}

VERDICT_KEYS = {
    "repoint": "redeploy_old:repoint_alias",
    "dangling": "promote:repoint_alias",
    "strip": "promote:strip_metadata",
    "signature": "change_signature:change_signature",
    "outage": "{task}:registry_outage",
    "broken": "promote_challenger:broken_model",
    "labels": "training_data:flip_labels",
    "serving": "serving_batch:shift_distribution",
}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    built = reg.build(tmp_path_factory.mktemp("mlflow"))
    for name in MODELS:
        reg.register(built, name, reg.data(seed=11), tags={"owner": "ml"})  # v1: an older approved model
        reg.register(built, name, reg.data(seed=1), alias="champion", tags={"owner": "ml"})  # v2: the champion
    built.client().set_registered_model_alias("m_broken", "challenger", "2")
    reg.data(rows=400, seed=2).to_csv(built.root / "holdout.csv", index=False)
    return built


@pytest.fixture
def mlflow_env(registry, monkeypatch, chaos_on):
    from airflow_chaos.faults.registry import load_request_header_plugins

    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry.tracking_uri)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the pipeline's own settings: fail fast when the registry is down
    load_request_header_plugins()
    return registry


def reference_of(registry) -> dict:
    from airflow_chaos.checks.models import prediction_reference

    frame = reg.data(rows=1000, seed=9)
    model = reg.train(reg.data(seed=1))
    return prediction_reference(model.predict(frame[list(reg.FEATURES)]))


def run_scenario(dag_runner, registry, scenario, checked):
    model = f"m_{scenario}"
    dag_id = f"registry_{scenario}_{'checked' if checked else 'unchecked'}"
    source = DAG.format(
        uri=registry.tracking_uri, root=str(registry.root), experiment=registry.experiment_id, model=model, checked=checked,
        reference=reference_of(registry) if scenario == "serving" else None, expected=EXPECTED, dag_id=dag_id,
        body=BODIES[scenario],
    )
    before = reg.snapshot(registry, model)
    result = dag_runner.run(dag_runner.write(dag_id, source), dag_id)
    assert result.task_states["restore"] == "success", result.task_states
    assert reg.snapshot(registry, model) == before  # aliases, tags, descriptions, signatures, input examples
    return result


SCENARIOS = tuple(BODIES)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_registry_fault_is_detected_by_its_check(dag_runner, mlflow_env, scenario):
    result = run_scenario(dag_runner, mlflow_env, scenario, checked=True)
    key = VERDICT_KEYS[scenario].format(task="check")
    assert result.verdicts().get(key) == "DETECTED", (result.verdicts(), result.task_states)
    assert result.task_states["assert_detected"] == "success"
    assert result.task_states["check"] == "failed"  # the check raised after pushing its detections
    if scenario == "broken":
        assert_rolled_back(result, mlflow_env)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_without_the_check_the_same_fault_is_silent(dag_runner, mlflow_env, scenario):
    result = run_scenario(dag_runner, mlflow_env, scenario, checked=False)
    task = "deploy" if scenario == "outage" else "check"
    key = VERDICT_KEYS[scenario].format(task=task)
    assert result.verdicts().get(key) == "SILENT", (result.verdicts(), result.task_states)
    assert result.task_states["assert_detected"] == "failed"
    assert all(state == "success" for t, state in result.task_states.items() if t != "assert_detected"), result.task_states
    (record,) = [r for r in result.report["results"] if f"{r['task_id']}:{r['kind']}" == key]
    assert record["changes"].get("effective", True) is not False  # the fault did go in


def assert_rolled_back(result, registry):
    """The rollback moved the challenger back before the teardown ran: restore found the alias as it was."""
    rollback = result.xcom("rollback")
    assert result.task_states["rollback"] == "success"
    assert rollback["to"] == "2" and int(rollback["from"]) > 2
    assert registry.client().get_model_version_by_alias("m_broken", "challenger").version == 2
    outcomes = {r["path"].split(":")[0]: r["outcome"] for r in result.xcom("restore")}
    assert outcomes == {"mlflow.alias": "unchanged", "mlflow.model_version": "restored"}
    (gate,) = result.xcom("check", "chaos_detections")
    assert gate["observed"]["drop"] > 0.02 and gate["observed"]["version"] == rollback["from"]
