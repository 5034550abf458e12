"""Model-registry checks -> Detections: the alias's version, the signature, the metadata, loading and
predicting, and the registry answering in bounded time.

Pure functions over plain data, no MLflow and no Airflow: what the registry holds is read by the
Airflow layer (``MlflowHook``, ``CheckModelRegistryOperator``) and handed in as strings, dicts and
timings. Signals:

- ``registry.version``: the alias points to the expected version (a given one, or the newest version
  carrying an approval tag), e.g. after an old version was redeployed by accident;
- ``registry.metadata``: the signature is present and equal to the expected inputs; required tags,
  the description and the input example are present;
- ``model.quality``: the model behind the alias loads and predicts on a sample;
- ``registry.availability``: the registry answered within a bounded time; and, as a finding, how long
  the pipeline's own MLflow HTTP settings take to give up on a dead registry (:func:`retry_budget`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_chaos.records import Detection

#: MLflow's defaults for its HTTP retries (``mlflow.environment_variables``, MLflow 3) and urllib3's backoff cap.
MLFLOW_HTTP_DEFAULTS: dict[str, float] = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": 7,
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": 2,
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": 1.0,
    "MLFLOW_HTTP_REQUEST_TIMEOUT": 120,
}
BACKOFF_MAX_S = 120.0


def tag_rule(rule: str) -> tuple[str, str | None]:
    """``"quality=passed"`` -> ``("quality", "passed")``; ``"approved"`` -> ``("approved", None)`` (any value)."""
    key, sep, value = rule.partition("=")
    return key, (value if sep else None)


def has_tag(tags: Mapping[str, str], rule: str) -> bool:
    key, value = tag_rule(rule)
    return key in tags and (value is None or tags[key] == value)


def latest_approved(versions: Sequence[Mapping[str, Any]], approval_tag: str, below: str | None = None) -> str | None:
    """The newest version carrying ``approval_tag`` (``key`` or ``key=value``), optionally only those below ``below``.

    ``versions``: ``[{"version": "3", "tags": {...}}, ...]`` in any order.
    """
    picked = [
        int(v["version"])
        for v in versions
        if has_tag(v.get("tags") or {}, approval_tag) and (below is None or int(v["version"]) < int(below))
    ]
    return str(max(picked)) if picked else None


def alias_version(
    model: str, alias: str, found: str | None, expected: str | None, expected_from: str = "given"
) -> Detection:
    """Fails when the alias is not set, or points elsewhere than ``expected`` (None: any version will do)."""
    passed = found is not None and (expected is None or str(found) == str(expected))
    return Detection(
        check="registry_alias_version",
        signals=["registry.version"],
        passed=passed,
        observed={"model": model, "alias": alias, "found": found, "expected": expected, "expected_from": expected_from},
    )


def signature_matches(inputs: Sequence[Mapping[str, Any]] | None, expected: Mapping[str, str] | None) -> Detection:
    """Fails when the version has no signature, or (``expected`` = ``{input: MLflow type}``) its inputs differ.

    ``inputs`` is the column-based input schema (``[{"name": ..., "type": ...}]``), None without a signature.
    """
    observed: dict[str, Any] = {"present": inputs is not None}
    passed = inputs is not None
    if inputs is not None and expected is not None:
        found = {str(i.get("name")): str(i.get("type")) for i in inputs}
        missing = sorted(set(expected) - set(found))
        added = sorted(set(found) - set(expected))
        retyped = {n: {"expected": expected[n], "found": found[n]} for n in sorted(set(found) & set(expected)) if found[n] != expected[n]}
        observed.update(inputs=list(found), missing=missing, added=added, retyped=retyped)
        passed = not (missing or added or retyped)
    return Detection(check="registry_signature", signals=["registry.metadata"], passed=passed, observed=observed)


def metadata_present(
    tags: Mapping[str, str],
    description: str | None,
    required_tags: Sequence[str] = (),
    require_description: bool = False,
    input_example: bool | None = None,
) -> Detection:
    """Fails when a required tag (``key`` or ``key=value``) is missing, or the description (when required)
    or the input example (``input_example=False`` given: it was required and is absent) is missing."""
    missing_tags = [rule for rule in required_tags if not has_tag(tags, rule)]
    no_description = require_description and not (description or "").strip()
    no_example = input_example is False
    return Detection(
        check="registry_metadata",
        signals=["registry.metadata"],
        passed=not (missing_tags or no_description or no_example),
        observed={
            "missing_tags": missing_tags,
            "description_missing": bool(no_description),
            "input_example_missing": no_example,
            "tags": sorted(tags),
        },
    )


def model_predicts(uri: str, rows: int, predictions: int | None, seconds: float, error: str | None = None) -> Detection:
    """Fails when the model did not load, raised on the sample, or returned a different number of predictions."""
    passed = error is None and predictions == rows
    return Detection(
        check="model_loads_and_predicts",
        signals=["model.quality"],
        passed=passed,
        observed={"model_uri": uri, "rows": rows, "predictions": predictions, "seconds": round(seconds, 3), "error": error},
    )


def availability(elapsed_s: float, limit_s: float, error: str | None = None, settings: Mapping[str, Any] | None = None) -> Detection:
    """Fails when the registry call raised or took longer than ``limit_s``; ``settings`` are the HTTP settings it ran with."""
    return Detection(
        check="registry_availability",
        signals=["registry.availability"],
        passed=error is None and elapsed_s <= limit_s,
        observed={"elapsed_s": round(elapsed_s, 3), "limit_s": limit_s, "error": error, "settings": dict(settings or {})},
    )


def _setting(env: Mapping[str, str], name: str) -> float:
    raw = env.get(name)
    try:
        return float(raw) if raw not in (None, "") else MLFLOW_HTTP_DEFAULTS[name]
    except (TypeError, ValueError):
        return MLFLOW_HTTP_DEFAULTS[name]


def backoff_s(errors: int, factor: float, jitter: float) -> float:
    """urllib3's sleep after the ``errors``-th consecutive error (worst case: full jitter), capped at 120 s."""
    if errors <= 1:
        return 0.0
    return min(BACKOFF_MAX_S, factor * 2 ** (errors - 1) + jitter)


