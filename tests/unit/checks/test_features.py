"""Pure feature-store checks: freshness, rows written, presence, ranges, skew (PSI and KS), schema."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_chaos.checks import features as checks

NOW = 1_800_000_000.0


def served(conv, conv_ts, acc=None):
    out = {"driver_id": list(range(len(conv))), "v:conv_rate": conv, "v:conv_rate__ts": conv_ts}
    if acc is not None:
        out["v:acc_rate"], out["v:acc_rate__ts"] = acc, conv_ts
    return out


def test_freshness_fails_on_values_older_than_max_age_and_ignores_absent_ones():
    fresh = served([0.1, 0.2, None], [NOW - 60, NOW - 3600, 0])
    assert checks.freshness(fresh, 7200, NOW).passed
    stale = checks.freshness(served([0.1, 0.2], [NOW - 60, NOW - 90000]), 86400, NOW)
    assert not stale.passed and stale.signals == ["feature.freshness"]
    assert stale.observed["features"]["v:conv_rate"] == {"rows": 2, "stale": 1, "oldest_age_s": 90000.0, "max_age_s": 86400.0}


def test_freshness_limits_per_feature_and_unlisted_features_are_not_checked():
    data = served([0.1], [NOW - 5000], acc=[0.3])
    assert not checks.freshness(data, {"v:conv_rate": 100}, NOW).passed
    assert checks.freshness(data, {"acc_rate": 10_000}, NOW).passed  # bare names match too; conv_rate unchecked


def test_materialization_written_fails_when_rows_in_the_recorded_interval_never_arrived():
    expected = {'{"driver_id":1}': NOW - 100, '{"driver_id":2}': NOW - 100}
    ok = checks.materialization_written(expected, {'{"driver_id":1}': NOW - 100, '{"driver_id":2}': NOW - 50}, (NOW - 3600, NOW))
    assert ok.passed
    bad = checks.materialization_written(expected, {'{"driver_id":1}': NOW - 100, '{"driver_id":2}': NOW - 7200}, (NOW - 3600, NOW))
    assert not bad.passed and bad.observed["entities_not_written"] == 1 and bad.observed["examples"] == ['{"driver_id":2}']
    assert checks.materialization_written({}, {}, None).passed  # nothing to write: nothing missing


def test_presence_fails_on_a_missing_or_null_feature():
    data = served([0.1, None], [NOW, 0])
    assert checks.presence(data, ["v:conv_rate"], max_missing_fraction=0.5).passed
    nulls = checks.presence(data, ["v:conv_rate"])
    assert not nulls.passed and nulls.observed["null_fraction"] == {"v:conv_rate": 0.5}
    absent = checks.presence(data, ["v:acc_rate"])
    assert not absent.passed and absent.observed["absent"] == ["v:acc_rate"] and absent.signals == ["feature.validity"]


def test_value_ranges_count_values_outside_and_skip_nulls():
    data = served([0.1, 50.0, None, -2.0], [NOW] * 4)
    det = checks.value_ranges(data, {"v:conv_rate": (0.0, 1.0)})
    assert not det.passed
    assert det.observed["out_of_range"]["v:conv_rate"] == {"rows": 2, "of": 3, "min": -2.0, "max": 50.0, "range": [0.0, 1.0]}
    assert checks.value_ranges(served([0.1, None], [NOW] * 2), {"conv_rate": (0, 1)}).passed


def test_skew_passes_on_the_training_distribution_and_fails_on_a_shift_a_scale_and_a_transform():
    rng = np.random.default_rng(3)
    training = {"acc_rate": rng.random(20_000)}
    stats = checks.training_statistics(training, ["acc_rate"])
    assert len(stats["acc_rate"]["sample"]) == 2000 and stats["acc_rate"]["count"] == 20_000
    same = rng.random(300).tolist()
    assert checks.skew({"v:acc_rate": same}, stats).passed
    for skewed in ([x + 0.5 for x in same], [x * 3 for x in same], [x * x for x in same]):
        det = checks.skew({"v:acc_rate": skewed}, stats)
        assert not det.passed and det.observed["skewed"] == ["acc_rate"], det.observed
        assert det.observed["features"]["acc_rate"]["ks_pvalue"] < 0.01


def test_psi_and_ks_agree_with_their_definitions():
    edges, proportions = [0.5], [0.5, 0.5]
    # all values in the upper bin: (1e-4 - .5) ln(1e-4/.5) + (1 - .5) ln(1/.5)
    expected = (1e-4 - 0.5) * np.log(1e-4 / 0.5) + 0.5 * np.log(2)
    assert checks.population_stability_index([0.7, 0.9], edges, proportions) == pytest.approx(expected)
    statistic, pvalue = checks.ks_pvalue([0.0, 0.1, 0.2], [5.0, 5.1, 5.2])
    assert statistic == 1.0 and pvalue < 0.2


def test_skew_fails_when_a_feature_with_training_statistics_is_not_served():
    stats = checks.training_statistics({"acc_rate": [0.1, 0.2, 0.3]}, ["acc_rate"])
    det = checks.skew({"v:conv_rate": [0.1]}, stats)
    assert not det.passed and det.observed["not_served"] == ["acc_rate"]


def test_schema_reports_renamed_and_retyped_fields():
    recorded = {"conv_rate": "FLOAT", "acc_rate": "FLOAT", "avg_daily_trips": "INT64"}
    assert checks.schema_matches(dict(recorded), recorded, "v").passed
    now = {"conversion_rate": "FLOAT", "acc_rate": "DOUBLE", "avg_daily_trips": "INT64"}
    det = checks.schema_matches(now, recorded, "v")
    assert not det.passed and det.signals == ["feature.schema"]
    assert det.observed == {
        "view": "v",
        "missing": ["conv_rate"],
        "added": ["conversion_rate"],
        "retyped": {"acc_rate": {"recorded": "FLOAT", "now": "DOUBLE"}},
    }


def test_ks_without_scipy_agrees_with_scipy():
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(5)
    for shift in (0.0, 0.1, 0.5):
        a, b = rng.random(400) + shift, rng.random(2000)
        statistic, pvalue = checks.ks_asymptotic(a, b)
        expected = ks_2samp(a, b)
        assert statistic == pytest.approx(expected.statistic)
        assert pvalue == pytest.approx(expected.pvalue, abs=0.02)
