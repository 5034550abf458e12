"""CheckFeaturesOperator: check what a Feast online store serves, and record a Detection per check."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_chaos.checks import features as checks
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.operators.records import error_text, push_detections, raise_on_critical
from airflow_chaos.records import Detection

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_chaos.hooks.feast import FeastHook


def feature_refs(features: Sequence[str], owner: str) -> list[str]:
    """``["view:feature", ...]``, refusing anything else with the field named."""
    refs = list(features)
    bad = [f for f in refs if not isinstance(f, str) or f.count(":") != 1 or not all(f.split(":"))]
    if not refs or bad:
        raise ChaosConfigError(f"{owner}: field 'features' must be a non-empty list of 'view:feature' references, got {bad or refs!r}")
    return refs


def views_of(refs: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ref.split(":")[0] for ref in refs))


def json_or_path(value: Any, field: str, owner: str) -> Any:
    """A mapping given inline, or a path to a JSON file holding it (e.g. written at training time)."""
    if value is None or isinstance(value, Mapping):
        return value
    if isinstance(value, (str, Path)):
        try:
            return json.loads(Path(value).read_text())
        except (OSError, ValueError) as exc:
            raise ChaosConfigError(f"{owner}: field '{field}': cannot read JSON from {value}: {exc}") from None
    raise ChaosConfigError(f"{owner}: field '{field}' must be a mapping or a path to a JSON file, got {type(value).__name__}")


def max_ages(hook: FeastHook, refs: Sequence[str], max_age: float | timedelta | None) -> dict[str, float]:
    """Per feature reference: ``max_age`` when given, else its view's TTL (views without a TTL are not checked)."""
    if max_age is not None:
        seconds = max_age.total_seconds() if isinstance(max_age, timedelta) else float(max_age)
        return dict.fromkeys(refs, seconds)
    ttls = {view: hook.view_ttl(view) for view in views_of(refs)}
    return {ref: ttl for ref in refs if (ttl := ttls[ref.split(":")[0]]) is not None}


def entity_ts(served: Mapping[str, Sequence[Any]], view: str, join_keys: Sequence[str]) -> dict[str, float]:
    """Per entity (JSON key), the newest event time served for any feature of ``view``."""
    from airflow_chaos.faults.features import entity_json

    columns = [k for k in served if k.startswith(f"{view}:") and k.endswith(checks.TS_SUFFIX)]
    rows = len(next(iter(served.values()), []))
    out = {}
    for i in range(rows):
        entity = entity_json({k: served[k][i] for k in join_keys})
        out[entity] = max((float(served[c][i] or 0) for c in columns), default=0.0)
    return out


