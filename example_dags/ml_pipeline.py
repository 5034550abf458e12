"""An ML pipeline a team would run: orders in, a model trained, registered, promoted, and a batch scored.

Will an order be returned? Every day this pipeline

1. pulls the shop's orders from its HTTP API and waits for the warehouse's returns file (the labels);
2. validates both with Great Expectations (columns, nulls, ranges, order, row count, file format);
3. builds per-customer features, writes them to a Feast repository and materializes them online,
   then checks what Feast serves (freshness, presence, ranges, skew against the offline values, schema);
4. trains a scikit-learn model on point-in-time historical features from Feast, logs and registers
   it in MLflow with a signature (the ``challenger``), checks its quality against the ``champion``
   on a holdout set and promotes it by moving the alias, then checks the deployed version
   (alias, signature, metadata, loads and predicts);
5. batch-scores the day's orders with online features and the champion.

No chaos here: this is the pipeline as it runs in production. ``build_pipeline(sandbox)`` creates its
tasks wherever it is called (the DAG below, or a task group of the resilience suite in
``resilience_suite.py``, which runs it under every fault scenario). All state lives under one
directory (``base_dir``, default ``$AIRFLOW_HOME/chaos-demo/ml_pipeline``): the Feast repository
(SQLite online store), the MLflow store (SQLite), the drop folder and the scores. The first run
registers a baseline (always answers "kept") as version 1 and champion, so the first real model has
something to beat. The orders API is the demo's (``python -m airflow_chaos.demo.api``); its URL
comes from the ``api_url`` param (default: ``$AIRFLOW_CHAOS_DEMO_API`` or ``http://127.0.0.1:8765``).

Heavy libraries (pandas, Feast, MLflow, scikit-learn, Great Expectations) are imported inside tasks
only: parsing this file imports none of them.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from airflow_chaos.experiment.matrix import Sandbox
from airflow_chaos.operators import CheckFeaturesOperator, ValidateDataOperator
from airflow_chaos.operators.registry import CheckModelQualityOperator, CheckModelRegistryOperator
from airflow_chaos.sensors import FileArrivalSensor

API_URL = os.environ.get("AIRFLOW_CHAOS_DEMO_API", "http://127.0.0.1:8765")
BASE_DIR = os.environ.get("AIRFLOW_CHAOS_DEMO_DIR") or os.path.join(
    os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow"), "chaos-demo"
)
# The hour the run's data ends at: the API serves the same orders and returns for it, features are fresh as of it.
UNTIL = "{{ (logical_date or dag_run.run_after).strftime('%Y-%m-%dT%H:00:00Z') }}"

ORDER_COLUMNS = ["order_id", "customer_id", "created_at", "amount", "quantity", "category"]
CATEGORIES = ["electronics", "fashion", "home", "books", "toys"]
VIEW = "customer_stats"
FEATURES = ["orders_7d", "avg_amount", "avg_quantity"]  # served by Feast, per customer
FEATURE_REFS = [f"{VIEW}:{f}" for f in FEATURES]
MODEL_INPUTS = ["amount", "quantity", *FEATURES, "amount_vs_usual"]  # what the model reads
LABEL = "returned"
APPROVED = "quality=passed"  # the tag a promoted version carries


# ---------------------------------------------------------------------- where a pipeline keeps its state
def paths(data_dir: str) -> dict[str, str]:
    """Every location of one pipeline's state under ``data_dir`` (plain or templated)."""
    return {
        "repo": f"{data_dir}/feast",
        "features": f"{data_dir}/features/{VIEW}.parquet",
        "serving_stats": f"{data_dir}/features/serving_stats.json",
        "feature_schema": f"{data_dir}/feast/schema.json",
        "returns": f"{data_dir}/drop/returns.csv",
        "holdout": f"{data_dir}/models/holdout.parquet",
        "scores": f"{data_dir}/scores/returns_risk.parquet",
    }


def tracking_uri_for(data_dir: str) -> str:
    return f"sqlite:///{data_dir}/mlflow.db"


