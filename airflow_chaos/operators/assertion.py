"""AssertDetectedOperator: turns "was every injected fault detected?" into pass/fail, a score and a report."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_chaos import config
from airflow_chaos.exceptions import ChaosAssertionFailed, ChaosConfigError
from airflow_chaos.experiment.matrix import ExperimentPlan, judge_matrix
from airflow_chaos.experiment.verdicts import ExperimentReport, Verdict, build_report, parse_signal_weights
from airflow_chaos.operators.records import (
    REPORT_KEY,
    pull_detections,
    pull_injections,
    pull_metrics,
    redacted,
    redacted_text,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


def _task_states(context: Any, task_ids: Collection[str]) -> dict[str, str]:
    """Final state per task id; a mapped task counts as failed when any of its instances failed."""
    ti = context["ti"]
    by_run = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]) or {}
    states: dict[str, str] = {}
    for key, state in (by_run.get(ti.run_id) or {}).items():
        task_id = key if key in task_ids else key.rsplit("_", 1)[0]
        if state is None:
            continue
        if states.get(task_id) != "failed":
            states[task_id] = str(state)
    return states


DEFAULT_FAIL_ON = (Verdict.SILENT.value, Verdict.INJECTION_ERROR.value, Verdict.INCONCLUSIVE.value)


class AssertDetectedOperator(BaseOperator):
    """Collect every injection and detection of the run, decide verdicts, score, report, and fail on misses.

    Runs with ``trigger_rule="all_done"`` so it judges the run whatever happened upstream. The report
    is logged as a table and pushed as XCom (``chaos_report`` and the return value); its scorecards
    are written to ``<reports_dir>/<dag_id>/<run_id>/scorecard.json``, ``.md`` and ``.html`` (their
    paths are logged) and, when a tracking URI is configured, logged as an MLflow run.

    :param fail_on: verdicts that fail this task. Default: SILENT, INJECTION_ERROR and INCONCLUSIVE
        (the control of an experiment failed its own checks: nothing is proven).
    :param min_score: fail when the resilience score is below this (0..1); None: no threshold.
    :param task_ids: tasks to collect records from; default: every other task of the DAG.
    :param plan: the experiment a ``chaos_matrix`` DAG runs (scenarios, control, steady state, metrics);
        ``chaos_matrix`` passes it. None: one plain experiment.
    :param signal_weights: per-signal weights of the score (``{"schema": 2}`` or ``"schema=2"``); default
        ``[chaos] signal_weights``. The unweighted score stays in the report.
    :param scorecards: write the scorecard files (default True).
    :param reports_dir: where to write them; default ``[chaos] reports_dir``.
    :param mlflow_tracking_uri: log the experiment as an MLflow run there; default
        ``[chaos] mlflow_tracking_uri`` (empty: off).
    :param mlflow_experiment: that run's MLflow experiment; default ``[chaos] mlflow_experiment`` or
        ``airflow-chaos/<dag_id>``.
    """

    template_fields: Sequence[str] = ("reports_dir", "mlflow_tracking_uri", "mlflow_experiment")
    ui_color = "#f5c6cb"

    def __init__(
        self,
        *,
        fail_on: Sequence[str] = DEFAULT_FAIL_ON,
        min_score: float | None = None,
        task_ids: Sequence[str] | None = None,
        plan: ExperimentPlan | Mapping[str, Any] | None = None,
        signal_weights: Mapping[str, float] | str | None = None,
        scorecards: bool = True,
        reports_dir: str | None = None,
        mlflow_tracking_uri: str | None = None,
        mlflow_experiment: str | None = None,
        trigger_rule: str = "all_done",
        **kwargs: Any,
    ) -> None:
        super().__init__(trigger_rule=trigger_rule, **kwargs)
        allowed = [v.value for v in Verdict]
        bad = [v for v in fail_on if v not in allowed]
        if bad:
            raise ChaosConfigError(f"{self.task_id}: field 'fail_on': unknown verdict(s) {bad}; allowed: {allowed}")
        if min_score is not None and not 0 <= min_score <= 1:
            raise ChaosConfigError(f"{self.task_id}: field 'min_score' must be in [0, 1], got {min_score!r}")
        self.fail_on = tuple(fail_on)
        self.min_score = min_score
        self.task_ids = list(task_ids) if task_ids is not None else None
        self.plan = ExperimentPlan.model_validate(plan) if plan is not None else None
        self.signal_weights = (
            parse_signal_weights(signal_weights, f"{self.task_id}: field 'signal_weights'")
            if signal_weights is not None
            else None
        )
        self.scorecards = scorecards
        self.reports_dir = reports_dir
        self.mlflow_tracking_uri = mlflow_tracking_uri
        self.mlflow_experiment = mlflow_experiment

    def execute(self, context: Context) -> dict[str, Any]:
        settings = config.read_report_settings()
        report = self._report(context, settings)
        ti = context["ti"]
        from airflow_chaos.report.explain import explain

        table = "\n".join([report.table(), *explain(report)])
        self.log.info("chaos verdicts for %s / %s:\n%s", ti.dag_id, ti.run_id, redacted_text(table))
        payload: dict[str, Any] = redacted(report.to_json())
        ti.xcom_push(REPORT_KEY, payload)
        if self.scorecards:
            self._write_scorecards(ExperimentReport.model_validate(payload), settings)
        self._judge(report)
        return payload

    def _report(self, context: Context, settings: config.ReportSettings) -> ExperimentReport:
        dag, ti = context["dag"], context["ti"]
        ids = self.task_ids or [t for t in dag.task_ids if t != self.task_id]
        injections = pull_injections(context, ids)
        detections = pull_detections(context, ids)
        downstream = {t: dag.get_task(t).get_flat_relative_ids(upstream=False) for t in ids if t in dag.task_dict}
        states = _task_states(context, set(ids))
        weights = self.signal_weights if self.signal_weights is not None else settings.signal_weights
        if self.plan is None:
            return build_report(
                injections, detections, states, downstream, dag_id=ti.dag_id, run_id=ti.run_id, signal_weights=weights
            )
        plan = self.plan.model_copy(update={"signal_weights": weights})
        metrics = pull_metrics(context, ids)
        return judge_matrix(plan, injections, detections, states, downstream, metrics, dag_id=ti.dag_id, run_id=ti.run_id)

    def _write_scorecards(self, report: ExperimentReport, settings: config.ReportSettings) -> None:
        """Write the three scorecard files and log their paths; then the MLflow run, when configured.

        A report that cannot be written is logged, never a reason to fail: the verdicts decide that.
        """
        from airflow_chaos.report.files import write_scorecards

        try:
            card, files = write_scorecards(report, self.reports_dir or settings.reports_root)
        except (OSError, ImportError, ValueError) as exc:
            self.log.warning("chaos scorecards not written: %s", exc)
            return
        self.log.info("chaos scorecards:\n  %s", "\n  ".join(files.paths()))
        uri = self.mlflow_tracking_uri or settings.mlflow_tracking_uri
        if not uri:
            return
        from airflow_chaos.report.tracking import log_scorecard

        try:
            run_id = log_scorecard(card, files.paths(), uri, experiment=self.mlflow_experiment or settings.mlflow_experiment or None)
        except Exception as exc:  # noqa: BLE001 - MLflow being down must not change the verdicts
            self.log.warning("chaos scorecard not logged to MLflow at %s: %s", redacted_text(uri), redacted_text(str(exc)))
            return
        self.log.info("chaos scorecard logged to MLflow: run %s at %s", run_id, redacted_text(uri))

    def _judge(self, report: ExperimentReport) -> None:
        bad = [r for r in report.results if r.verdict.value in self.fail_on]
        problems = [f"{len(bad)} injection(s) with verdict in {list(self.fail_on)}"] if bad else []
        if self.min_score is not None and report.score is not None and report.score < self.min_score:
            problems.append(f"resilience score {report.score:.2f} < min_score {self.min_score}")
        if problems:
            listing = "\n".join(f"  {r.task_id}: {r.kind} -> {r.verdict.value} ({r.reason})" for r in bad)
            raise ChaosAssertionFailed(
                "; ".join(problems)
                + (f":\n{listing}" if listing else "")
                + f"\nFull report in XCom '{REPORT_KEY}' of task '{self.task_id}'."
            )
