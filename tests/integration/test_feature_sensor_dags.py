"""FeatureFreshnessSensor (deferrable, through its trigger) and FeastHook on a real Feast repository."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.integration import feast_repo

pytestmark = pytest.mark.integration

DRIVERS = 10

SENSOR_DAG = '''
from datetime import datetime, timezone

from airflow.sdk import dag, task

from airflow_chaos.operators import AssertDetectedOperator
from airflow_chaos.sensors import FeatureFreshnessSensor
from tests.integration import feast_repo

REPO = {repo!r}


@dag(dag_id="feature_sensor", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def materialize():
        if {fresh}:
            feast_repo.store_of(REPO).materialize_incremental(datetime.now(timezone.utc), ["driver_hourly_stats"])

    wait = FeatureFreshnessSensor(
        task_id="wait_for_fresh_features",
        repo=REPO,
        features=["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate"],
        entity_rows=feast_repo.entity_rows({drivers}),
        deferrable=True,
        poke_interval=0.2,
        timeout=1,
    )
    materialize() >> wait


build()
'''


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return feast_repo.build_repo(tmp_path_factory.mktemp("feast") / "golden", drivers=DRIVERS)


@pytest.fixture
def repo(golden: Path, tmp_path: Path) -> Path:
    return feast_repo.copy_repo(golden, tmp_path / "repo")


@pytest.mark.parametrize(("fresh", "state"), [(True, "success"), (False, "failed")])
def test_deferrable_sensor_waits_in_the_trigger_and_records_freshness(dag_runner, repo, fresh, state):
    source = SENSOR_DAG.format(repo=str(repo), fresh=fresh, drivers=DRIVERS)

    result = dag_runner.run(dag_runner.write("feature_sensor", source), "feature_sensor")

    assert result.task_states["wait_for_fresh_features"] == state
    (det,) = result.xcom("wait_for_fresh_features", "chaos_detections")
    assert det["check"] == "feature_freshness" and det["signals"] == ["feature.freshness"]
    assert det["passed"] is fresh
    stale = det["observed"]["features"]["driver_hourly_stats:conv_rate"]["stale"]
    assert stale == (0 if fresh else DRIVERS)


def test_trigger_fires_timeout_on_stale_features_and_round_trips(repo):
    from airflow_chaos.triggers.features import FeatureFreshnessTrigger

    trigger = FeatureFreshnessTrigger(
        str(repo), ["driver_hourly_stats:conv_rate"], feast_repo.entity_rows(DRIVERS), {"driver_hourly_stats:conv_rate": 86400.0},
        poll_interval=0.1, timeout=0.3,
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_chaos.triggers.features.FeatureFreshnessTrigger"
    assert FeatureFreshnessTrigger(**kwargs).serialize() == (path, kwargs)
    json.dumps(kwargs)  # trigger kwargs are stored as JSON: no objects, no secrets

    async def first_event():
        async for event in trigger.run():
            return event.payload

    payload = asyncio.run(first_event())
    assert payload["status"] == "timeout" and payload["waited"] >= 0.3
    assert payload["detection"]["passed"] is False


def test_feast_hook_reads_the_repo_from_a_connection(monkeypatch, repo):
    from airflow_chaos.exceptions import ChaosConfigError
    from airflow_chaos.hooks.feast import FeastHook

    monkeypatch.setenv("AIRFLOW_CONN_FEAST_TEST", json.dumps({"conn_type": "feast", "extra": {"repo_path": str(repo)}}))
    monkeypatch.setenv("AIRFLOW_CONN_FEAST_YAML", json.dumps({"conn_type": "feast", "extra": {"feature_store_yaml": str(repo / "feature_store.yaml")}}))
    monkeypatch.setenv("AIRFLOW_CONN_FEAST_EMPTY", json.dumps({"conn_type": "feast", "extra": {}}))

    assert FeastHook("feast_test").repo_location() == str(repo)
    assert FeastHook("feast_test").get_conn().project == "chaos_test"
    assert FeastHook("feast_yaml").view_schema("driver_hourly_stats") == {"conv_rate": "FLOAT", "acc_rate": "FLOAT", "avg_daily_trips": "INT64"}
    assert FeastHook(feast_conn_id=None, repo=str(repo)).view_ttl("driver_hourly_stats") == 86400.0
    with pytest.raises(ChaosConfigError, match="neither 'repo_path' nor 'feature_store_yaml'"):
        FeastHook("feast_empty").repo_location()


def test_provider_info_declares_the_feast_connection_form_without_wtforms():
    from airflow_chaos.get_provider_info import get_provider_info

    types = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}
    assert set(types) == {"feast", "mlflow"}
    conn = types["feast"]
    assert conn["connection-type"] == "feast" and conn["hook-class-name"] == "airflow_chaos.hooks.feast.FeastHook"
    assert set(conn["conn-fields"]) == {"repo_path", "feature_store_yaml"}
    source = Path(__file__).resolve().parents[2].joinpath("airflow_chaos", "hooks", "feast.py").read_text()
    assert "wtforms" not in source and "flask_appbuilder" not in source