def retry_budget(env: Mapping[str, str]) -> dict[str, Any]:
    """How long an MLflow call takes to give up on a dead registry under the ``MLFLOW_HTTP_REQUEST_*`` settings
    in ``env`` (MLflow's defaults where unset), worst case.

    ``refused_s``: connections refused (the server is down): the backoff sleeps between the
    ``retries + 1`` attempts. ``hanging_s``: connections accepted but never answered: each attempt
    also waits the request timeout. MLflow's defaults give 249 s and 1209 s (jitter at its worst).
    """
    retries = int(_setting(env, "MLFLOW_HTTP_REQUEST_MAX_RETRIES"))
    factor = _setting(env, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")
    jitter = _setting(env, "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER")
    timeout = _setting(env, "MLFLOW_HTTP_REQUEST_TIMEOUT")
    sleeps = sum(backoff_s(k, factor, jitter) for k in range(1, retries + 1))
    return {
        "max_retries": retries,
        "backoff_factor": factor,
        "backoff_jitter": jitter,
        "timeout_s": timeout,
        "refused_s": round(sleeps, 1),
        "hanging_s": round(sleeps + (retries + 1) * timeout, 1),
        "from_environment": sorted(n for n in MLFLOW_HTTP_DEFAULTS if env.get(n) not in (None, "")),
    }


def retry_budget_finding(env: Mapping[str, str], limit_s: float | None = None) -> Detection:
    """The pipeline's own retry budget as a ``registry.availability`` finding.

    Informational (passed) unless ``limit_s`` is given and a dead registry would hold a task longer.
    """
    budget = retry_budget(env)
    return Detection(
        check="registry_retry_budget",
        signals=["registry.availability"],
        passed=limit_s is None or budget["refused_s"] <= limit_s,
        severity="warning",
        observed={**budget, "limit_s": limit_s},
    )