def use_mlflow(tracking_uri: str) -> Any:
    """Point MLflow at the pipeline's store with a short retry budget; return a client.

    MLflow's defaults retry a dead registry for about 250 s; the model's requirements are given
    explicitly, so MLflow need not look for a uv project in the worker's directory.
    """
    import mlflow

    for name, value in {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
        "MLFLOW_UV_AUTO_DETECT": "false",
        "MLFLOW_LOG_UV_FILES": "false",
    }.items():
        os.environ.setdefault(name, value)
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.MlflowClient(tracking_uri)


def model_inputs(frame: Any) -> Any:
    """The model's input columns, as floats: the order, the customer's features, and how unusual the basket is."""
    frame = frame.assign(amount_vs_usual=frame["amount"] / frame["avg_amount"])
    return frame[MODEL_INPUTS].astype("float64")


def log_model(
    client: Any, experiment: str, model: Any, inputs: Any, description: str, tags: dict[str, str], name: str
) -> str:
    """Log ``model`` with a signature and an input example, register it under ``name``; return its version."""
    import mlflow
    from mlflow.models import infer_signature

    from airflow_chaos.report.tracking import default_artifact_location  # beside a SQLite store, not ./mlruns

    found = client.get_experiment_by_name(experiment)
    experiment_id = (
        found.experiment_id
        if found
        else client.create_experiment(experiment, artifact_location=default_artifact_location(mlflow.get_tracking_uri()))
    )
    with mlflow.start_run(experiment_id=experiment_id):
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(inputs, model.predict(inputs)),
            input_example=inputs.head(3),
            pip_requirements=["scikit-learn", "pandas"],  # explicit: inferring them costs seconds
        )
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name, description="Will an order be returned? (airflow-chaos demo)")
    version = client.create_model_version(
        name, info.model_uri, run_id=info.run_id, model_id=info.model_id, tags=tags, description=description
    )
    return str(version.version)


# ---------------------------------------------------------------------- the tasks
@task
def prepare(data_dir: str, tracking_uri: str, model: str, experiment: str, project: str, reset: bool) -> None:
    """Create the state the pipeline needs on its first run: folders, the Feast repository, a baseline champion."""
    import shutil
    from pathlib import Path

    if reset:  # the resilience suite starts every scenario from the same state
        shutil.rmtree(data_dir, ignore_errors=True)
        client = use_mlflow(tracking_uri)
        if client.search_registered_models(filter_string=f"name = '{model}'"):
            client.delete_registered_model(model)
    for folder in ("drop", "features", "feast", "models", "scores"):
        Path(data_dir, folder).mkdir(parents=True, exist_ok=True)
    create_feature_repo(paths(data_dir), project)
    register_baseline(tracking_uri, experiment, model)


def create_feature_repo(where: dict[str, str], project: str) -> None:
    """A Feast repository (SQLite online store, file offline store) with one view: per-customer order stats."""
    import json
    from pathlib import Path

    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    from airflow_chaos.hooks.feast import FeastHook

    repo = Path(where["repo"])
    if (repo / "registry.db").exists():
        return
    (repo / "feature_store.yaml").write_text(
        f"project: {project}\nregistry: registry.db\nprovider: local\n"
        "online_store: {type: sqlite, path: online.db}\noffline_store: {type: file}\n"
        "entity_key_serialization_version: 3\n"
    )
    customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.INT64)
    source = FileSource(path=where["features"], timestamp_field="event_timestamp", created_timestamp_column="created")
    schema = [
        Field(name="orders_7d", dtype=Int64),
        Field(name="avg_amount", dtype=Float64),
        Field(name="avg_quantity", dtype=Float64),
    ]
    view = FeatureView(name=VIEW, entities=[customer], ttl=timedelta(days=2), schema=schema, source=source)
    FeatureStore(repo_path=str(repo)).apply([customer, view])
    # What the model is trained against: checked at serving time (feature-version mismatch).
    Path(where["feature_schema"]).write_text(json.dumps({VIEW: FeastHook(repo=str(repo)).view_schema(VIEW)}))


def register_baseline(tracking_uri: str, experiment: str, model: str) -> None:
    """Version 1, the first champion: always answers "kept". Every real model must beat it."""
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    client = use_mlflow(tracking_uri)
    if client.search_registered_models(filter_string=f"name = '{model}'"):
        return
    inputs = pd.DataFrame([[50.0, 1.0, 1.0, 50.0, 1.0, 1.0]] * 2, columns=MODEL_INPUTS)
    baseline = DummyClassifier(strategy="constant", constant=0).fit(inputs, [0, 1])
    tags = dict([APPROVED.split("=")])
    version = log_model(client, experiment, baseline, inputs, "baseline: always 'kept'", tags, model)
    client.set_registered_model_alias(model, "champion", version)