class CheckFeaturesOperator(BaseOperator):
    """Check what the Feast online store serves for the features a model needs; push a Detection per check.

    Checks, each on its signal (see :mod:`airflow_chaos.checks.features`):

    - ``freshness`` (``feature.freshness``): served values at most ``max_age`` old (default: each
      view's TTL; the online store does not enforce it);
    - ``materialization`` (``feature.freshness``): the last recorded materialization interval wrote
      its rows (an entity whose source has a row in it must be served that row or a newer one);
    - ``presence`` (``feature.validity``): every feature in ``required`` (default: ``features``) is
      served and not null;
    - ``ranges`` (``feature.validity``): ``{"view:feature": (low, high)}``;
    - ``training_stats`` (``feature.skew``): statistics of the training frame
      (:func:`~airflow_chaos.checks.features.training_statistics`, inline or a JSON path): PSI and KS;
    - ``schema`` (``feature.schema``): ``{view: {feature: value type}}`` recorded at training time
      (``FeastHook.view_schema``), inline or a JSON path.

    Reading the store can itself fail (a renamed feature): that is a failed ``feature_serving``
    Detection (``feature.validity``), pushed like the others before the task raises.

    :param features: ``["view:feature", ...]`` the model reads (templated).
    :param entity_rows: the entities to read (templated); default: every entity of the first view's source.
    :param repo: a Feast repo directory or ``feature_store.yaml`` (templated); or ``feast_conn_id``.
    :param fail_task: raise :class:`ChaosDetectionFailed` when a critical check fails (default True).
    """

    template_fields: Sequence[str] = ("features", "entity_rows", "repo", "training_stats", "schema")
    ui_color = "#c3e6cb"

    def __init__(
        self,
        *,
        features: Sequence[str],
        entity_rows: Sequence[Mapping[str, Any]] | None = None,
        repo: str | None = None,
        feast_conn_id: str | None = "feast_default",
        freshness: bool = True,
        max_age: float | timedelta | None = None,
        materialization: bool = False,
        presence: bool = True,
        required: Sequence[str] | None = None,
        ranges: Mapping[str, Sequence[float]] | None = None,
        training_stats: Mapping[str, Any] | str | None = None,
        psi_threshold: float = 0.2,
        ks_alpha: float = 0.01,
        schema: Mapping[str, Mapping[str, str]] | str | None = None,
        fail_task: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = f"CheckFeaturesOperator({self.task_id})"
        if not isinstance(features, str):  # a template string renders later
            feature_refs(features, owner)
        for name, bounds in (ranges or {}).items():
            if len(bounds) != 2 or float(bounds[0]) > float(bounds[1]):
                raise ChaosConfigError(f"{owner}: field 'ranges': {name!r} needs (low, high) with low <= high, got {bounds!r}")
        self.features = features
        self.entity_rows = entity_rows
        self.repo = repo
        self.feast_conn_id = feast_conn_id
        self.freshness, self.max_age, self.materialization = freshness, max_age, materialization
        self.presence, self.required, self.ranges = presence, required, dict(ranges or {})
        self.training_stats, self.psi_threshold, self.ks_alpha = training_stats, psi_threshold, ks_alpha
        self.schema = schema
        self.fail_task = fail_task

    def hook(self) -> FeastHook:
        from airflow_chaos.hooks.feast import FeastHook

        return FeastHook(feast_conn_id=self.feast_conn_id, repo=self.repo)

    def execute(self, context: Context) -> list[dict[str, Any]]:
        owner = f"CheckFeaturesOperator({self.task_id})"
        refs = feature_refs(self.features, owner)
        hook = self.hook()
        detections = self.check_schema(hook, owner)
        served, failure = self.read(hook, refs)
        if failure is not None:
            detections.append(failure)
        else:
            detections += self.check_served(hook, refs, served, owner)
        pushed = push_detections(context, detections)
        for d in pushed:
            self.log.info("check %s [%s]: %s %s", d.check, ",".join(d.signals), "passed" if d.passed else "FAILED", d.observed)
        if self.fail_task:
            raise_on_critical(pushed, self.task_id, subject="on the served features: ")
        return [d.to_json() for d in pushed]

    def read(self, hook: FeastHook, refs: Sequence[str]) -> tuple[dict[str, list[Any]], Detection | None]:
        rows = list(self.entity_rows) if self.entity_rows is not None else hook.entity_rows(views_of(refs)[0])
        try:
            return hook.served(refs, rows), None
        except Exception as exc:  # noqa: BLE001 - serving failing is what this check reports
            return {}, Detection(
                check="feature_serving", signals=["feature.validity"], passed=False, observed={"error": error_text(exc), "features": list(refs)}
            )

    def check_schema(self, hook: FeastHook, owner: str) -> list[Detection]:
        recorded = json_or_path(self.schema, "schema", owner)
        return [checks.schema_matches(hook.view_schema(view), fields, view) for view, fields in (recorded or {}).items()]

    def check_served(self, hook: FeastHook, refs: Sequence[str], served: Mapping[str, Sequence[Any]], owner: str) -> list[Detection]:
        out: list[Detection] = []
        if self.freshness:
            out.append(checks.freshness(served, max_ages(hook, refs, self.max_age), time.time()))
        if self.materialization:
            out += [self.check_materialization(hook, view, served) for view in views_of(refs)]
        if self.presence:
            out.append(checks.presence(served, list(self.required or refs)))
        if self.ranges:
            out.append(checks.value_ranges(served, self.ranges))
        stats = json_or_path(self.training_stats, "training_stats", owner)
        if stats:
            out.append(checks.skew(served, stats, self.psi_threshold, self.ks_alpha))
        return out

    def check_materialization(self, hook: FeastHook, view: str, served: Mapping[str, Sequence[Any]]) -> Detection:
        interval, expected = hook.last_materialization(view)
        join_keys = [c.name for c in hook.view(view).entity_columns]
        return checks.materialization_written(expected, entity_ts(served, view, join_keys), interval)
