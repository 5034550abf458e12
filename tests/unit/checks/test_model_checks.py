"""Pure model checks: quality metrics against a threshold or a reference, prediction distributions against a reference."""

from __future__ import annotations

import numpy as np
import pytest

from airflow_chaos.checks import models
from airflow_chaos.exceptions import ChaosConfigError

TRUTH = np.array([1, 0, 0, 0, 1, 0, 0, 1, 0, 0])
PRED = np.array([1, 0, 0, 1, 1, 0, 0, 0, 0, 0])


def test_metrics_match_their_definitions():
    sklearn = pytest.importorskip("sklearn.metrics")
    assert models.metric("accuracy", TRUTH, PRED) == pytest.approx(sklearn.accuracy_score(TRUTH, PRED))
    assert models.metric("f1", TRUTH, PRED) == pytest.approx(sklearn.f1_score(TRUTH, PRED))
    assert models.metric("f1_macro", TRUTH, PRED) == pytest.approx(sklearn.f1_score(TRUTH, PRED, average="macro"))
    assert models.metric("precision", TRUTH, PRED) == pytest.approx(sklearn.precision_score(TRUTH, PRED))
    assert models.metric("recall", TRUTH, PRED) == pytest.approx(sklearn.recall_score(TRUTH, PRED))
    y, p = np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 1.0])
    assert models.metric("rmse", y, p) == pytest.approx(sklearn.mean_squared_error(y, p) ** 0.5)
    assert models.metric("mae", y, p) == pytest.approx(sklearn.mean_absolute_error(y, p))
    assert models.metric("accuracy", TRUTH, PRED.reshape(-1, 1)) == 0.8  # a column of predictions


def test_metric_input_errors_name_the_problem():
    with pytest.raises(ChaosConfigError, match="field 'metric': unknown metric 'auc'; allowed: accuracy"):
        models.metric("auc", TRUTH, PRED)
    with pytest.raises(ChaosConfigError, match="10 labels but 3 predictions"):
        models.metric("accuracy", TRUTH, PRED[:3])
    with pytest.raises(ChaosConfigError, match="holdout set is empty"):
        models.metric("accuracy", [], [])


def test_quality_against_a_threshold_and_a_reference():
    assert models.quality("accuracy", 0.95, threshold=0.9).passed
    low = models.quality("accuracy", 0.85, threshold=0.9, version="4")
    assert not low.passed and low.signals == ["model.quality"] and low.observed["version"] == "4"
    behind = models.quality("accuracy", 0.90, reference=0.975, max_drop=0.02)
    assert not behind.passed and behind.observed["drop"] == pytest.approx(0.075)
    assert models.quality("accuracy", 0.97, reference=0.975, max_drop=0.01).passed
    assert not models.quality("rmse", 2.0, reference=1.0, max_drop=0.5).passed  # lower is better
    assert models.quality("rmse", 0.8, threshold=1.0).passed


def test_class_shares_catch_a_shifted_batch():
    rng = np.random.default_rng(0)
    reference = models.prediction_reference((rng.random(2000) < 0.2).astype(int))
    assert reference["kind"] == "categorical" and reference["shares"]["1"] == pytest.approx(0.2, abs=0.02)
    same = models.prediction_drift((rng.random(500) < 0.21).astype(int), reference)
    assert same.passed and same.signals == ["model.predictions", "distribution"]
    shifted = models.prediction_drift((rng.random(500) < 0.6).astype(int), reference)
    assert not shifted.passed and shifted.observed["share_shift"]["1"] > 0.3 and shifted.observed["psi"] > 0.2
    new_class = models.prediction_drift(np.r_[np.zeros(400, int), np.full(100, 7)], reference, signals=["model.predictions"])
    assert not new_class.passed and new_class.signals == ["model.predictions"]


def test_numeric_predictions_use_psi_and_ks():
    rng = np.random.default_rng(1)
    reference = models.prediction_reference(rng.normal(size=3000))
    assert reference["kind"] == "numeric" and len(reference["sample"]) == 2000
    assert models.prediction_drift(rng.normal(size=800), reference).passed
    drifted = models.prediction_drift(rng.normal(loc=0.8, size=800), reference)
    assert not drifted.passed and drifted.observed["ks_pvalue"] < 0.01


def test_empty_batches_fail_and_empty_references_are_refused():
    assert not models.prediction_drift([], {"kind": "categorical", "shares": {"0": 1.0}}).passed
    with pytest.raises(ChaosConfigError, match="no predictions"):
        models.prediction_reference([])
