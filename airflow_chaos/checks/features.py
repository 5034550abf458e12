"""Feature-store checks -> Detections: freshness, rows written, presence, ranges, skew, schema.

Pure functions over plain data, no Feast and no Airflow: the served features are the dict
``get_online_features(...).to_dict(include_event_timestamps=True)`` returns (``{feature: [values],
feature + "__ts": [epoch seconds, 0 when absent], join_key: [...]}``), statistics of the training
frame come from :func:`training_statistics` (JSON, computed once at training time), schemas are
``{feature: value type name}``. The Airflow layer (``CheckFeaturesOperator``, ``FeatureFreshnessSensor``)
fetches those and calls these.

Signals: ``feature.freshness`` (served values older than the view's TTL or ``max_age``; a
materialization that recorded an interval but wrote no rows), ``feature.validity`` (a feature the
model needs is missing or null; values out of range), ``feature.skew`` (serving vs training: PSI and
a two-sample Kolmogorov-Smirnov test), ``feature.schema`` (the view's schema against the one
recorded at training time). The online store does not enforce TTL: staleness is silent without these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_chaos.records import Detection

TS_SUFFIX = "__ts"
Served = Mapping[str, Sequence[Any]]


def served_features(served: Served) -> list[str]:
    """The feature names in a served dict (those with an ``__ts`` column)."""
    return [k for k in served if not k.endswith(TS_SUFFIX) and f"{k}{TS_SUFFIX}" in served]


def column(served: Served, ref: str) -> Sequence[Any] | None:
    """The served values of ``ref`` (``"view:feature"`` or a bare ``"feature"`` matching one served column)."""
    if ref in served:
        return served[ref]
    name = ref.split(":")[-1]
    if name in served:
        return served[name]
    matches = [k for k in served if k.split(":")[-1] == name and not k.endswith(TS_SUFFIX)]
    return served[matches[0]] if len(matches) == 1 else None


def _limit(limits: float | Mapping[str, float], feature: str) -> float | None:
    if isinstance(limits, Mapping):
        value = limits.get(feature, limits.get(feature.split(":")[-1]))
        return None if value is None else float(value)
    return float(limits)


def freshness(served: Served, max_age: float | Mapping[str, float], now: float) -> Detection:
    """Fails when any served value is older than ``max_age`` seconds (one number, or per feature).

    Ages come from the served event timestamps; values absent from the store (timestamp 0) are not
    stale, they are missing (see :func:`presence`).
    """
    per_feature: dict[str, Any] = {}
    stale_total = 0
    for feature in served_features(served):
        limit = _limit(max_age, feature)
        if limit is None:
            continue
        ages = [now - float(ts) for ts in served[f"{feature}{TS_SUFFIX}"] if ts]
        stale = sum(age > limit for age in ages)
        stale_total += stale
        per_feature[feature] = {
            "rows": len(ages),
            "stale": stale,
            "oldest_age_s": round(max(ages), 1) if ages else None,
            "max_age_s": limit,
        }
    return Detection(
        check="feature_freshness",
        signals=["feature.freshness"],
        passed=stale_total == 0,
        observed={"stale_rows": stale_total, "features": per_feature},
    )


feature_freshness = freshness  # the name the catalogue uses (``checks.feature_freshness``)


def materialization_written(
    expected: Mapping[str, float], served_ts: Mapping[str, float], interval: tuple[float, float] | None
) -> Detection:
    """Did the last materialization write its rows, not only record its interval?

    ``expected``: per entity, the event time of its latest source row inside the last recorded
    interval (entities without one are left out); ``served_ts``: per entity, the event time online.
    Fails when an entity's online row is older than its source row in the interval: the interval was
    recorded (the watermark advanced) while the row never reached the store.
    """
    missing = sorted(e for e, ts in expected.items() if float(served_ts.get(e) or 0) < float(ts))
    return Detection(
        check="materialization_written",
        signals=["feature.freshness"],
        passed=not missing,
        observed={
            "interval": list(interval) if interval else None,
            "entities_expected": len(expected),
            "entities_not_written": len(missing),
            "examples": missing[:5],
        },
    )


def presence(served: Served, required: Sequence[str], max_missing_fraction: float = 0.0) -> Detection:
    """Fails when a feature the model needs is not served, or is null for more than ``max_missing_fraction``."""
    absent, mostly_null = [], {}
    for ref in required:
        found = column(served, ref)
        if found is None:
            absent.append(ref)
            continue
        values = list(found)
        nulls = sum(v is None for v in values)
        if values and nulls / len(values) > max_missing_fraction:
            mostly_null[ref] = round(nulls / len(values), 4)
    return Detection(
        check="feature_presence",
        signals=["feature.validity"],
        passed=not absent and not mostly_null,
        observed={"absent": absent, "null_fraction": mostly_null, "required": list(required)},
    )


def value_ranges(served: Served, ranges: Mapping[str, tuple[float, float] | Sequence[float]]) -> Detection:
    """Fails when any served value lies outside its ``(low, high)`` range (nulls are not counted here)."""
    out_of_range: dict[str, Any] = {}
    for ref, bounds in ranges.items():
        low, high = float(bounds[0]), float(bounds[1])
        values = [float(v) for v in (column(served, ref) or ()) if v is not None]
        bad = [v for v in values if not low <= v <= high]
        if bad:
            out_of_range[ref] = {"rows": len(bad), "of": len(values), "min": min(bad), "max": max(bad), "range": [low, high]}
    return Detection(
        check="feature_ranges",
        signals=["feature.validity"],
        passed=not out_of_range,
        observed={"out_of_range": out_of_range, "checked": sorted(ranges)},
    )


# ---------------------------------------------------------------------- skew
def training_statistics(
    frame: Any, features: Sequence[str], bins: int = 10, sample: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Statistics of the training frame that serving is later compared with (JSON-safe).

    Per feature: quantile bin edges and the training proportion in each bin (for PSI), a seeded
    sample of at most ``sample`` values (for the KS test), count, mean, std, min and max.
    ``frame`` is anything indexable by column name (a pandas DataFrame, a dict of lists).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for feature in features:
        values = np.asarray(frame[feature], dtype="float64")
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
        counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)
        picked = values if values.size <= sample else rng.choice(values, size=sample, replace=False)
        out[feature] = {
            "edges": edges.tolist(),
            "proportions": (counts / values.size).tolist(),
            "sample": np.sort(picked).tolist(),
            "count": int(values.size),
            "mean": float(values.mean()),
            "std": float(values.std()),
            "min": float(values.min()),
            "max": float(values.max()),
        }
    return out


def population_stability_index(values: Sequence[float], edges: Sequence[float], proportions: Sequence[float]) -> float:
    """PSI of ``values`` against the training bins: sum((a - e) * ln(a / e)), proportions floored at 1e-4."""
    import numpy as np

    arr = np.asarray(values, dtype="float64")
    counts = np.bincount(np.searchsorted(np.asarray(edges), arr, side="right"), minlength=len(proportions))
    actual = np.maximum(counts / max(arr.size, 1), 1e-4)
    expected = np.maximum(np.asarray(proportions, dtype="float64"), 1e-4)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_pvalue(values: Sequence[float], reference: Sequence[float]) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value: scipy's when it is installed (it comes with the
    ``mlflow`` extra, not with ``feast``), else :func:`ks_asymptotic`."""
    try:
        from scipy.stats import ks_2samp
    except ImportError:
        return ks_asymptotic(values, reference)
    result = ks_2samp(values, reference)
    return float(result.statistic), float(result.pvalue)


