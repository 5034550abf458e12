"""A scorecard as an MLflow run on a real local store (SQLite, local artifacts): more params and metrics
than one MLflow batch takes, artifacts beside the database, a failure marks the run FAILED."""

from __future__ import annotations

import pytest

from airflow_chaos.experiment.matrix import ExperimentPlan, PlannedScenario, judge_matrix
from airflow_chaos.faults import InjectNulls
from airflow_chaos.records import Detection, Injection, InjectionStatus
from airflow_chaos.report.files import write_scorecards
from airflow_chaos.report.tracking import log_scorecard, scorecard_params

pytestmark = pytest.mark.integration

SCENARIOS = 120  # 240 params: more than MLflow's 100 per batch


def big_report():
    names = [f"s{i:03d}" for i in range(SCENARIOS)]
    plan = ExperimentPlan(scenarios=[PlannedScenario(name="control", control=True)] + [PlannedScenario(name=n, seed=i) for i, n in enumerate(names)])
    injections = [Injection.for_fault(InjectNulls(column="age", fraction=0.3), InjectionStatus.INJECTED, task_id=f"{n}.prepare") for n in names]
    detections = [Detection(check="not_null", signals=["completeness"], passed=i % 2 == 0, task_id=f"{n}.validate") for i, n in enumerate(names)]
    down = {f"{n}.prepare": {f"{n}.validate"} for n in names}
    metrics = {"control.train": {"auc": 0.9}} | {f"{n}.train": {"auc": 0.9 - i / 1000} for i, n in enumerate(names)}
    return judge_matrix(plan, injections, detections, {}, down, metrics, dag_id="big", run_id="r1")


def test_a_large_experiment_is_logged_in_batches_with_its_artifacts_beside_the_store(tmp_path):
    from mlflow.tracking import MlflowClient

    card, files = write_scorecards(big_report(), tmp_path / "reports")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = log_scorecard(card, files.paths(), uri)
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert len(run.data.params) == len(scorecard_params(card)) == 2 * (SCENARIOS + 1)
    assert run.data.params["s007.seed"] == "7"
    assert run.data.metrics["score"] == pytest.approx(0.5) and run.data.metrics["count.DETECTED"] == SCENARIOS / 2
    assert run.data.metrics["impact.s010.auc"] == pytest.approx(-0.01)
    assert run.data.tags["control_passed"] == "true" and run.info.run_name == "r1"
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "airflow-chaos/big"
    assert experiment.artifact_location.endswith(str(tmp_path / "artifacts")), "not ./mlruns of the working directory"
    assert sorted(a.path for a in client.list_artifacts(run_id)) == ["scorecard.html", "scorecard.json", "scorecard.md"]
    second = log_scorecard(card, files.paths(), uri)
    assert client.get_run(second).info.experiment_id == run.info.experiment_id, "the same experiment, run after run"


def test_a_failed_upload_marks_the_run_failed(tmp_path):
    from mlflow.tracking import MlflowClient

    card, files = write_scorecards(big_report(), tmp_path / "reports")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(Exception, match="missing.html"):
        log_scorecard(card, [*files.paths(), str(tmp_path / "missing.html")], uri, experiment="chaos")
    (run,) = MlflowClient(tracking_uri=uri).search_runs([MlflowClient(tracking_uri=uri).get_experiment_by_name("chaos").experiment_id])
    assert run.info.status == "FAILED"
