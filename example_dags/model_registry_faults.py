"""Model-registry faults: an old version redeployed by accident, and a broken model that must be rolled back.

``train_and_register`` trains a small churn classifier (scikit-learn, 200 rows) and registers it in a
local MLflow registry (SQLite and local artifacts under ``$AIRFLOW_HOME/mlflow-example``), tagged
``quality=passed`` by its evaluation and put behind the ``champion`` and ``challenger`` aliases.
Two faults then hit the registry:

- ``redeploy_old_version``, an ``InjectFaultOperator`` step, points ``champion`` at the previous
  version. ``check_registry`` expects the alias on the newest approved version: DETECTED.
- ``promote_challenger`` is armed with ``BrokenModel``: a version whose predictions belong to other
  rows takes over ``challenger``. Its tags, description and signature are in order, so only the
  quality gate (``quality_gate``: accuracy on a holdout set, at most 2 points behind the champion)
  catches it: DETECTED. ``rollback`` (it runs when the gate failed) moves ``challenger`` back to the
  newest approved version before it.

The ``restore`` teardown undoes what the faults left: the alias of the first, the broken version
(deleted with its logged model). MLflow and scikit-learn are imported inside the tasks only.

Run it: ``AIRFLOW__CHAOS__ENABLED=True airflow dags test chaos_model_registry``.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import (
    AssertDetectedOperator,
    ChaosRestoreOperator,
    CheckModelQualityOperator,
    CheckModelRegistryOperator,
    InjectFaultOperator,
    RollbackAliasOperator,
)

HOME = os.path.join(os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow"), "mlflow-example")
TRACKING_URI = f"sqlite:///{HOME}/mlflow.db"
MODEL = "churn"
HOLDOUT = f"{HOME}/holdout.csv"


def churn_frame(rows: int, seed: int):  # type: ignore[no-untyped-def]
    """Three features and a deterministic churn label (about 20% positives)."""
    import numpy as np
    import pandas as pd

    x = np.random.default_rng(seed).normal(size=(rows, 3))
    frame = pd.DataFrame(x, columns=["tenure", "support_calls", "discount"])
    frame["churned"] = ((4 * x[:, 0] - 3 * x[:, 1] + x[:, 2] - 4) > 0).astype("int64")
    return frame


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["example", "chaos"])
def chaos_model_registry():
    @task
    def train_and_register() -> str:
        import mlflow
        from mlflow.models import infer_signature
        from sklearn.linear_model import LogisticRegression

        os.makedirs(HOME, exist_ok=True)
        client = mlflow.MlflowClient(TRACKING_URI)
        experiment = client.get_experiment_by_name("churn") or client.get_experiment(
            client.create_experiment("churn", artifact_location=f"{HOME}/artifacts")
        )
        if not client.search_registered_models(f"name = '{MODEL}'"):
            client.create_registered_model(MODEL, description="churn classifier")
        churn_frame(400, seed=2).to_csv(HOLDOUT, index=False)
        train = churn_frame(200, seed=1)
        features = train.drop(columns=["churned"])
        model = LogisticRegression().fit(features, train["churned"])
        mlflow.set_tracking_uri(TRACKING_URI)
        version = "0"
        for _ in range(
            1 if client.search_model_versions(f"name = '{MODEL}'") else 2
        ):  # the first run: a previous version too
            with mlflow.start_run(experiment_id=experiment.experiment_id):
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=infer_signature(features, model.predict(features)),
                    pip_requirements=["scikit-learn"],
                )
            registered = client.create_model_version(
                MODEL,
                info.model_uri,
                run_id=info.run_id,
                model_id=info.model_id,
                tags={"quality": "passed"},
                description="logistic regression, 200 rows",
            )
            version = str(registered.version)
        for alias in ("champion", "challenger"):
            client.set_registered_model_alias(MODEL, alias, version)
        return version

    @task
    def promote_challenger(version: str) -> str:
        """The deployment step: the challenger is served from here on."""
        return f"models:/{MODEL}@challenger (version {version})"

    registered = train_and_register()

    redeploy_old = InjectFaultOperator(
        task_id="redeploy_old_version",
        faults=[faults.RepointAlias(model=MODEL, alias="champion", tracking_uri=TRACKING_URI)],
    )
    check_registry = CheckModelRegistryOperator(
        task_id="check_registry",
        model=MODEL,
        alias="champion",
        approval_tag="quality=passed",
        tracking_uri=TRACKING_URI,
    )

    promote = chaos(
        promote_challenger(registered),
        faults.BrokenModel(model=MODEL, alias="challenger", tracking_uri=TRACKING_URI),
        seed=7,
    )
    gate = CheckModelQualityOperator(
        task_id="quality_gate",
        model=MODEL,
        alias="challenger",
        compare_to="champion",
        max_drop=0.02,
        data=HOLDOUT,
        target="churned",
        tracking_uri=TRACKING_URI,
    )
    rollback = RollbackAliasOperator(
        task_id="rollback", model=MODEL, alias="challenger", approval_tag="quality=passed", tracking_uri=TRACKING_URI
    )

    verdict = AssertDetectedOperator(task_id="assert_detected")
    registered >> redeploy_old >> check_registry >> verdict
    promote >> gate >> rollback >> verdict
    verdict >> ChaosRestoreOperator(task_id="restore").as_teardown()


chaos_model_registry()
