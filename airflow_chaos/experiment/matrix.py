"""Resilience experiments as a scenario matrix: scenarios, sandboxes, the control's steady state, impact.

An experiment runs one pipeline once per **scenario** (a set of faults on named tasks of the
pipeline) and once as the **control** (no faults), each in its own **sandbox**, all in one DAG run
(``airflow_chaos.operators.matrix.chaos_matrix`` builds that DAG; this module is its pure half).
After the run, :func:`judge_matrix` turns the run's records into one :class:`ExperimentReport`:

- the verdict rules per injection, each scenario judged on its own task group;
- the control's **steady state**: its declared checks (or, by default, every task of the control
  group) must pass unfaulted. When they do not, every verdict is INCONCLUSIVE: a detection of a
  pre-existing failure proves nothing;
- the **impact** of each scenario on the model: the metric it ended with minus the control's
  (both measured, from the ``chaos_metrics`` XCom of its tasks), never an estimate;
- a **shared** detection (one check credited to several faults of a scenario) is confirmed or not by
  a single-fault scenario of the same fault.

No Airflow imports (DESIGN §2).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.experiment.verdicts import (
    CAUGHT,
    UNSCORED,
    ExperimentReport,
    Impact,
    ScenarioResult,
    SteadyState,
    VerdictResult,
    check_key,
    decide_verdicts,
    inconclusive,
    score,
    summarize,
)
from airflow_chaos.faults.base import Fault
from airflow_chaos.records import Detection, Injection

#: The control scenario's name (and task group id): the pipeline without faults.
CONTROL = "control"
#: Task states a steady-state task may end in.
_FINE = frozenset({"success", "skipped"})
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


@dataclass(frozen=True)
class Sandbox:
    """Where one scenario's pipeline keeps its state, apart from every other scenario's.

    - ``data_dir``: a directory of its own (``<root>/<dag_id>/<scenario>``; the pipeline creates it);
    - ``mlflow_experiment``: the MLflow experiment its runs go to (``<dag_id>/<scenario>``);
    - ``feast_project``: its Feast project name (letters, digits and ``_`` only);
    - ``journal_namespace``: its task group id; its journal entries are labelled with task ids
      ``<journal_namespace>.<task>``, so restoring one scenario never touches another's files.
    """

    scenario: str
    dag_id: str
    data_dir: str
    mlflow_experiment: str
    feast_project: str
    journal_namespace: str
    control: bool = False

    def path(self, *parts: str) -> str:
        """A path inside ``data_dir``."""
        return os.path.join(self.data_dir, *parts)


def sandbox_for(root: str, dag_id: str, scenario: str, *, control: bool = False) -> Sandbox:
    """The sandbox of ``scenario`` of the experiment DAG ``dag_id`` under ``root``."""
    return Sandbox(
        scenario=scenario,
        dag_id=dag_id,
        data_dir=os.path.join(root, dag_id, scenario),
        mlflow_experiment=f"{dag_id}/{scenario}",
        feast_project=re.sub(r"[^A-Za-z0-9_]", "_", f"{dag_id}_{scenario}"),
        journal_namespace=scenario,
        control=control,
    )


#: What a scenario maps to: ``{task_id: fault or [faults]}``, or a function of the sandbox returning that.
ScenarioFaults = Mapping[str, Fault | Sequence[Fault]] | Callable[[Sandbox], Mapping[str, Fault | Sequence[Fault]]]


def scenario_faults(name: str, spec: Any, sandbox: Sandbox) -> dict[str, tuple[Fault, ...]]:
    """``{task_id: (faults...)}`` of one scenario, validated; a ChaosConfigError names the scenario and field."""
    owner = f"chaos_matrix: scenarios[{name!r}]"
    value = spec(sandbox) if callable(spec) else spec
    if not isinstance(value, Mapping) or not value:
        raise ChaosConfigError(
            f"{owner}: expected a mapping of task ids to faults, e.g. {{'transform': faults.InjectNulls(column='age', "
            f"fraction=0.3)}}, or a function of the sandbox returning one; got {type(value).__name__}"
        )
    out: dict[str, tuple[Fault, ...]] = {}
    for task_id, faults in value.items():
        items = (faults,) if isinstance(faults, Fault) else tuple(faults) if isinstance(faults, (list, tuple)) else ()
        if not items or not all(isinstance(f, Fault) for f in items):
            raise ChaosConfigError(f"{owner}[{task_id!r}]: expected a Fault or a list of Faults, got {faults!r:.80}")
        out[str(task_id)] = items
    return out


def check_scenario_names(names: Iterable[str], control: bool) -> list[str]:
    """The scenario names, each usable as a task group id; raises ChaosConfigError naming a bad one."""
    checked = list(names)
    if not checked:
        raise ChaosConfigError("chaos_matrix: field 'scenarios': give at least one scenario")
    for name in checked:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ChaosConfigError(
                f"chaos_matrix: field 'scenarios': scenario name {name!r} must be 1-100 letters, digits, '_' or '-' "
                "(it becomes a task group id)"
            )
        if control and name == CONTROL:
            raise ChaosConfigError(
                f"chaos_matrix: field 'scenarios': {CONTROL!r} is the control's name; rename the scenario "
                "or pass control=False"
            )
    return checked


# ---------------------------------------------------------------------- the plan the assertion judges by
class PlannedFault(BaseModel):
    task: str
    fault: dict[str, Any]


class PlannedScenario(BaseModel):
    name: str
    control: bool = False
    faults: list[PlannedFault] = Field(default_factory=list)
    seed: int | None = None


class ExperimentPlan(BaseModel):
    """What ``AssertDetectedOperator`` needs to judge a matrix run: its scenarios, steady state, metrics, weights.

    ``steady_state``: task ids inside the pipeline (``validate_raw``, not ``control.validate_raw``) whose
    checks must pass in the control; empty: every task of the control must end well. ``metrics``: the
    metric names whose impact is reported; None: every metric the control recorded.
    """

    scenarios: list[PlannedScenario]
    steady_state: list[str] = Field(default_factory=list)
    metrics: list[str] | None = None
    signal_weights: dict[str, float] = Field(default_factory=dict)

    @property
    def control(self) -> PlannedScenario | None:
        return next((s for s in self.scenarios if s.control), None)

    def scenario_of(self, task_id: str) -> str:
        """The scenario whose task group holds ``task_id`` ("" when none does)."""
        return next((s.name for s in self.scenarios if task_id.startswith(s.name + ".")), "")


# ---------------------------------------------------------------------- judging a matrix run
def steady_state(
    plan: ExperimentPlan, detections: Sequence[Detection], task_states: Mapping[str, str]
) -> SteadyState | None:
    """Whether the control passed its own checks unfaulted (None when the plan has no control)."""
    control = plan.control
    if control is None:
        return None
    prefix = control.name + "."
    declared = [prefix + t for t in plan.steady_state]
    tasks = declared or sorted(t for t in task_states if t.startswith(prefix))
    dets = [d for d in detections if d.task_id in tasks or (not declared and d.task_id.startswith(prefix))]
    failures = [f"{check_key(d)} [{','.join(d.signals)}] failed" for d in dets if not d.passed]
    failures += [f"{check_key(d)} reported a failed result" for d in dets if d.reported_failure]
    explained = {d.task_id for d in dets if not d.passed}
    for task in tasks:
        state = task_states.get(task)
        if state not in _FINE and task not in explained:
            failures.append(f"{task} {state or 'did not run'}")
    return SteadyState(
        scenario=control.name,
        passed=not failures,
        checks=list(dict.fromkeys(check_key(d) for d in dets)),
        failures=failures,
    )


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def scenario_metrics(plan: ExperimentPlan, metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """``{scenario: {metric: value}}`` from ``{task_id: {metric: value}}`` (non-numbers ignored)."""
    out: dict[str, dict[str, float]] = {s.name: {} for s in plan.scenarios}
    for task_id, values in sorted(metrics.items()):
        name = plan.scenario_of(task_id)
        if name:
            out[name].update({k: v for k, v in ((str(k), _finite(v)) for k, v in values.items()) if v is not None})
    return out


def detection_metrics(detections: Iterable[Detection]) -> dict[str, dict[str, float]]:
    """``{task_id: {metric: value}}`` from model-quality detections (``CheckModelQualityOperator`` records
    ``observed={"metric": "accuracy", "value": 0.91, ...}``): a check's metric counts for impact too."""
    out: dict[str, dict[str, float]] = {}
    for d in detections:
        name, value = d.observed.get("metric"), _finite(d.observed.get("value"))
        if "model.quality" in d.signals and isinstance(name, str) and value is not None and d.task_id:
            out.setdefault(d.task_id, {})[name] = value
    return out


