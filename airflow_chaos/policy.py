"""The cluster policy that applies a chaos plan to existing DAGs when Airflow parses them.

Installed through the ``airflow.policy`` entry point (``pyproject.toml``), so every Airflow process
that bags DAGs (the DAG processor, each task's runner, ``airflow dags test``, ``dag.test()``) calls
:func:`task_policy` for every task. It does nothing unless ``[chaos] enabled`` is True, ``[chaos] plan``
names a plan file (a path or an ``ObjectStoragePath`` URL) and ``[chaos] environment`` is allowed.
Then the tasks the plan's experiments select are armed in place, exactly as ``chaos()`` arms them
(same class name and module, same serialized DAG), with the plan's faults recorded as coming from
``plan:<file>#<experiment>``. A task armed in code too keeps its own faults and gets the plan's.

Cost: on the first task of each DAG the policy reads four environment variables (the settings they
select are cached), checks the plan's version (local files: modification time and size; URLs: at
most every :data:`URL_RECHECK_SECONDS`), parses the plan only when that changed, and works out which
tasks of the DAG are armed; every other task costs an identity check and a dictionary lookup
(``bench/plan.py``).
``airflow_local_settings`` can define its own ``task_policy``: Airflow calls both.

An invalid plan fails loudly: the policy raises the plan's errors (file, line, field), and Airflow
reports them as an import error of each DAG file parsed while the plan is broken.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from airflow_chaos.exceptions import ChaosConfigError

if TYPE_CHECKING:
    from airflow_chaos.plans import CompiledExperiment, LoadedPlan

log = logging.getLogger(__name__)

# airflow.policies.hookimpl, made here: importing Airflow from this module would load Airflow's settings,
# which load this module's entry point while it is still half imported (and find no hook in it)
hookimpl = pluggy.HookimplMarker("airflow.policy")

#: The settings the policy reads, as environment variables: a change of any of them is seen at once.
SETTINGS_ENV = (
    "AIRFLOW__CHAOS__ENABLED",
    "AIRFLOW__CHAOS__PLAN",
    "AIRFLOW__CHAOS__ENVIRONMENT",
    "AIRFLOW__CHAOS__ALLOWED_ENVIRONMENTS",
)
URL_RECHECK_SECONDS = 30.0


class _Last:
    """The DAG the policy saw last and what the plan arms in it (``bag_dag`` goes task after task, DAG after DAG)."""

    dag: Any = None
    picks: dict[str, tuple[CompiledExperiment, ...]] = {}  # replaced, never mutated


@hookimpl
def task_policy(task: Any) -> None:
    """Arm ``task`` with the faults of every experiment of the active plan that selects it.

    The settings and the plan are looked at once per DAG, on its first task; the other tasks cost an
    identity check and a dictionary lookup.
    """
    dag = task.dag
    if dag is not _Last.dag:
        _Last.dag, _Last.picks = None, {}
        applier = _applier()
        _Last.picks = applier.picks(dag) if applier is not None else {}
        _Last.dag = dag
    experiments = _Last.picks.get(task.task_id)
    if experiments:
        arm(task, experiments)


# ---------------------------------------------------------------------- which plan is active
_appliers: dict[tuple[str | None, ...], _Applier | None] = {}


def _applier() -> _Applier | None:
    get = os.environ.get
    key = (get(SETTINGS_ENV[0]), get(SETTINGS_ENV[1]), get(SETTINGS_ENV[2]), get(SETTINGS_ENV[3]))
    try:
        return _appliers[key]
    except KeyError:
        pass
    applier = _appliers[key] = _active_settings()
    return applier


def _active_settings() -> _Applier | None:
    """The plan to apply under the current ``[chaos]`` settings, or None (disabled, no plan, guarded)."""
    from airflow_chaos import config

    if not config.chaos_enabled():
        return None
    location = config.plan_location()
    if not location:
        return None
    guard = config.read_environment()
    if not guard.environment_allowed:
        log.info(
            "chaos plan %s not applied: environment %r not in allowed_environments %s",
            location,
            guard.environment,
            list(guard.allowed_environments),
        )
        return None
    return _Applier(location, guard.environment)


def _version(location: str) -> tuple[Any, ...]:
    """What changes when the plan file changes: modification time and size (or a URL's metadata)."""
    if "://" not in location or location.startswith("file://"):
        try:
            st = os.stat(location.removeprefix("file://"))
        except OSError as exc:
            raise ChaosConfigError(f"[chaos] plan: cannot read the plan file {location!r}: {exc.strerror}") from None
        return (st.st_mtime_ns, st.st_size)
    try:
        path = _object_path(location)
        info = path.fs.info(path.path)
    except Exception as exc:  # noqa: BLE001 - any storage failure is a plan that cannot be read
        raise ChaosConfigError(f"[chaos] plan: cannot read the plan file {location!r}: {exc}") from None
    return tuple(str(info.get(k)) for k in ("mtime", "LastModified", "updated", "ETag", "size"))


def _object_path(location: str) -> Any:
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(location)


def load(location: str) -> LoadedPlan:
    """Read and validate the plan at ``location``; raises :class:`~airflow_chaos.plans.PlanError`."""
    from airflow_chaos.plans import parse_bytes, read_plan

    if "://" in location and not location.startswith("file://"):
        try:
            data = _object_path(location).read_bytes()
        except Exception as exc:  # noqa: BLE001 - any storage failure is a plan that cannot be read
            raise ChaosConfigError(f"[chaos] plan: cannot read the plan file {location!r}: {exc}") from None
        return parse_bytes(data, location)
    return read_plan(location.removeprefix("file://"))


class _Applier:
    """Applies one plan location under one environment; caches the plan by its version."""

    def __init__(self, location: str, environment: str) -> None:
        self.location = location
        self.environment = environment
        self.recheck = URL_RECHECK_SECONDS if "://" in location and not location.startswith("file://") else 0.0
        self.checked = float("-inf")
        self.version: tuple[Any, ...] | None = None
        self.loaded: LoadedPlan | ChaosConfigError | None = None

    def picks(self, dag: Any) -> dict[str, tuple[CompiledExperiment, ...]]:
        found = select(self.plan(), dag, self.environment)
        if found:
            log.info("chaos plan %s arms %s: %s", self.location, dag.dag_id, describe_picks(found))
        return found

    def plan(self) -> LoadedPlan:
        now = time.monotonic()
        if self.loaded is None or now - self.checked >= self.recheck:
            self.checked = now
            version = _version(self.location)
            if version != self.version or self.loaded is None:
                self.version = version
                try:
                    self.loaded = load(self.location)
                except ChaosConfigError as exc:
                    self.loaded = exc
        if isinstance(self.loaded, ChaosConfigError):
            raise self.loaded
        return self.loaded


# ---------------------------------------------------------------------- selecting and arming
_names: dict[type, tuple[str, ...]] = {}


def operator_names(task: Any) -> tuple[str, ...]:
    """The names an ``operator`` selector matches: class name, dotted path, operator name (``@task``)."""
    cls = type(task)
    try:
        return _names[cls]
    except KeyError:
        names = _names[cls] = (
            cls.__name__,
            f"{cls.__module__}.{cls.__qualname__}",
            str(getattr(task, "operator_name", cls.__name__)),
        )
        return names


def armable(task: Any) -> bool:
    """Whether the policy can arm ``task`` in place (a mapped task cannot: use ``@task.chaos``)."""
    from airflow.sdk import BaseOperator

    return isinstance(task, BaseOperator)


def select(plan: LoadedPlan, dag: Any, environment: str) -> dict[str, tuple[CompiledExperiment, ...]]:
    """``{task_id: experiments}``: the tasks of ``dag`` the plan arms in ``environment``, with what.

    Shared by the policy and ``airflow-chaos plan preview``, so the preview shows what parsing does.
    """
    dag_id, tags = dag.dag_id, dag.tags or ()
    live = [e for e in plan.experiments if e.applies_in(environment) and e.selects_dag(dag_id, tags)]
    if not live:
        return {}
    picks: dict[str, list[CompiledExperiment]] = {}
    for experiment in live:
        chosen = [
            t.task_id for t in dag.tasks if experiment.selects_task(t.task_id, operator_names(t)) and armable(t)
        ]
        for task_id in experiment.capped(dag_id, chosen):
            picks.setdefault(task_id, []).append(experiment)
    return {task_id: tuple(found) for task_id, found in picks.items()}


def arm(task: Any, experiments: Sequence[CompiledExperiment]) -> None:
    """Arm ``task`` with each experiment's faults, once: parsing the same task again adds nothing."""
    from airflow_chaos.operators.chaos import ChaosArm, attach

    existing: ChaosArm | None = getattr(task, "_chaos_arm", None)
    armed = set(existing.sources) if existing is not None else set()
    for compiled in experiments:
        if compiled.source in armed:
            continue
        e = compiled.experiment
        arm = ChaosArm(
            tuple(e.faults),
            probability=e.probability,
            seed=e.seed,
            dry_run=e.dry_run,
            max_fraction=e.max_fraction,
            source=compiled.source,
            gate=compiled.gate,
        )
        attach(task, arm)
        armed.add(compiled.source)


def describe_picks(picks: dict[str, tuple[CompiledExperiment, ...]]) -> str:
    return ", ".join(f"{t} ({', '.join(e.experiment.name for e in exps)})" for t, exps in sorted(picks.items()))


def reset() -> None:
    """Forget the cached settings and plans (tests; a long-lived process whose airflow.cfg changed)."""
    _appliers.clear()
    _Last.dag, _Last.picks = None, {}