def ks_asymptotic(values: Sequence[float], reference: Sequence[float]) -> tuple[float, float]:
    """KS statistic (exact) and its asymptotic p-value (Kolmogorov distribution, Stephens' correction), numpy only."""
    import numpy as np

    a, b = np.sort(np.asarray(values, dtype="float64")), np.sort(np.asarray(reference, dtype="float64"))
    grid = np.concatenate([a, b])
    statistic = float(np.max(np.abs(np.searchsorted(a, grid, side="right") / a.size - np.searchsorted(b, grid, side="right") / b.size)))
    en = math.sqrt(a.size * b.size / (a.size + b.size))
    lam = (en + 0.12 + 0.11 / en) * statistic
    k = np.arange(1, 101)
    pvalue = float(np.clip(2 * np.sum((-1.0) ** (k - 1) * np.exp(-2 * k**2 * lam**2)), 0.0, 1.0)) if lam > 0 else 1.0
    return statistic, pvalue


def skew(served: Served, stats: Mapping[str, Any], psi_threshold: float = 0.2, ks_alpha: float = 0.01) -> Detection:
    """Serving vs training: fails when a feature's PSI exceeds ``psi_threshold`` or its KS p-value is below ``ks_alpha``."""
    per_feature: dict[str, Any] = {}
    skewed: list[str] = []
    not_served: list[str] = []
    for feature, st in stats.items():
        found = column(served, feature)
        if found is None:
            not_served.append(feature)
            continue
        values = [float(v) for v in found if v is not None and math.isfinite(float(v))]
        if not values:
            continue
        psi = population_stability_index(values, st["edges"], st["proportions"])
        statistic, pvalue = ks_pvalue(values, st["sample"])
        bad = psi > psi_threshold or pvalue < ks_alpha
        if bad:
            skewed.append(feature)
        per_feature[feature] = {
            "psi": round(psi, 4),
            "ks_statistic": round(statistic, 4),
            "ks_pvalue": pvalue,
            "served_mean": sum(values) / len(values),
            "training_mean": st["mean"],
            "rows": len(values),
        }
    return Detection(
        check="feature_skew",
        signals=["feature.skew"],
        passed=not skewed and not not_served,
        observed={"skewed": skewed, "not_served": not_served, "psi_threshold": psi_threshold, "ks_alpha": ks_alpha, "features": per_feature},
    )


def schema_matches(current: Mapping[str, str], recorded: Mapping[str, str], view: str = "") -> Detection:
    """The view's schema now against the one recorded at training time: fields missing, added or retyped."""
    missing = sorted(set(recorded) - set(current))
    added = sorted(set(current) - set(recorded))
    retyped = {f: {"recorded": recorded[f], "now": current[f]} for f in sorted(set(current) & set(recorded)) if current[f] != recorded[f]}
    return Detection(
        check="feature_schema",
        signals=["feature.schema"],
        passed=not missing and not added and not retyped,
        observed={"view": view, "missing": missing, "added": added, "retyped": retyped},
    )
