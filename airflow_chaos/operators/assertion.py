"""AssertDetectedOperator: turns "was every injected fault detected?" into pass/fail, a score and a report."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_chaos.exceptions import ChaosAssertionFailed, ChaosConfigError
from airflow_chaos.experiment.verdicts import ExperimentReport, Verdict, build_report
from airflow_chaos.operators.records import REPORT_KEY, pull_detections, pull_injections, redacted, redacted_text

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


class AssertDetectedOperator(BaseOperator):
    """Collect every injection and detection of the run, decide verdicts, score, report, and fail on misses.

    Runs with ``trigger_rule="all_done"`` so it judges the run whatever happened upstream. The report
    is logged as a table and pushed as XCom (``chaos_report`` and the return value).

    :param fail_on: verdicts that fail this task. Default: SILENT and INJECTION_ERROR.
    :param min_score: fail when the resilience score is below this (0..1); None: no threshold.
    :param task_ids: tasks to collect records from; default: every other task of the DAG.
    """

    ui_color = "#f5c6cb"

    def __init__(
        self,
        *,
        fail_on: Sequence[str] = (Verdict.SILENT.value, Verdict.INJECTION_ERROR.value),
        min_score: float | None = None,
        task_ids: Sequence[str] | None = None,
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

    def execute(self, context: Context) -> dict[str, Any]:
        dag = context["dag"]
        ids = self.task_ids or [t for t in dag.task_ids if t != self.task_id]
        injections = pull_injections(context, ids)
        detections = pull_detections(context, ids)
        downstream = {t: dag.get_task(t).get_flat_relative_ids(upstream=False) for t in ids if t in dag.task_dict}
        ti = context["ti"]
        report = build_report(
            injections, detections, _task_states(context, set(ids)), downstream, dag_id=ti.dag_id, run_id=ti.run_id
        )
        self.log.info("chaos verdicts for %s / %s:\n%s", ti.dag_id, ti.run_id, redacted_text(report.table()))
        payload: dict[str, Any] = redacted(report.to_json())
        ti.xcom_push(REPORT_KEY, payload)
        self._judge(report)
        return payload

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
