"""``chaos_matrix``: one DAG that runs a pipeline once per scenario, each in its own sandbox, plus a control.

::

    def build_pipeline(sandbox):
        raw = extract(sandbox.path("raw.csv"))
        ...

    resilience = chaos_matrix(
        build_pipeline,
        scenarios={
            "nulls_age": {"prepare": faults.InjectNulls(column="age", fraction=0.3)},
            "api_500": {"extract": faults.HttpError(status=500)},
            "truncated_file": lambda sandbox: {"load": faults.TruncateFile(path=sandbox.path("raw.csv"), keep_fraction=0.5)},
        },
        control=True,
        dag_id="resilience_suite",
        schedule="@weekly",
    )

Each scenario (and the control, named ``control``) is one task group built by ``build_pipeline``
with its :class:`~airflow_chaos.experiment.matrix.Sandbox`; the scenario's faults then arm the named
tasks of its group (task ids as ``build_pipeline`` gives them, without the group prefix). The groups
do not depend on each other, so the scheduler runs them in parallel. One ``AssertDetectedOperator``
(``assert_detected``) judges them all: each scenario on its own group, the control's steady state
first (when it fails, every verdict is INCONCLUSIVE), the impact on each recorded model metric
against the control (``record_metrics``), and writes the scorecards. A ``ChaosRestoreOperator``
teardown (``chaos_restore``) undoes what the run's faults mutated.

The DAG always has ``max_active_runs=1`` and ``catchup=False``: every run reuses the same sandboxes,
so two runs at once would fault and restore each other's files, feature rows and registry aliases;
and a backlog of catch-up runs would replay the same experiment many times over, adding nothing to
the score's history but load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from airflow_chaos import config
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.experiment.matrix import (
    CONTROL,
    ExperimentPlan,
    PlannedFault,
    PlannedScenario,
    Sandbox,
    ScenarioFaults,
    check_scenario_names,
    sandbox_for,
    scenario_faults,
)
from airflow_chaos.faults.base import Fault

ASSERT_TASK = "assert_detected"
RESTORE_TASK = "chaos_restore"
_FIXED = {"max_active_runs": 1, "catchup": False}


def _check_dag_kwargs(dag_kwargs: Mapping[str, Any]) -> None:
    for name, value in _FIXED.items():
        if name in dag_kwargs and dag_kwargs[name] != value:
            raise ChaosConfigError(
                f"chaos_matrix: field {name!r} must be {value!r} (got {dag_kwargs[name]!r}): every run reuses the "
                "scenarios' sandboxes, so runs must not overlap or replay a backlog"
            )


def _arm(dag: Any, scenario: str, faults: Mapping[str, tuple[Fault, ...]], seed: int | None) -> list[PlannedFault]:
    from airflow_chaos.operators.chaos import chaos

    local = sorted(t.removeprefix(f"{scenario}.") for t in dag.task_dict if t.startswith(f"{scenario}."))
    planned = []
    for task_id, items in faults.items():
        task = dag.task_dict.get(f"{scenario}.{task_id}")
        if task is None:
            raise ChaosConfigError(
                f"chaos_matrix: scenarios[{scenario!r}]: no task {task_id!r} in the pipeline; its tasks: {', '.join(local)}"
            )
        chaos(task, *items, seed=seed)
        planned += [PlannedFault(task=task_id, fault=f.to_dict()) for f in items]
    return planned


def _check_steady_state(dag: Any, steady_state: Sequence[str]) -> list[str]:
    tasks = list(steady_state)
    missing = [t for t in tasks if f"{CONTROL}.{t}" not in dag.task_dict]
    if missing:
        local = sorted(t.removeprefix(f"{CONTROL}.") for t in dag.task_dict if t.startswith(f"{CONTROL}."))
        raise ChaosConfigError(
            f"chaos_matrix: field 'steady_state': no task(s) {missing} in the pipeline; its tasks: {', '.join(local)}"
        )
    return tasks


def chaos_matrix(
    build_pipeline: Callable[[Sandbox], Any],
    scenarios: Mapping[str, ScenarioFaults],
    control: bool = True,
    *,
    dag_id: str,
    schedule: Any = None,
    start_date: datetime | None = None,
    steady_state: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    seed: int | None = None,
    signal_weights: Mapping[str, float] | str | None = None,
    sandbox_root: str | None = None,
    restore: bool = True,
    assertion: Mapping[str, Any] | None = None,
    **dag_kwargs: Any,
) -> Any:
    """Build the experiment DAG: one task group per scenario and one for the control, then ``assert_detected``.

    :param build_pipeline: builds the pipeline's tasks for one :class:`Sandbox` (called once per
        scenario, inside its task group; its return value is ignored).
    :param scenarios: ``{name: {task_id: fault or [faults]}}``, or ``{name: function(sandbox) -> that}``
        for faults that need the sandbox's paths. Names become task group ids.
    :param control: add the control: the pipeline without faults, whose checks define the steady state.
    :param steady_state: the pipeline's tasks whose checks must pass in the control; default: every task
        of the control must end well.
    :param metrics: the recorded metrics (``record_metrics``) whose impact is reported; default all.
    :param seed: the experiment seed of every scenario's faults.
    :param signal_weights: per-signal weights of the score (default ``[chaos] signal_weights``).
    :param sandbox_root: where the scenarios' data directories are made; default ``[chaos] sandbox_root``.
    :param restore: add the ``chaos_restore`` teardown (default True).
    :param assertion: more ``AssertDetectedOperator`` arguments (``fail_on``, ``min_score``, ``reports_dir``, ...).
    :param dag_kwargs: more ``DAG`` arguments (``tags``, ``params``, ...); ``max_active_runs`` is 1 and
        ``catchup`` False, always.
    """
    from airflow.sdk import DAG, TaskGroup

    from airflow_chaos.operators.assertion import AssertDetectedOperator
    from airflow_chaos.operators.restore import ChaosRestoreOperator

    names = check_scenario_names(scenarios, control)
    _check_dag_kwargs(dag_kwargs)
    root = sandbox_root or config.read_report_settings().sandboxes_root
    dag_kwargs = {**dag_kwargs, **_FIXED, "tags": list(dag_kwargs.get("tags") or ["chaos", "resilience"])}
    start = start_date or datetime(2026, 1, 1, tzinfo=timezone.utc)
    planned: list[PlannedScenario] = []
    with DAG(dag_id=dag_id, schedule=schedule, start_date=start, **dag_kwargs) as dag:
        groups = []
        for name in ([CONTROL] if control else []) + names:
            sandbox = sandbox_for(root, dag_id, name, control=name == CONTROL and control)
            with TaskGroup(group_id=name) as group:
                build_pipeline(sandbox)
            groups.append(group)
            faults = {} if sandbox.control else scenario_faults(name, scenarios[name], sandbox)
            planned.append(
                PlannedScenario(name=name, control=sandbox.control, faults=_arm(dag, name, faults, seed), seed=seed)
            )
        plan = ExperimentPlan(
            scenarios=planned,
            steady_state=_check_steady_state(dag, steady_state) if control else [],
            metrics=list(metrics) if metrics is not None else None,
        )
        judge = AssertDetectedOperator(
            task_id=ASSERT_TASK, plan=plan, signal_weights=signal_weights, **dict(assertion or {})
        )
        for group in groups:
            group >> judge
        if restore:
            judge >> ChaosRestoreOperator(task_id=RESTORE_TASK).as_teardown()
    return dag