@task
def extract_orders(api_url: str, until: str, count: int, seed: int) -> Any:
    """Every page of orders from the shop's API, retrying rate limits and server errors a few times."""
    import pandas as pd
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    retry = Retry(total=3, backoff_factor=0.1, status_forcelist=[429, 500, 502, 503, 504], allowed_methods=["GET"])
    session.mount("http://", HTTPAdapter(max_retries=retry))
    records: list[dict[str, Any]] = []
    page: int | None = 1
    while page:
        query = {"page": page, "page_size": 100, "count": count, "seed": seed, "until": until}
        response = session.get(f"{api_url}/orders", params=query, timeout=10)
        response.raise_for_status()
        body = response.json()
        records += body["orders"]
        page = body["next"]
    orders = pd.DataFrame.from_records(records)
    if "created_at" in orders:  # parsed for the ordering check; validate_orders checks the column is there
        orders["created_at"] = pd.to_datetime(orders["created_at"], utc=True)
    return orders


@task
def partner_drops_returns(api_url: str, until: str, count: int, seed: int, path: str) -> str:
    """Demo only: stands in for the warehouse's nightly job that drops ``returns.csv`` in the landing folder."""
    import requests

    response = requests.get(f"{api_url}/returns.csv", params={"count": count, "seed": seed, "until": until}, timeout=10)
    response.raise_for_status()
    with open(path, "wb") as out:
        out.write(response.content)
    return path


@task
def build_features(orders: Any, until: str, where: dict[str, str]) -> dict[str, int]:
    """Per customer and day: orders in the last 7 days, average basket and quantity so far (the offline store)."""
    import json

    import pandas as pd

    from airflow_chaos.checks.features import training_statistics

    end = pd.Timestamp(until)
    snapshots = []
    for day in range(28):
        at = end - pd.Timedelta(days=day)
        seen = orders[orders["created_at"] <= at].groupby("customer_id")
        recent = orders[(orders["created_at"] <= at) & (orders["created_at"] > at - pd.Timedelta(days=7))]
        stats = pd.DataFrame({"avg_amount": seen["amount"].mean(), "avg_quantity": seen["quantity"].mean()})
        stats["orders_7d"] = recent.groupby("customer_id").size().reindex(stats.index, fill_value=0).astype("int64")
        snapshots.append(stats.reset_index().assign(event_timestamp=at, created=at))
    features = pd.concat(snapshots, ignore_index=True)
    features.to_parquet(where["features"])
    # What serving must return for today's snapshot (train/serve skew is measured against it).
    latest = features[features["event_timestamp"] == end]
    with open(where["serving_stats"], "w") as out:
        json.dump(training_statistics(latest, FEATURES), out)
    return {"rows": len(features), "customers": int(latest["customer_id"].nunique())}


@task
def materialize(repo: str) -> None:
    """Load the newest feature values into the online store (what serving reads)."""
    from datetime import timezone

    from feast import FeatureStore

    FeatureStore(repo_path=repo).materialize_incremental(datetime.now(timezone.utc), [VIEW])


@task
def build_training_set(orders: Any, returns_path: str, repo: str, holdout_path: str) -> Any:
    """Orders with their labels and point-in-time features from Feast; the newest quarter is held out."""
    import pandas as pd
    from feast import FeatureStore

    labels = pd.read_csv(returns_path)
    entities = orders.merge(labels, on="order_id")[["customer_id", "created_at", "amount", "quantity", LABEL]]
    entities = entities.rename(columns={"created_at": "event_timestamp"})
    joined = FeatureStore(repo_path=repo).get_historical_features(entity_df=entities, features=FEATURE_REFS).to_df()
    joined = joined.dropna(subset=FEATURES).sort_values("event_timestamp", ignore_index=True)
    frame = pd.concat([model_inputs(joined), joined[[LABEL]].astype("int64")], axis=1)
    cut = int(len(frame) * 0.75)
    frame.iloc[cut:].to_parquet(holdout_path)
    return frame.iloc[:cut].reset_index(drop=True)


