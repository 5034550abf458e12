"""The feature-store example DAG builds its demo repo, and both faults (an armed materialize task and an
``InjectFaultOperator`` step) are DETECTED by one feature check; the teardown puts the store back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_feature_store_example_detects_both_faults_and_restores(dag_runner, chaos_on, tmp_path):
    from feast import FeatureStore

    repo = tmp_path / "feast_demo"
    path = dag_runner.copy(ROOT / "example_dags" / "feature_store_faults.py")

    result = dag_runner.run(path, "chaos_feature_store", run_conf={"feast_repo": str(repo)})

    assert result.state == "success"
    assert result.verdicts() == {
        "materialize:stale_features": "DETECTED",
        "corrupt_conv_rate:corrupt_features": "DETECTED",
    }
    failed = {d["check"] for d in result.xcom("check_features", "chaos_detections") if not d["passed"]}
    assert failed == {"feature_freshness", "materialization_written", "feature_ranges"}
    assert result.task_states["restore"] == "success"
    # restored: the demo repo is as prepare_demo_repo left it (materialized up to two days ago, values in range)
    store = FeatureStore(repo_path=str(repo))
    assert len(store.get_feature_view("driver_hourly_stats").materialization_intervals) == 1
    served = store.get_online_features(
        features=["driver_hourly_stats:conv_rate"], entity_rows=[{"driver_id": i} for i in range(1001, 1051)]
    ).to_dict(include_event_timestamps=True)
    assert all(0.0 <= v <= 1.0 for v in served["conv_rate"])
    assert max(served["conv_rate__ts"]) <= time.time() - 2 * 86400 + 3600
