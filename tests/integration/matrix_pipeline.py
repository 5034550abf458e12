"""The pipeline the experiment tests run under ``chaos_matrix``: a loopback API, a CSV file, a DataFrame,
Great Expectations, a model and a Feast online store, five tasks per scenario.

    extract (GET the API with retries, write <sandbox>/raw.csv) -> prepare (read it; a plain task
    marked detects(format)) -> validate (GE: income exists, age not null, 180-220 rows)
                                                             -> train (logistic regression, record_metrics(auc),
                                                                       a run in the sandbox's MLflow experiment)
                                                             -> check_features (Feast: conv_rate in [0, 1])

The scenarios cover every fault family: table faults on ``prepare``'s DataFrame, a file fault on
``extract``'s CSV, a timing fault (partial output), HTTP faults on the API call, a feature-store fault
on the sandbox's own Feast repository, and a model-registry fault (the MLflow store is unreachable
while ``train`` logs its run to the sandbox's MLflow experiment).

:func:`dag_source` writes one DAG file per test; the API rows come from :func:`rows` (seeded).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

VIEW = "driver_hourly_stats"
ROWS = 200

SCENARIOS = {  # name -> the scenario as written in the DAG file
    "nulls_age": '{"prepare": faults.InjectNulls(column="age", fraction=0.3)}',
    "nulls_income": '{"prepare": faults.InjectNulls(column="income", fraction=0.3)}',
    "two_nulls": '{"prepare": [faults.InjectNulls(column="age", fraction=0.3), faults.InjectNulls(column="income", fraction=0.3)]}',
    "drop_income": '{"prepare": faults.DropColumn(column="income")}',
    "shift_income": '{"prepare": faults.ShiftDistribution(column="income", mean_shift=3.0)}',
    "partial_output": '{"prepare": faults.PartialOutput(fraction=0.5)}',
    "swapped_format": 'lambda sb: {"extract": faults.SwapFormat(to="parquet", path=sb.path("raw.csv"))}',
    "api_flaky": '{"extract": faults.HttpError(status=500, first_n=1)}',
    "api_down": '{"extract": faults.HttpError(status=503)}',
    "registry_down": '{"train": faults.RegistryOutage(tracking_uri=TRACKING)}',
    "corrupt_features": (
        'lambda sb: {"prepare": faults.CorruptFeatures(repo=sb.path("feast"), feature_view=VIEW, feature="conv_rate", '
        "fraction=0.25, value=50.0)}"
    ),
}

SOURCE = '''
from airflow.sdk import task

from airflow_chaos import chaos_matrix, detects, faults
from airflow_chaos.operators import CheckFeaturesOperator, ValidateDataOperator, record_metrics

API = {api!r}
VIEW = {view!r}
TRACKING = {tracking!r}
EXPECT = [
    {{"type": "expect_column_to_exist", "column": "income"}},
    {{"type": "expect_column_values_to_not_be_null", "column": "age"}},
    {{"type": "expect_table_row_count_to_be_between", "min_value": {min_rows}, "max_value": {max_rows}}},
] + {extra}


def build(sandbox):
    @task
    def extract():
        import os

        import pandas as pd
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        session = requests.Session()
        retry = Retry(total=2, backoff_factor=0.01, status_forcelist=[500, 503], allowed_methods=None)
        session.mount("http://", HTTPAdapter(max_retries=retry))
        response = session.get(API, timeout=5)
        response.raise_for_status()
        os.makedirs(sandbox.data_dir, exist_ok=True)
        pd.DataFrame(response.json()).to_csv(sandbox.path("raw.csv"), index=False)
        return sandbox.path("raw.csv")

    @task
    def prepare(path):
        import pandas as pd

        return pd.read_csv(path)

    @task
    def train(frame):
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score

        x = frame[["age", "income"]].fillna(0.0).to_numpy(float)  # a naive imputation: what nulls cost
        y = frame["label"].to_numpy()
        model = LogisticRegression(max_iter=1000).fit(x[::2], y[::2])
        auc = float(roc_auc_score(y[1::2], model.predict_proba(x[1::2])[:, 1]))
        record_metrics(auc=auc)
        if TRACKING:  # the run goes to the sandbox's own MLflow experiment
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=TRACKING)
            found = client.get_experiment_by_name(sandbox.mlflow_experiment)
            experiment = found.experiment_id if found else client.create_experiment(
                sandbox.mlflow_experiment, artifact_location=sandbox.path("mlruns")
            )
            run = client.create_run(experiment, run_name="train")
            client.log_metric(run.info.run_id, "auc", auc)
            client.set_terminated(run.info.run_id)
        return auc

    prepared = prepare(extract())
    detects(prepared, signals=["format"])  # a plain task reading the file: its failure is a format detection
    ValidateDataOperator(task_id="validate", data=prepared, expect=EXPECT)
    train(prepared)
    if {features}:
        prepared >> CheckFeaturesOperator(
            task_id="check_features",
            repo=sandbox.path("feast"),
            features=[f"{{VIEW}}:conv_rate"],
            entity_rows=[{{"driver_id": i}} for i in range(1001, 1041)],
            freshness=False,
            presence=False,
            ranges={{f"{{VIEW}}:conv_rate": (0.0, 1.0)}},
        )


SCENARIOS = {{
{scenarios}
}}

experiment = chaos_matrix(build, SCENARIOS, control=True, dag_id={dag_id!r}, seed=11, metrics=["auc"])
'''


def rows(n: int = ROWS) -> list[dict[str, Any]]:
    """Seeded rows: the label depends on age (strongly) and income (weakly)."""
    import numpy as np

    rng = np.random.default_rng(3)
    age = rng.normal(40, 10, n).round(1)
    income = rng.normal(50, 15, n).round(2)
    logit = 0.25 * (age - 40) + 0.03 * (income - 50) + rng.normal(0, 1, n)
    label = (logit > 0).astype(int)
    return [{"id": i, "age": float(a), "income": float(m), "label": int(y)} for i, (a, m, y) in enumerate(zip(age, income, label, strict=True))]


def dag_source(
    dag_id: str,
    api: str,
    scenarios: Sequence[str],
    *,
    extra_expect: Sequence[dict[str, Any]] = (),
    row_range: tuple[int, int] = (180, 220),
    features: bool = False,
    tracking: str | None = None,
) -> str:
    listed = "\n".join(f"    {name!r}: {SCENARIOS[name]}," for name in scenarios)
    return SOURCE.format(
        api=api,
        view=VIEW,
        min_rows=row_range[0],
        max_rows=row_range[1],
        extra=json.dumps(list(extra_expect)),
        features=features,
        tracking=tracking,
        scenarios=listed,
        dag_id=dag_id,
    )


def prepare_feast_sandboxes(golden: Path, root: Path, dag_id: str, scenarios: Sequence[str]) -> None:
    """Give the control and every scenario its own copy of the Feast repository: its own registry and
    online store (copied, not applied again: a copy takes milliseconds, an apply seconds)."""
    import shutil

    for name in ["control", *scenarios]:
        target = root / dag_id / name / "feast"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(golden, target)
