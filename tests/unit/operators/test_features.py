"""CheckFeaturesOperator and FeatureFreshnessSensor refuse bad arguments at DAG-parse time, naming the field."""

from __future__ import annotations

import pytest

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.operators.features import CheckFeaturesOperator, entity_ts, json_or_path
from airflow_chaos.sensors.features import FeatureFreshnessSensor


@pytest.mark.parametrize("features", [[], ["conv_rate"], ["a:b:c"], [":conv_rate"]])
def test_feature_references_must_be_view_colon_feature(features):
    with pytest.raises(ChaosConfigError, match="field 'features'"):
        CheckFeaturesOperator(task_id="check", features=features, repo="/r")
    with pytest.raises(ChaosConfigError, match="field 'features'"):
        FeatureFreshnessSensor(task_id="wait", features=features, repo="/r")


def test_ranges_need_low_and_high():
    with pytest.raises(ChaosConfigError, match=r"field 'ranges': 'v:f' needs \(low, high\)"):
        CheckFeaturesOperator(task_id="check", features=["v:f"], ranges={"v:f": (2.0, 1.0)})
    CheckFeaturesOperator(task_id="check", features="{{ params.features }}", ranges={"v:f": (0, 1)})  # templated: later


def test_training_statistics_and_schemas_come_inline_or_from_a_json_file(tmp_path):
    path = tmp_path / "stats.json"
    path.write_text('{"f": {"mean": 1}}')
    assert json_or_path(str(path), "training_stats", "o") == {"f": {"mean": 1}}
    assert json_or_path({"x": 1}, "schema", "o") == {"x": 1}
    with pytest.raises(ChaosConfigError, match="field 'schema': cannot read JSON"):
        json_or_path(str(tmp_path / "missing.json"), "schema", "o")


def test_entity_timestamps_are_the_newest_served_for_the_view():
    served = {"driver_id": [1, 2], "v:a": [0.1, None], "v:a__ts": [100, 0], "v:b": [1, 2], "v:b__ts": [50, 70], "w:c__ts": [999, 999]}
    assert entity_ts(served, "v", ["driver_id"]) == {'{"driver_id":1}': 100.0, '{"driver_id":2}': 70.0}