def _impact(names: Iterable[str], control: Mapping[str, float], mine: Mapping[str, float]) -> list[Impact]:
    return [
        Impact(metric=m, control=control[m], scenario=mine[m], delta=mine[m] - control[m])
        for m in names
        if m in control and m in mine
    ]


def _note(missing: list[str], stopped: list[str]) -> str:
    if not missing:
        return ""
    where = f" ({', '.join(stopped)})" if stopped else ""
    return f"no {', '.join(missing)} recorded: the pipeline stopped before recording it{where}"


def _scenario_results(
    plan: ExperimentPlan,
    results: list[VerdictResult],
    metrics: Mapping[str, dict[str, float]],
    task_states: Mapping[str, str],
) -> list[ScenarioResult]:
    control = plan.control
    base = metrics.get(control.name, {}) if control else {}
    wanted = plan.metrics if plan.metrics is not None else sorted(base)
    out = []
    for s in plan.scenarios:
        mine = [r for r in results if r.scenario == s.name]
        counts: dict[str, int] = {}
        for r in mine:
            counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
        own = metrics.get(s.name, {})
        stopped = sorted(t for t, st in task_states.items() if t.startswith(s.name + ".") and st not in _FINE)
        missing = [m for m in wanted if m in base and m not in own] if not s.control else []
        out.append(
            ScenarioResult(
                name=s.name,
                control=s.control,
                faults=[f.model_dump() for f in s.faults],
                seed=s.seed,
                counts=counts,
                score=score(mine, plan.signal_weights)[0],
                metrics=own,
                impact=[] if s.control else _impact(wanted, base, own),
                note=_note(missing, stopped),
            )
        )
    return out


