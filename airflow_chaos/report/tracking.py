"""Every experiment as an MLflow run, so a scheduled suite's score history is a chart in the MLflow UI.

One run per scorecard, in the MLflow experiment ``experiment`` (default ``airflow-chaos/<dag_id>``):

- params: each scenario's faults and seed (``<scenario>.faults``, ``<scenario>.seed``; outside a matrix
  ``faults`` and ``seeds``), the signal weights;
- metrics: ``score``, ``unweighted_score``, ``score.<signal>``, ``count.<VERDICT>``,
  ``impact.<scenario>.<metric>`` (scenario minus control), ``time_to_detect.<row>`` in seconds;
- artifacts: the three scorecard files; tags: ``dag_id``, ``run_id``, ``control_passed``.

Off unless a tracking URI is given (``[chaos] mlflow_tracking_uri``). MLflow is an optional extra
(``pip install 'airflow-chaos[mlflow]'``), imported only here. A local ``sqlite:///`` store with no
artifact location keeps artifacts in an ``artifacts`` directory beside the database (not in the
worker's working directory). No Airflow imports (DESIGN §2).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow_chaos.lazy import require_extra
from airflow_chaos.report.suggestions import fault_label

if TYPE_CHECKING:
    from airflow_chaos.experiment.verdicts import VerdictResult
    from airflow_chaos.report.scorecard import Scorecard

PARAM_CHARS = 6000  # MLflow's limit on a param value
MAX_BATCH_METRICS, MAX_BATCH_PARAMS = 1000, 100  # MLflow's limits per log_batch call
_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


def _key(text: str) -> str:
    return _KEY.sub("_", text)[:250]


def experiment_name(dag_id: str) -> str:
    return f"airflow-chaos/{dag_id}"


def _faults_param(results: Iterable[VerdictResult]) -> str:
    return "; ".join(f"{r.task_id}: {fault_label(r.kind, r.fault)}" for r in results)[:PARAM_CHARS]


def scorecard_params(card: Scorecard) -> dict[str, str]:
    if not card.scenarios:
        return {
            "faults": _faults_param(card.results),
            "seeds": ",".join(str(r.seed) for r in card.results)[:PARAM_CHARS],
        }
    params: dict[str, str] = {}
    for s in card.scenarios:
        mine = [r for r in card.results if r.scenario == s.name]
        params[_key(f"{s.name}.faults")] = _faults_param(mine) or "none (control)"
        params[_key(f"{s.name}.seed")] = str(s.seed)
    if card.signal_weights:
        params["signal_weights"] = ",".join(f"{k}={v:g}" for k, v in sorted(card.signal_weights.items()))
    return params


def scorecard_metrics(card: Scorecard) -> dict[str, float]:
    metrics: dict[str, float] = {f"count.{k}": float(v) for k, v in card.counts.items()}
    if card.score is not None:
        metrics["score"] = card.score
    if card.unweighted_score is not None:
        metrics["unweighted_score"] = card.unweighted_score
    metrics.update({_key(f"score.{s}"): v for s, v in card.score_by_signal.items() if v is not None})
    for s in card.scenarios:
        metrics.update({_key(f"impact.{s.name}.{i.metric}"): i.delta for i in s.impact})
    for index, r in enumerate(card.results):
        if r.time_to_detect_s is not None:
            where = r.task_id if r.scenario else f"{index}.{r.task_id}"
            metrics[_key(f"time_to_detect.{where}.{r.kind}")] = r.time_to_detect_s
    return metrics


def default_artifact_location(tracking_uri: str) -> str | None:
    """Artifacts beside a ``sqlite:///`` store (MLflow's default is ``./mlruns`` of the current
    working directory); None for any other store (a tracking server keeps its own artifact root)."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = tracking_uri.removeprefix("sqlite:///")
    return os.path.join(os.path.dirname(os.path.abspath(database)), "artifacts")


def _experiment_id(client: Any, name: str, tracking_uri: str, artifact_location: str | None) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    if artifact_location is None:
        artifact_location = default_artifact_location(tracking_uri)
    return str(client.create_experiment(name, artifact_location=artifact_location))


def log_scorecard(
    card: Scorecard,
    files: Iterable[str],
    tracking_uri: str,
    *,
    experiment: str | None = None,
    artifact_location: str | None = None,
) -> str:
    """Log ``card`` and its ``files`` as one MLflow run; returns the run id."""
    require_extra("mlflow", "mlflow", "logging scorecards to MLflow")
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_id = _experiment_id(client, experiment or experiment_name(card.dag_id), tracking_uri, artifact_location)
    control = "none" if card.control is None else str(card.control.passed).lower()
    tags = {"dag_id": card.dag_id, "run_id": card.run_id, "control_passed": control, "schema_version": card.schema_version}
    run = client.create_run(experiment_id, run_name=card.run_id, tags=tags)
    run_id = str(run.info.run_id)
    stamp = int(card.generated_at.timestamp() * 1000)
    metrics = [Metric(k, float(v), stamp, 0) for k, v in scorecard_metrics(card).items()]
    params = [Param(k, v) for k, v in scorecard_params(card).items()]
    try:
        client.log_batch(run_id, tags=[RunTag("mlflow.source.name", "airflow-chaos")])
        for start in range(0, len(metrics), MAX_BATCH_METRICS):
            client.log_batch(run_id, metrics=metrics[start : start + MAX_BATCH_METRICS])
        for start in range(0, len(params), MAX_BATCH_PARAMS):
            client.log_batch(run_id, params=params[start : start + MAX_BATCH_PARAMS])
        for path in files:
            client.log_artifact(run_id, path)
    except Exception:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return run_id