@task
def train(training: Any, holdout_path: str, tracking_uri: str, experiment: str, model: str) -> str:
    """Fit a logistic regression, log it with its signature, register it and make it the challenger.

    Its holdout accuracy is recorded (``record_metrics``): a resilience experiment reports how much a
    fault would have cost the model had nothing caught it.
    """
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from airflow_chaos.operators import record_metrics

    inputs = training[MODEL_INPUTS]
    fitted = LogisticRegression(max_iter=2000).fit(inputs, training[LABEL])
    holdout = pd.read_parquet(holdout_path)
    record_metrics(accuracy=fitted.score(holdout[MODEL_INPUTS], holdout[LABEL]))
    client = use_mlflow(tracking_uri)
    description = f"logistic regression on {len(training)} orders"
    version = log_model(client, experiment, fitted, inputs, description, {"quality": "pending"}, model)
    client.set_registered_model_alias(model, "challenger", version)
    return version


@task
def promote(tracking_uri: str, model: str) -> str:
    """The challenger passed the quality gate: it becomes the champion."""
    client = use_mlflow(tracking_uri)
    version = str(client.get_model_version_by_alias(model, "challenger").version)
    client.set_model_version_tag(model, version, *APPROVED.split("="))
    client.set_registered_model_alias(model, "champion", version)
    return version


@task
def score(orders: Any, until: str, repo: str, tracking_uri: str, model: str, out_path: str) -> dict[str, Any]:
    """Score the last day's orders with the customers' online features and the champion model."""
    import mlflow
    import pandas as pd
    from feast import FeatureStore

    today = orders[orders["created_at"] > pd.Timestamp(until) - pd.Timedelta(days=1)].reset_index(drop=True)
    rows = [{"customer_id": int(c)} for c in today["customer_id"]]
    online = FeatureStore(repo_path=repo).get_online_features(features=FEATURE_REFS, entity_rows=rows).to_df()
    client = use_mlflow(tracking_uri)
    champion = client.get_model_version_by_alias(model, "champion")
    predicted = mlflow.pyfunc.load_model(f"models:/{model}/{champion.version}").predict(
        model_inputs(pd.concat([today, online[FEATURES]], axis=1))
    )
    scores = today[["order_id", "customer_id"]].assign(
        will_return=pd.Series(predicted).astype("int64"), model_version=str(champion.version)
    )
    scores.to_parquet(out_path)
    return {
        "rows": len(scores),
        "flagged": int(scores["will_return"].sum()),
        "model_version": str(champion.version),
        "path": out_path,
    }