def _single_fault_scenarios(results: list[VerdictResult]) -> dict[str, VerdictResult]:
    """``{canonical fault: its result}`` for scenarios where exactly one fault went in."""
    by_scenario: dict[str, list[VerdictResult]] = {}
    for r in results:
        if r.scenario and r.verdict not in UNSCORED:
            by_scenario.setdefault(r.scenario, []).append(r)
    return {_fault_key(rs[0]): rs[0] for rs in by_scenario.values() if len(rs) == 1}


def _fault_key(result: VerdictResult) -> str:
    return repr(sorted((k, repr(v)) for k, v in result.fault.items()))


def _confirm_shared(results: list[VerdictResult]) -> None:
    alone = _single_fault_scenarios(results)
    for r in results:
        single = alone.get(_fault_key(r)) if r.shared else None
        if single is not None and single.scenario != r.scenario:
            r.confirmed_by, r.confirmed = single.scenario, single.verdict in CAUGHT


def judge_matrix(
    plan: ExperimentPlan,
    injections: Iterable[Injection],
    detections: Iterable[Detection],
    task_states: Mapping[str, str] | None = None,
    downstream: Mapping[str, Iterable[str]] | None = None,
    metrics: Mapping[str, Mapping[str, Any]] | None = None,
    dag_id: str = "",
    run_id: str = "",
) -> ExperimentReport:
    """The report of a matrix run: verdicts per scenario, the control's steady state, impact, attribution.

    ``metrics`` maps task ids to the ``chaos_metrics`` they recorded (``{"auc": 0.91}``); the metric of a
    model-quality detection (``CheckModelQualityOperator``) counts too.
    """
    states = dict(task_states or {})
    dets = list(detections)
    results = decide_verdicts(injections, dets, states, downstream)
    for r in results:
        r.scenario = plan.scenario_of(r.task_id)
    control = steady_state(plan, dets, states)
    if control is not None and not control.passed:
        results = inconclusive(
            results, f"the control failed its own steady state ({'; '.join(control.failures)}): nothing is proven"
        )
    _confirm_shared(results)
    recorded = detection_metrics(dets)
    for task_id, values in (metrics or {}).items():  # what a task recorded itself wins over its detections
        recorded[task_id] = {**recorded.get(task_id, {}), **values}
    by_scenario = scenario_metrics(plan, recorded)
    return summarize(
        results,
        len(dets),
        plan.signal_weights,
        dag_id=dag_id,
        run_id=run_id,
        scenarios=_scenario_results(plan, results, by_scenario, states),
        control=control,
    )
