"""Stale and corrupted features that Feast serves without a complaint, caught by a feature check.

Feast's online store does not enforce a view's TTL and serves whatever was written last, so a
materialization that "succeeded" without writing rows, or a bad value pushed online, go unnoticed
unless something checks what serving returns. Two faults, both ways chaos meets a pipeline:

- ``materialize`` is armed with ``StaleFeatures(mode="watermark")``: its materialization records
  its interval (the incremental watermark advances) but writes no rows, and the task succeeds;
- ``corrupt_conv_rate`` is an ``InjectFaultOperator`` step: 20% of the drivers get an
  out-of-range ``conv_rate`` in the online store.

``check_features`` reads what the model would read and fails on freshness (the view's TTL, and the
rows the last materialization should have written) and on the value range: both faults are
DETECTED. ``restore`` (a teardown) puts the online rows and the registry's view back.

The Feast repo comes from the ``feast_repo`` param; ``prepare_demo_repo`` builds one there from
Feast's own driver data when it is missing, materialized up to two days ago.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import (
    AssertDetectedOperator,
    ChaosRestoreOperator,
    CheckFeaturesOperator,
    InjectFaultOperator,
)

REPO = "{{ params.feast_repo }}"
VIEW = "driver_hourly_stats"
FEATURES = [f"{VIEW}:conv_rate", f"{VIEW}:acc_rate"]


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "chaos"],
    params={"feast_repo": Param("/tmp/airflow-chaos-feast", type="string")},
)
def chaos_feature_store():
    @task
    def prepare_demo_repo(repo: str) -> None:
        """A local Feast repo (SQLite online store, file offline store) with 4 days of driver stats."""
        from datetime import timedelta, timezone
        from pathlib import Path

        import numpy as np
        from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
        from feast.driver_test_data import create_driver_hourly_stats_df
        from feast.types import Float32, Int64

        root = Path(repo)
        if (root / "feature_store.yaml").exists():
            return
        (root / "data").mkdir(parents=True)
        (root / "feature_store.yaml").write_text(
            "project: chaos_demo\nregistry: data/registry.db\nprovider: local\n"
            "online_store: {type: sqlite, path: data/online.db}\noffline_store: {type: file}\n"
            "entity_key_serialization_version: 3\n"
        )
        now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        np.random.seed(0)
        df = create_driver_hourly_stats_df(list(range(1001, 1051)), now - timedelta(days=4), now + timedelta(hours=1))
        df = df[["event_timestamp", "driver_id", "conv_rate", "acc_rate", "avg_daily_trips", "created"]]
        df[df["event_timestamp"] >= now - timedelta(days=4)].to_parquet(root / "data" / "driver_stats.parquet")
        driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
        source = FileSource(path=str(root / "data" / "driver_stats.parquet"), timestamp_field="event_timestamp")
        schema = [
            Field(name="conv_rate", dtype=Float32),
            Field(name="acc_rate", dtype=Float32),
            Field(name="avg_daily_trips", dtype=Int64),
        ]
        store = FeatureStore(repo_path=str(root))
        store.apply(
            [driver, FeatureView(name=VIEW, entities=[driver], ttl=timedelta(days=1), schema=schema, source=source)]
        )
        store.materialize(now - timedelta(days=4), now - timedelta(days=2))

    @task
    def materialize(repo: str) -> None:
        from datetime import timezone

        from feast import FeatureStore

        FeatureStore(repo_path=repo).materialize_incremental(datetime.now(timezone.utc), [VIEW])

    materialized = materialize(REPO)
    chaos(materialized.operator, faults.StaleFeatures(repo=REPO, feature_view=VIEW, mode="watermark"), seed=1)

    corrupt = InjectFaultOperator(
        task_id="corrupt_conv_rate",
        faults=[faults.CorruptFeatures(repo=REPO, feature_view=VIEW, feature="conv_rate", fraction=0.2, value=25.0)],
        seed=1,
    )
    check = CheckFeaturesOperator(
        task_id="check_features",
        repo=REPO,
        features=FEATURES,
        materialization=True,  # the last recorded interval really wrote its rows
        ranges={f"{VIEW}:conv_rate": (0.0, 1.0), f"{VIEW}:acc_rate": (0.0, 1.0)},
    )

    prepare_demo_repo(REPO) >> materialized >> corrupt >> check
    check >> AssertDetectedOperator(task_id="assert_detected") >> ChaosRestoreOperator(task_id="restore").as_teardown()


chaos_feature_store()
