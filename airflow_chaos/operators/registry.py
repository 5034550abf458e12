"""Model-registry operators: check the registry, the model's quality and its predictions; roll an alias back.

Each check operator reads MLflow through :class:`~airflow_chaos.hooks.mlflow.MlflowHook`, runs the
pure checks of :mod:`airflow_chaos.checks.registry` and :mod:`airflow_chaos.checks.models`, pushes a
Detection per check (XCom ``chaos_detections``) and then raises when a critical one failed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_chaos.checks import models as model_checks
from airflow_chaos.checks import registry as checks
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.operators.features import json_or_path
from airflow_chaos.operators.records import error_text, push_detections, raise_on_critical
from airflow_chaos.records import Detection

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_chaos.hooks.mlflow import MlflowHook

MLFLOW_FIELDS: tuple[str, ...] = ("tracking_uri", "registry_uri")


class _MlflowOperator(BaseOperator):
    """Shared by the registry operators: how to reach MLflow (a connection, or URIs), and the detections' way out."""

    ui_color = "#c3e6cb"

    def __init__(
        self,
        *,
        mlflow_conn_id: str | None = "mlflow_default",
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        fail_task: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mlflow_conn_id = mlflow_conn_id
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri
        self.fail_task = fail_task

    @property
    def owner_name(self) -> str:
        return f"{type(self).__name__}({self.task_id})"

    def hook(self) -> MlflowHook:
        from airflow_chaos.hooks.mlflow import MlflowHook

        return MlflowHook(mlflow_conn_id=self.mlflow_conn_id, tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    def report(self, context: Context, detections: Sequence[Detection], subject: str) -> list[dict[str, Any]]:
        pushed = push_detections(context, detections)
        for d in pushed:
            self.log.info("check %s [%s]: %s %s", d.check, ",".join(d.signals), "passed" if d.passed else "FAILED", d.observed)
        if self.fail_task:
            raise_on_critical(pushed, self.task_id, subject=subject)
        return [d.to_json() for d in pushed]


def frame_of(data: Any, owner: str, field: str = "data") -> Any:
    """A pandas DataFrame from a DataFrame, an Arrow table, records, a dict of columns or a file path."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_pandas"):
        return data.to_pandas()
    if isinstance(data, (list, dict)):
        return pd.DataFrame(data)
    if isinstance(data, (str, Path)):
        from airflow_chaos.checks import formats

        frame, detection = formats.read_path(str(data), None)
        if frame is None:
            raise ChaosConfigError(f"{owner}: field '{field}': cannot read {data}: {detection.observed}")
        return frame
    raise ChaosConfigError(f"{owner}: field '{field}': expected a DataFrame, records, a dict of columns or a path, got {type(data).__name__}")


def features_of(frame: Any, features: Sequence[str] | None, target: str | None = None) -> Any:
    """The columns the model reads: ``features``, else every column but ``target``."""
    if features:
        return frame[list(features)]
    return frame.drop(columns=[target]) if target and target in frame.columns else frame


def as_list(predictions: Any) -> list[Any]:
    import numpy as np

    arr = np.asarray(predictions)
    return (arr.reshape(arr.shape[0], -1)[:, 0] if arr.ndim > 1 else arr).tolist()


@contextlib.contextmanager
def mlflow_http_settings(settings: Mapping[str, str]) -> Iterator[None]:
    """Set ``MLFLOW_HTTP_REQUEST_*`` for the calls inside (MLflow reads them on every call), then put them back."""
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# ====================================================================== the registry
class CheckModelRegistryOperator(_MlflowOperator):
    """Check a registered model the way a deployment relies on it; push a Detection per check.

    - ``registry_availability`` (``registry.availability``): the registry answers within ``timeout``
      seconds. This operator's own MLflow calls run with ``max_retries`` retries and a
      ``request_timeout`` (MLflow's defaults would take about 250 s to give up on a dead registry), so
      an outage is reported in seconds. When the registry does not answer, the other checks are skipped.
    - ``registry_retry_budget`` (``registry.availability``, a warning): how long the pipeline's own
      ``MLFLOW_HTTP_REQUEST_*`` settings (this task's environment) take to fail on a dead registry;
      informational unless ``max_retry_budget`` seconds is given and exceeded.
    - ``registry_alias_version`` (``registry.version``): the alias is set and points to
      ``expected_version``, or to the newest version tagged ``approval_tag`` (``key`` or ``key=value``).
    - ``registry_signature`` (``registry.metadata``): a signature is present and, with
      ``expected_signature`` (``{input: MLflow type}``), its inputs are those.
    - ``registry_metadata`` (``registry.metadata``): ``required_tags``, the description
      (``require_description``) and the input example (``require_input_example``) are present.
    - ``model_loads_and_predicts`` (``model.quality``): with a ``sample`` (a DataFrame, records or a
      path), the model behind the alias loads and returns one prediction per row.

    :param model: the registered model (templated).
    :param alias: the alias deployments use (templated).
    :param tracking_uri: MLflow tracking URI (templated); or ``mlflow_conn_id`` (a connection of type ``mlflow``).
    :param fail_task: raise :class:`ChaosDetectionFailed` when a critical check fails (default True).
    """

    template_fields: Sequence[str] = ("model", "alias", "expected_version", "sample", *MLFLOW_FIELDS)

    def __init__(
        self,
        *,
        model: str,
        alias: str = "champion",
        expected_version: str | int | None = None,
        approval_tag: str | None = None,
        expected_signature: Mapping[str, str] | None = None,
        require_signature: bool = True,
        required_tags: Sequence[str] = (),
        require_description: bool = False,
        require_input_example: bool = False,
        sample: Any = None,
        features: Sequence[str] | None = None,
        target: str | None = None,
        timeout: float = 5.0,
        max_retries: int = 0,
        request_timeout: int = 3,
        max_retry_budget: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not 0 < timeout <= 600 or not 1 <= request_timeout <= 600 or not 0 <= max_retries <= 10:
            raise ChaosConfigError(
                f"{self.owner_name}: field 'timeout' (0, 600], field 'request_timeout' [1, 600] and field 'max_retries' "
                f"[0, 10], got {timeout!r}, {request_timeout!r}, {max_retries!r}"
            )
        self.model, self.alias, self.expected_version, self.approval_tag = model, alias, expected_version, approval_tag
        self.expected_signature, self.require_signature = expected_signature, require_signature
        self.required_tags, self.require_description, self.require_input_example = tuple(required_tags), require_description, require_input_example
        self.sample, self.features, self.target = sample, features, target
        self.timeout, self.max_retries, self.request_timeout, self.max_retry_budget = timeout, max_retries, request_timeout, max_retry_budget

    @property
    def own_settings(self) -> dict[str, str]:
        """The MLflow HTTP settings of this operator's own calls."""
        return {
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(self.max_retries),
            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(self.request_timeout),
        }

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from airflow_chaos.faults.registry import load_request_header_plugins
        from airflow_chaos.hooks.mlflow import mlflow_settings

        detections = [checks.retry_budget_finding(mlflow_settings(), self.max_retry_budget)]
        hook = self.hook()
        load_request_header_plugins()  # a one-off import cost of the process, not the registry's answer time
        with mlflow_http_settings(self.own_settings):
            available = self.probe(hook)
            detections.append(available)
            if available.passed:
                detections += self.check_model(hook)
        return self.report(context, detections, subject=f"on registered model {self.model!r}: ")

    def probe(self, hook: MlflowHook) -> Detection:
        started = time.perf_counter()
        error = None
        try:
            hook.registry.client.get_registered_model(self.model)
        except Exception as exc:  # noqa: BLE001 - the registry failing is what this check reports
            error = error_text(exc)
        elapsed = time.perf_counter() - started
        return checks.availability(elapsed, self.timeout, error, {**self.own_settings, "store": hook.uris["registry_uri"].split(":", 1)[0]})

    def check_model(self, hook: MlflowHook) -> list[Detection]:
        found = hook.registry.alias_version(self.model, self.alias)
        out = [self.check_version(hook, found)]
        if found is None:
            return out
        reading = hook.version_reading(self.model, found)
        if self.require_signature or self.expected_signature:
            out.append(checks.signature_matches(reading["inputs"], self.expected_signature))
        example = reading["input_example"] if self.require_input_example else None
        out.append(checks.metadata_present(reading["tags"], reading["description"], self.required_tags, self.require_description, example))
        if self.sample is not None:
            out.append(self.check_predicts(hook, f"models:/{self.model}/{found}"))
        return out

    def check_version(self, hook: MlflowHook, found: str | None) -> Detection:
        if self.expected_version is not None:
            return checks.alias_version(self.model, self.alias, found, str(self.expected_version), "given")
        if self.approval_tag:
            expected = checks.latest_approved(hook.versions(self.model), self.approval_tag)
            return checks.alias_version(self.model, self.alias, found, expected, f"newest version tagged {self.approval_tag}")
        return checks.alias_version(self.model, self.alias, found, None, "any")

    def check_predicts(self, hook: MlflowHook, uri: str) -> Detection:
        frame = features_of(frame_of(self.sample, self.owner_name, "sample"), self.features, self.target)
        started = time.perf_counter()
        try:
            model, _version = hook.load_model(uri)
            count: int | None = len(as_list(model.predict(frame)))
            error = None
        except Exception as exc:  # noqa: BLE001 - a model that does not load or predict is what this check reports
            count, error = None, error_text(exc)
        return checks.model_predicts(uri, len(frame), count, time.perf_counter() - started, error)


# ====================================================================== quality
class CheckModelQualityOperator(_MlflowOperator):
    """Score a holdout set with a model and compare with a threshold and/or a reference model; push a ``model_quality`` Detection.

    The model is ``model_uri`` (``models:/<id>`` of a freshly logged candidate, a path), or the version
    behind ``alias`` of ``model``. ``compare_to`` is an alias of the same model (``"champion"``) or a
    model URI; the check fails when the metric misses ``threshold`` or falls more than ``max_drop``
    behind the reference. A model that does not load or predict fails the check too. The metric, the
    reference's and the versions are recorded on the Detection (and returned), so an experiment can
    report a fault's impact on the model.

    :param data: the holdout set: a DataFrame, records or a path (templated).
    :param target: the label column of ``data``.
    :param metric: accuracy, f1, f1_macro, precision, recall (``positive`` class), rmse or mae.
    """

    template_fields: Sequence[str] = ("model", "alias", "model_uri", "compare_to", "data", *MLFLOW_FIELDS)

    def __init__(
        self,
        *,
        data: Any,
        target: str = "label",
        model: str | None = None,
        alias: str = "challenger",
        model_uri: str | None = None,
        metric: str = "accuracy",
        threshold: float | None = None,
        compare_to: str | None = None,
        max_drop: float = 0.0,
        positive: Any = 1,
        features: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        model_checks.check_metric(metric, self.owner_name)
        if model_uri is None and model is None:
            raise ChaosConfigError(f"{self.owner_name}: give field 'model' (with 'alias') or field 'model_uri'")
        if threshold is None and compare_to is None:
            raise ChaosConfigError(f"{self.owner_name}: give field 'threshold' or field 'compare_to' (or both)")
        if max_drop < 0:
            raise ChaosConfigError(f"{self.owner_name}: field 'max_drop' must be >= 0, got {max_drop!r}")
        self.data, self.target, self.model, self.alias, self.model_uri = data, target, model, alias, model_uri
        self.metric, self.threshold, self.compare_to, self.max_drop = metric, threshold, compare_to, max_drop
        self.positive, self.features = positive, features

    def uri_of(self, ref: str) -> str:
        return ref if ":/" in ref or ref.startswith("/") else f"models:/{self.model}@{ref}"

    def execute(self, context: Context) -> list[dict[str, Any]]:
        hook = self.hook()
        frame = frame_of(self.data, self.owner_name)
        if self.target not in frame.columns:
            raise ChaosConfigError(f"{self.owner_name}: field 'target': {self.target!r} is not a column of the holdout set; columns: {list(frame.columns)}")
        uri = self.model_uri or self.uri_of(self.alias)
        value, version, error = self.score(hook, uri, frame)
        if error is not None:
            failed = Detection(check="model_quality", signals=["model.quality"], passed=False, observed={"metric": self.metric, "model_uri": uri, "error": error})
            return self.report(context, [failed], subject="on the model's quality: ")
        reference, ref_version = None, None
        if self.compare_to:
            reference, ref_version, ref_error = self.score(hook, self.uri_of(self.compare_to), frame)
            if ref_error is not None:
                raise ChaosConfigError(f"{self.owner_name}: field 'compare_to': the reference model failed: {ref_error}")
        assert value is not None
        detection = model_checks.quality(
            self.metric, value, self.threshold, reference, self.max_drop,
            model_uri=uri, version=version, reference_uri=self.compare_to and self.uri_of(self.compare_to), reference_version=ref_version, rows=len(frame),
        )
        return self.report(context, [detection], subject="on the model's quality: ")

    def score(self, hook: MlflowHook, uri: str, frame: Any) -> tuple[float | None, str | None, str | None]:
        """(metric, registered version, error) of the model at ``uri`` on the holdout set."""
        try:
            model, version = hook.load_model(uri)
            predictions = as_list(model.predict(features_of(frame, self.features, self.target)))
        except Exception as exc:  # noqa: BLE001 - a model that cannot score is a failed quality check
            return None, None, error_text(exc)
        return model_checks.metric(self.metric, frame[self.target].to_numpy(), predictions, self.positive), version, None


# ====================================================================== predictions
class CheckPredictionsOperator(_MlflowOperator):
    """Compare the distribution of a batch's predictions with a reference; push a ``prediction_drift`` Detection.

    Predictions come from ``predictions`` (e.g. the serving task's output), or are made here by the
    model behind ``alias`` of ``model`` (or ``model_uri``) on ``data``. ``reference`` is what
    :func:`~airflow_chaos.checks.models.prediction_reference` recorded at training time (inline or a
    JSON path). Classes: class shares and PSI; numbers: PSI and KS (see
    :func:`~airflow_chaos.checks.models.prediction_drift`). The Detection carries ``model.predictions``
    and, by default, ``distribution``: a shifted serving input shows up here even when every registry
    check passes.
    """

    template_fields: Sequence[str] = ("data", "predictions", "reference", "model", "alias", "model_uri", *MLFLOW_FIELDS)

    def __init__(
        self,
        *,
        reference: Mapping[str, Any] | str,
        data: Any = None,
        predictions: Sequence[Any] | None = None,
        model: str | None = None,
        alias: str = "champion",
        model_uri: str | None = None,
        features: Sequence[str] | None = None,
        target: str | None = None,
        psi_threshold: float = 0.2,
        ks_alpha: float = 0.01,
        max_share_shift: float = 0.1,
        signals: Sequence[str] = model_checks.PREDICTION_SIGNALS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if predictions is None and (data is None or (model is None and model_uri is None)):
            raise ChaosConfigError(f"{self.owner_name}: give field 'predictions', or field 'data' with field 'model' or field 'model_uri'")
        self.reference, self.data, self.predictions = reference, data, predictions
        self.model, self.alias, self.model_uri, self.features, self.target = model, alias, model_uri, features, target
        self.psi_threshold, self.ks_alpha, self.max_share_shift = psi_threshold, ks_alpha, max_share_shift
        self.signals = list(signals)

    def execute(self, context: Context) -> list[dict[str, Any]]:
        reference = json_or_path(self.reference, "reference", self.owner_name)
        values = self.predictions if self.predictions is not None else self.predict()
        detection = model_checks.prediction_drift(values, reference, self.psi_threshold, self.ks_alpha, self.max_share_shift, self.signals)
        return self.report(context, [detection], subject="on the predictions: ")

    def predict(self) -> list[Any]:
        uri = self.model_uri or f"models:/{self.model}@{self.alias}"
        model, _version = self.hook().load_model(uri)
        frame = features_of(frame_of(self.data, self.owner_name), self.features, self.target)
        return as_list(model.predict(frame))


# ====================================================================== rollback
class RollbackAliasOperator(_MlflowOperator):
    """Move an alias back to the last good version: the documented way out of a broken deployment.

    The target is ``to`` when given, else the newest version older than the one behind the alias that
    carries ``approval_tag`` (``key`` or ``key=value``; without one: simply the newest older version).
    By default it runs only when a task upstream failed (``trigger_rule="one_failed"``): put it after
    the quality check. Returns ``{"model", "alias", "from", "to"}``.
    """

    template_fields: Sequence[str] = ("model", "alias", "to", *MLFLOW_FIELDS)
    ui_color = "#ffe8a1"

    def __init__(
        self,
        *,
        model: str,
        alias: str = "champion",
        to: str | int | None = None,
        approval_tag: str | None = None,
        trigger_rule: str = "one_failed",
        **kwargs: Any,
    ) -> None:
        super().__init__(trigger_rule=trigger_rule, **kwargs)
        self.model, self.alias, self.to, self.approval_tag = model, alias, to, approval_tag

    def execute(self, context: Context) -> dict[str, Any]:
        hook = self.hook()
        current = hook.registry.alias_version(self.model, self.alias)
        target = self.target(hook, current)
        hook.registry.client.set_registered_model_alias(self.model, self.alias, target)
        self.log.warning("rolled back %s@%s from version %s to version %s", self.model, self.alias, current, target)
        return {"model": self.model, "alias": self.alias, "from": current, "to": target}

    def target(self, hook: MlflowHook, current: str | None) -> str:
        if self.to is not None:
            return str(hook.registry.require_version(self.model, str(self.to), "to").version)
        versions = hook.versions(self.model)
        if self.approval_tag:
            found = checks.latest_approved(versions, self.approval_tag, below=current)
        else:
            older = [v["version"] for v in versions if current is None or int(v["version"]) < int(current)]
            found = older[-1] if older else None
        if found is None:
            raise ChaosConfigError(
                f"{self.owner_name}: no version of {self.model!r} older than {current} "
                + (f"carries {self.approval_tag!r}" if self.approval_tag else "exists")
                + "; give field 'to'"
            )
        return found
