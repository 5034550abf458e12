"""The ML pipeline of ``example_dags/ml_pipeline.py`` runs green unfaulted (issue #12).

Real everything: the demo orders API on a free 127.0.0.1 port (started here, in a thread), Great
Expectations, a Feast repository with a SQLite online store, an MLflow SQLite store and registry,
scikit-learn, all under ``dag.test()``. Nothing is mocked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_chaos.demo import api

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration

TASKS = {
    "prepare", "extract_orders", "partner_drops_returns", "wait_for_returns", "validate_orders", "validate_returns",
    "build_features", "materialize", "check_features", "build_training_set", "train", "check_quality", "promote",
    "check_deployment", "score",
}  # fmt: skip


def task_durations(result) -> dict[str, float]:
    """Seconds per task of a run, from the metadata DB (test-side read)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter_by(dag_id=result.dag_id, run_id=result.run_id).all()
        return {ti.task_id: round(ti.duration or 0.0, 1) for ti in tis}


@pytest.fixture(scope="module")
def orders_api() -> Iterator[str]:
    server = api.start()
    yield server.url
    server.shutdown()
    server.server_close()


def test_ml_pipeline_runs_green_registers_a_champion_and_scores_the_day(dag_runner, orders_api, tmp_path, monkeypatch):
    base = tmp_path / "ml"
    workdir = tmp_path / "worker_cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # the pipeline's state stays under base_dir, never in the worker's directory
    started = time.perf_counter()
    result = dag_runner.run(
        dag_runner.copy(ROOT / "example_dags" / "ml_pipeline.py"),
        "ml_pipeline",
        run_conf={"api_url": orders_api, "base_dir": str(base)},
    )
    elapsed = time.perf_counter() - started
    print(f"ml_pipeline under dag.test(): {elapsed:.1f} s; per task: {task_durations(result)}")

    assert result.state == "success", result.task_states
    assert result.task_states == dict.fromkeys(TASKS, "success")
    for check in ("validate_orders", "validate_returns", "check_features", "check_quality", "check_deployment"):
        detections = result.xcom(check, "chaos_detections")
        assert detections and all(d["passed"] for d in detections), (check, detections)

    # A registered model behind the champion alias: the trained version (1 is the baseline), approved, with a signature.
    from mlflow import MlflowClient
    from mlflow.models import get_model_info

    uri = f"sqlite:///{base}/mlflow.db"
    client = MlflowClient(uri, registry_uri=uri)
    aliases = client.get_registered_model("order_returns").aliases
    assert {k: str(v) for k, v in aliases.items()} == {"champion": "2", "challenger": "2"}
    assert str(result.xcom("promote")) == str(result.xcom("train")) == "2"
    champion = client.get_model_version_by_alias("order_returns", "champion")
    assert champion.tags["quality"] == "passed"
    assert list(workdir.iterdir()) == [], "MLflow wrote into the worker's working directory (./mlruns)"
    artifacts = client.get_experiment_by_name("ml_pipeline").artifact_location
    assert artifacts.removeprefix("file://").startswith(str(base)), artifacts
    import mlflow

    mlflow.set_tracking_uri(uri)
    signature = get_model_info("models:/order_returns@champion").signature
    assert [c.name for c in signature.inputs] == [
        "amount",
        "quantity",
        "orders_7d",
        "avg_amount",
        "avg_quantity",
        "amount_vs_usual",
    ]
    (quality,) = result.xcom("check_quality", "chaos_detections")
    assert quality["observed"]["value"] > quality["observed"]["reference"]  # beat the baseline "always kept"

    # Scored output: every order of the last day, flagged by the champion.
    import pandas as pd

    summary = result.xcom("score")
    scores = pd.read_parquet(base / "scores" / "returns_risk.parquet")
    assert summary["rows"] == len(scores) > 0
    assert list(scores.columns) == ["order_id", "customer_id", "will_return", "model_version"]
    assert set(scores["will_return"]) <= {0, 1} and (scores["model_version"] == "2").all()
    orders = result.xcom("extract_orders")
    assert len(orders) == 500
    scored = orders[orders["order_id"].isin(scores["order_id"])]
    newest = orders["created_at"].max()
    assert len(scored) == len(scores) and scored["created_at"].min() > newest - pd.Timedelta(hours=25)
    assert set(orders.loc[orders["created_at"] > newest - pd.Timedelta(hours=23), "order_id"]) <= set(
        scores["order_id"]
    )