# ---------------------------------------------------------------------- the pipeline
def build_pipeline(
    sandbox: Sandbox,
    *,
    api_url: str = "{{ params.api_url }}",
    orders: int = 500,
    seed: int = 7,
    tracking_uri: str | None = None,
    model: str = "order_returns",
    reset: bool = False,
) -> dict[str, Any]:
    """Create the pipeline's tasks where it is called (a DAG, or a task group); return them by task id.

    ``sandbox`` says where its state lives: ``data_dir`` (a path, or a template such as
    ``{{ params.base_dir }}``), the MLflow experiment and the Feast project. ``tracking_uri`` defaults
    to a SQLite store in ``data_dir``; ``reset=True`` wipes ``data_dir`` and the registered model first.
    """
    where = paths(sandbox.data_dir)
    uri = tracking_uri or tracking_uri_for(sandbox.data_dir)
    mlflow_at = {"tracking_uri": uri, "mlflow_conn_id": None}

    ready = prepare(sandbox.data_dir, uri, model, sandbox.mlflow_experiment, sandbox.feast_project, reset)
    raw_orders = extract_orders(api_url, UNTIL, orders, seed)
    dropped = partner_drops_returns(api_url, UNTIL, orders, seed, where["returns"])
    wait_for_returns = FileArrivalSensor(
        task_id="wait_for_returns", path=where["returns"], arrival_sla=2, poke_interval=0.5, timeout=60, mode="poke"
    )
    validate_orders = ValidateDataOperator(
        task_id="validate_orders",
        data=raw_orders,
        required_columns=ORDER_COLUMNS,
        expect=[
            {"type": "expect_table_row_count_to_be_between", "min_value": int(orders * 0.9), "max_value": orders},
            *({"type": "expect_column_values_to_not_be_null", "column": c} for c in ORDER_COLUMNS),
            {"type": "expect_column_values_to_be_between", "column": "amount", "min_value": 0, "max_value": 10_000},
            {"type": "expect_column_values_to_be_between", "column": "quantity", "min_value": 1, "max_value": 100},
            {"type": "expect_column_values_to_be_in_set", "column": "category", "value_set": CATEGORIES},
            {"type": "expect_column_values_to_be_increasing", "column": "created_at"},
        ],
    )
    validate_returns = ValidateDataOperator(
        task_id="validate_returns",
        data=where["returns"],
        data_format="csv",
        required_columns=["order_id", LABEL],
        expect=[
            {"type": "expect_column_values_to_not_be_null", "column": LABEL},
            {"type": "expect_column_values_to_be_in_set", "column": LABEL, "value_set": [0, 1]},
        ],
    )
    built = build_features(raw_orders, UNTIL, where)
    materialized = materialize(where["repo"])
    check_features = CheckFeaturesOperator(
        task_id="check_features",
        repo=where["repo"],
        feast_conn_id=None,
        features=FEATURE_REFS,
        materialization=True,  # the last materialization really wrote its rows
        ranges={f"{VIEW}:avg_amount": (0, 10_000), f"{VIEW}:avg_quantity": (1, 100), f"{VIEW}:orders_7d": (0, 1_000)},
        training_stats=where["serving_stats"],
        schema=where["feature_schema"],
    )
    training = build_training_set(raw_orders, where["returns"], where["repo"], where["holdout"])
    challenger = train(training, where["holdout"], uri, sandbox.mlflow_experiment, model)
    check_quality = CheckModelQualityOperator(
        task_id="check_quality",
        model=model,
        alias="challenger",
        compare_to="champion",
        metric="accuracy",
        max_drop=0.02,
        data=where["holdout"],
        target=LABEL,
        features=MODEL_INPUTS,
        **mlflow_at,
    )
    promoted = promote(uri, model)
    check_deployment = CheckModelRegistryOperator(
        task_id="check_deployment",
        model=model,
        alias="champion",
        approval_tag=APPROVED,
        expected_signature=dict.fromkeys(MODEL_INPUTS, "double"),
        required_tags=["quality"],
        require_description=True,
        sample=where["holdout"],
        features=MODEL_INPUTS,
        target=LABEL,
        **mlflow_at,
    )
    scored = score(raw_orders, UNTIL, where["repo"], uri, model, where["scores"])

    ready >> [raw_orders, dropped]
    dropped >> wait_for_returns >> validate_returns
    raw_orders >> validate_orders >> built
    built >> materialized >> check_features
    [built, validate_returns] >> training
    challenger >> check_quality >> promoted >> check_deployment
    [check_features, check_deployment] >> scored
    return {
        "prepare": ready,
        "extract_orders": raw_orders,
        "partner_drops_returns": dropped,
        "wait_for_returns": wait_for_returns,
        "validate_orders": validate_orders,
        "validate_returns": validate_returns,
        "build_features": built,
        "materialize": materialized,
        "check_features": check_features,
        "build_training_set": training,
        "train": challenger,
        "check_quality": check_quality,
        "promote": promoted,
        "check_deployment": check_deployment,
        "score": scored,
    }


@dag(
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["example", "ml"],
    params={
        "api_url": Param(API_URL, type="string", description="The orders API (python -m airflow_chaos.demo.api)"),
        "base_dir": Param(
            os.path.join(BASE_DIR, "ml_pipeline"), type="string", description="Where the pipeline keeps its state"
        ),
    },
    auto_register=False,  # found as `dag` below; importing build_pipeline elsewhere registers nothing
)
def ml_pipeline() -> None:
    build_pipeline(
        Sandbox(
            scenario="",
            dag_id="ml_pipeline",
            data_dir="{{ params.base_dir }}",
            mlflow_experiment="ml_pipeline",
            feast_project="ml_pipeline",
            journal_namespace="",
        )
    )


ml_pipeline_dag = ml_pipeline()
