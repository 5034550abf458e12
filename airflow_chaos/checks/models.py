"""Model checks -> Detections: quality on a holdout set, and the distribution of a batch's predictions.

Pure functions over arrays, no MLflow, no scikit-learn and no Airflow: the Airflow layer
(``CheckModelQualityOperator``, ``CheckPredictionsOperator``) loads the model, predicts and hands the
labels and predictions in.

- ``model.quality``: a metric on a holdout set against a threshold and/or against a reference model
  (the champion), e.g. after training on mislabeled data (``FlipLabels``) or behind a broken model.
- ``model.predictions``: a batch's predictions against reference predictions (recorded at training
  time with :func:`prediction_reference`): class shares and the population stability index for
  classes, PSI and a two-sample Kolmogorov-Smirnov test for numbers. A serving-time fault that slips
  past the registry checks (a shifted input, a broken model) still shows up here; the detection also
  carries ``distribution`` by default, as evidence about the data the model was served.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow_chaos.checks.features import ks_pvalue, population_stability_index
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.records import Detection

PREDICTION_SIGNALS = ("model.predictions", "distribution")
MAX_CLASSES = 20


# ---------------------------------------------------------------------- metrics
def _arrays(y_true: Sequence[Any], y_pred: Sequence[Any]) -> tuple[Any, Any]:
    import numpy as np

    truth, pred = np.asarray(y_true), np.asarray(y_pred)
    if truth.shape[0] != pred.shape[0]:
        raise ChaosConfigError(f"model quality: {truth.shape[0]} labels but {pred.shape[0]} predictions")
    if truth.shape[0] == 0:
        raise ChaosConfigError("model quality: the holdout set is empty")
    return truth, pred.reshape(truth.shape[0], -1)[:, 0] if pred.ndim > 1 else pred


def _f1(truth: Any, pred: Any, positive: Any) -> float:
    tp = float(((pred == positive) & (truth == positive)).sum())
    fp = float(((pred == positive) & (truth != positive)).sum())
    fn = float(((pred != positive) & (truth == positive)).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _precision(truth: Any, pred: Any, positive: Any) -> float:
    called = float((pred == positive).sum())
    return 0.0 if called == 0 else float(((pred == positive) & (truth == positive)).sum()) / called


def _recall(truth: Any, pred: Any, positive: Any) -> float:
    actual = float((truth == positive).sum())
    return 0.0 if actual == 0 else float(((pred == positive) & (truth == positive)).sum()) / actual


def _f1_macro(truth: Any, pred: Any, positive: Any) -> float:
    import numpy as np

    classes = np.unique(np.concatenate([truth, pred]))
    return float(np.mean([_f1(truth, pred, c) for c in classes]))


#: name -> (function(truth, pred, positive), higher is better)
METRICS: dict[str, tuple[Callable[[Any, Any, Any], float], bool]] = {
    "accuracy": (lambda t, p, _pos: float((t == p).mean()), True),
    "f1": (_f1, True),
    "f1_macro": (_f1_macro, True),
    "precision": (_precision, True),
    "recall": (_recall, True),
    "rmse": (lambda t, p, _pos: float((((t.astype(float) - p.astype(float)) ** 2).mean()) ** 0.5), False),
    "mae": (lambda t, p, _pos: float(abs(t.astype(float) - p.astype(float)).mean()), False),
}


def check_metric(name: str, owner: str = "model quality") -> str:
    if name not in METRICS:
        raise ChaosConfigError(f"{owner}: field 'metric': unknown metric {name!r}; allowed: {', '.join(METRICS)}")
    return name


def metric(name: str, y_true: Sequence[Any], y_pred: Sequence[Any], positive: Any = 1) -> float:
    """``name`` (see :data:`METRICS`) of predictions against labels; ``positive`` is the class f1/precision/recall score."""
    function = METRICS[check_metric(name)][0]
    truth, pred = _arrays(y_true, y_pred)
    return function(truth, pred, positive)


def quality(
    name: str,
    value: float,
    threshold: float | None = None,
    reference: float | None = None,
    max_drop: float = 0.0,
    **observed: Any,
) -> Detection:
    """Fails when ``value`` misses ``threshold`` or falls more than ``max_drop`` behind ``reference``.

    "Behind" follows the metric's direction: lower for accuracy and f1, higher for rmse and mae.
    ``observed`` is recorded as well (the version checked, the reference's version, row counts).
    """
    higher = METRICS[check_metric(name)][1]
    sign = 1.0 if higher else -1.0
    misses_threshold = threshold is not None and sign * (value - threshold) < 0
    drop = None if reference is None else sign * (reference - value)
    behind = drop is not None and drop > max_drop + 1e-12
    return Detection(
        check="model_quality",
        signals=["model.quality"],
        passed=not (misses_threshold or behind),
        observed={
            "metric": name,
            "value": round(value, 6),
            "threshold": threshold,
            "reference": None if reference is None else round(reference, 6),
            "drop": None if drop is None else round(drop, 6),
            "max_drop": max_drop,
            **observed,
        },
    )


# ---------------------------------------------------------------------- prediction distributions
def _is_categorical(values: Any, kind: str) -> bool:
    import numpy as np

    if kind != "auto":
        return kind == "categorical"
    if values.dtype.kind in ("O", "U", "S", "b"):
        return True
    return bool(values.dtype.kind in ("i", "u") and np.unique(values).size <= MAX_CLASSES)


def _flat(values: Sequence[Any]) -> Any:
    import numpy as np

    arr = np.asarray(values)
    return arr.reshape(arr.shape[0], -1)[:, 0] if arr.ndim > 1 else arr


def _shares(values: Any) -> dict[str, float]:
    import numpy as np

    classes, counts = np.unique(values.astype(str), return_counts=True)
    return {str(c): float(n) / values.size for c, n in zip(classes, counts, strict=True)}


def prediction_reference(values: Sequence[Any], kind: str = "auto", bins: int = 10, sample: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Reference statistics of predictions (JSON-safe), to compare later batches with.

    ``kind``: ``categorical`` (class shares), ``numeric`` (quantile bins, proportions and a seeded sample
    of at most ``sample`` values) or ``auto`` (integers with at most 20 distinct values, strings and
    booleans are classes).
    """
    import numpy as np

    arr = _flat(values)
    if arr.size == 0:
        raise ChaosConfigError("prediction reference: no predictions given")
    if _is_categorical(arr, kind):
        return {"kind": "categorical", "count": int(arr.size), "shares": _shares(arr)}
    numbers = arr.astype("float64")
    numbers = numbers[np.isfinite(numbers)]
    edges = np.unique(np.quantile(numbers, np.linspace(0, 1, bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, numbers, side="right"), minlength=edges.size + 1)
    picked = numbers if numbers.size <= sample else np.random.default_rng(seed).choice(numbers, size=sample, replace=False)
    return {
        "kind": "numeric",
        "count": int(numbers.size),
        "edges": edges.tolist(),
        "proportions": (counts / numbers.size).tolist(),
        "sample": np.sort(picked).tolist(),
        "mean": float(numbers.mean()),
        "std": float(numbers.std()),
    }


def _class_psi(actual: Mapping[str, float], expected: Mapping[str, float]) -> float:
    total = 0.0
    for cls in set(actual) | set(expected):
        a, e = max(actual.get(cls, 0.0), 1e-4), max(expected.get(cls, 0.0), 1e-4)
        total += (a - e) * math.log(a / e)
    return total


def prediction_drift(
    values: Sequence[Any],
    reference: Mapping[str, Any],
    psi_threshold: float = 0.2,
    ks_alpha: float = 0.01,
    max_share_shift: float = 0.1,
    signals: Sequence[str] = PREDICTION_SIGNALS,
) -> Detection:
    """A batch's predictions against :func:`prediction_reference` statistics.

    Classes: fails when a class's share moved by more than ``max_share_shift`` (absolute) or the PSI
    over classes exceeds ``psi_threshold`` (a class never seen counts). Numbers: fails when the PSI
    over the reference's quantile bins exceeds ``psi_threshold`` or the KS p-value is below ``ks_alpha``.
    """
    arr = _flat(values)
    if arr.size == 0:
        return Detection(check="prediction_drift", signals=list(signals), passed=False, observed={"error": "no predictions"})
    if reference.get("kind") == "categorical":
        shares = _shares(arr)
        expected = {str(k): float(v) for k, v in reference["shares"].items()}
        shift = {c: round(shares.get(c, 0.0) - expected.get(c, 0.0), 4) for c in sorted(set(shares) | set(expected))}
        psi = _class_psi(shares, expected)
        worst = max((abs(v) for v in shift.values()), default=0.0)
        passed = worst <= max_share_shift and psi <= psi_threshold
        observed: dict[str, Any] = {"kind": "categorical", "rows": int(arr.size), "shares": shares, "reference_shares": expected, "share_shift": shift, "max_share_shift": max_share_shift}
    else:
        numbers = [float(v) for v in arr.astype("float64") if math.isfinite(float(v))]
        psi = population_stability_index(numbers, reference["edges"], reference["proportions"])
        statistic, pvalue = ks_pvalue(numbers, reference["sample"])
        passed = psi <= psi_threshold and pvalue >= ks_alpha
        observed = {"kind": "numeric", "rows": len(numbers), "mean": sum(numbers) / max(len(numbers), 1), "reference_mean": reference.get("mean"), "ks_statistic": round(statistic, 4), "ks_pvalue": pvalue, "ks_alpha": ks_alpha}
    observed.update(psi=round(psi, 4), psi_threshold=psi_threshold)
    return Detection(check="prediction_drift", signals=list(signals), passed=passed, observed=observed)
