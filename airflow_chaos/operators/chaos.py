"""The chaos wrapper: arm an existing operator in place so its execute injects faults.

``chaos(task, *faults)`` swaps the task's class for a cached subclass with the same name and module
whose ``execute`` runs the original inside an experiment. The DAG's shape, the task's type in the UI
and its serialized form do not change. Class swapping (rather than an instance attribute) survives
the copy Airflow makes of a task before it runs.

When ``[chaos] enabled`` is False the armed ``execute`` is one dictionary lookup plus the original
call. When enabled, each armed fault is decided by the safety guard, applied in its phase, and the
injection records are pushed as the ``chaos_injections`` XCom, also when the task raises.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_chaos import config
from airflow_chaos.exceptions import ChaosConfigError, ChaosInjectedFailure
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.experiment.safety import Decision, SafetySettings, decide, gate_draw
from airflow_chaos.faults.base import Fault, FaultContext, injection_seed
from airflow_chaos.operators.records import (
    INJECTIONS_KEY,
    RedactedLog,
    error_text,
    map_index_of,
    pull_injections,
    push_injections,
    redact_exception,
)
from airflow_chaos.records import Injection, InjectionStatus, utcnow
from airflow_chaos.storage import Confinement

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from airflow_chaos.plans import ExperimentGate


# Faults that fail a task on purpose (partial output with then="raise") raise this; it is not an engine error.
InjectedFailure = ChaosInjectedFailure


def _misuse_hint(value: Any) -> str:
    """What the user most likely meant, for a value given where a fault belongs."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "; probability=, seed= and max_fraction= are given by name, e.g. chaos(task, fault, probability=0.5)"
    if isinstance(value, (list, tuple)):
        return "; pass the faults themselves: chaos(task, *faults)"
    if isinstance(value, Mapping):
        return "; build a fault from a mapping with Fault.from_dict(...)"
    if isinstance(value, type) and issubclass(value, Fault):
        return f"; build the fault: faults.{value.__name__}(...)"
    return ""


def _fault_items(faults: Any, owner: str) -> tuple[Fault, ...]:
    """``faults`` (one Fault or several) as a tuple, or a ChaosConfigError naming the field and what to give."""
    if isinstance(faults, Fault):
        return (faults,)
    if isinstance(faults, (str, bytes, Mapping)) or not isinstance(faults, Iterable):
        raise ChaosConfigError(
            f"{owner}: field 'faults': expected a Fault or a list of Faults (e.g. [faults.DropColumn(column='x')]), "
            f"got {type(faults).__name__} {faults!r:.80}{_misuse_hint(faults)}"
        )
    items = tuple(faults)
    if not items:
        raise ChaosConfigError(f"{owner}: field 'faults': give at least one fault, e.g. faults.DropColumn(column='x')")
    for i, f in enumerate(items):
        if not isinstance(f, Fault):
            raise ChaosConfigError(
                f"{owner}: field 'faults[{i}]': expected a Fault (e.g. faults.Delay(seconds=1)), "
                f"got {type(f).__name__} {f!r:.80}{_misuse_hint(f)}"
            )
    return items


@dataclass(frozen=True)
class ChaosArm:
    """The faults armed on one task and how to draw them."""

    faults: tuple[Fault, ...]
    probability: float = 1.0
    seed: int | None = None
    dry_run: bool = False
    max_fraction: float = 1.0
    # Who armed these faults, recorded on each injection: "code", or "plan:<file>#<experiment>".
    source: str = "code"
    # A plan experiment's run-time conditions (time window, run types, daily cap); None for code.
    gate: ExperimentGate | None = None
    # Arms from other sources on the same task (a plan on top of code), each drawn with its own settings.
    also: tuple[ChaosArm, ...] = ()

    @classmethod
    def build(
        cls,
        faults: Sequence[Fault] | Fault,
        *,
        probability: float = 1.0,
        seed: int | None = None,
        dry_run: bool = False,
        max_fraction: float = 1.0,
        owner: str = "chaos",
    ) -> ChaosArm:
        """Validate the arguments at DAG-parse time, naming the field on error."""
        items = _fault_items(faults, owner)
        if isinstance(probability, bool) or not isinstance(probability, (int, float)) or not 0 <= probability <= 1:
            raise ChaosConfigError(f"{owner}: field 'probability' must be a number in [0, 1], got {probability!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ChaosConfigError(f"{owner}: field 'seed' must be an int or None, got {seed!r}")
        if not isinstance(dry_run, bool):
            raise ChaosConfigError(f"{owner}: field 'dry_run' must be True or False, got {dry_run!r}")
        if isinstance(max_fraction, bool) or not isinstance(max_fraction, (int, float)) or not 0 < max_fraction <= 1:
            raise ChaosConfigError(f"{owner}: field 'max_fraction' must be a number in (0, 1], got {max_fraction!r}")
        return cls(items, float(probability), seed, dry_run, float(max_fraction))

    def plus(self, other: ChaosArm) -> ChaosArm:
        """Arming an armed task again adds the new faults; the newest settings win.

        Faults from another source (a plan on top of code) keep their own settings and source.
        """
        if other.source != self.source or other.gate is not None or self.gate is not None:
            return dataclasses.replace(self, also=(*self.also, other))
        return dataclasses.replace(
            self,
            faults=self.faults + other.faults,
            probability=other.probability,
            seed=other.seed,
            dry_run=other.dry_run,
            max_fraction=other.max_fraction,
        )

    def members(self) -> tuple[tuple[Fault, ChaosArm], ...]:
        """Every armed fault with the arm it was armed by, in order: this arm's, then the others'."""
        return tuple((f, self) for f in self.faults) + tuple(m for arm in self.also for m in arm.members())

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source, *(s for arm in self.also for s in arm.sources))


# ---------------------------------------------------------------------- arming existing operators
def _armed_execute(self: Any, context: Context) -> Any:
    return run_armed(self, self._chaos_base_execute(), context, self._chaos_arm)


def _armed_base_execute(self: Any) -> Callable[[Context], Any]:
    return super(self._chaos_armed_class, self).execute


def chaos_resume(
    self: Any, context: Context, event: Any = None, chaos_records: list[dict[str, Any]] | None = None
) -> Any:
    """Where an armed task resumes after a long Delay was handed to the triggerer.

    The records travel in the trigger kwargs and, because not every runner keeps those (``dag.test``
    replaces them with the event), also in the task's own ``chaos_injections`` XCom pushed before deferring.
    """
    if not chaos_records:
        ti = context["ti"]
        chaos_records = ti.xcom_pull(task_ids=ti.task_id, key=INJECTIONS_KEY, map_indexes=map_index_of(ti)) or []
    return run_armed(self, self._chaos_base_execute(), context, self._chaos_arm, resumed=chaos_records)


@functools.cache
def _armed_class(cls: type) -> type:
    namespace = {
        "execute": _armed_execute,
        "_chaos_base_execute": _armed_base_execute,
        "_chaos_resume": chaos_resume,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    armed = type(cls.__name__, (cls,), namespace)
    armed._chaos_armed_class = armed  # type: ignore[attr-defined]
    return armed


def chaos(
    task: Any,
    *faults: Fault,
    probability: float = 1.0,
    seed: int | None = None,
    dry_run: bool = False,
    max_fraction: float = 1.0,
) -> Any:
    """Arm an existing operator (or the output of a ``@task`` call) with faults, in place, and return it.

    :param task: an operator, or the ``XComArg`` a ``@task`` call returns.
    :param faults: the faults to inject, applied in order within their phase.
    :param probability: chance in [0, 1] that each fault is injected on a run (seeded draw).
    :param seed: experiment seed; with the dag, run, task and fault index it seeds each injection.
    :param dry_run: record what would be injected and change nothing.
    :param max_fraction: blast-radius cap on the fraction of rows any fault may touch.
    """
    operator = getattr(task, "operator", task)
    from airflow.sdk import BaseOperator

    if not isinstance(operator, BaseOperator):
        kind = type(operator).__name__
        hint = " (for mapped tasks use @task.chaos on the function)" if "Mapped" in kind else ""
        raise ChaosConfigError(f"chaos(): field 'task': expected an operator, got {kind}{hint}")
    arm = ChaosArm.build(
        faults,
        probability=probability,
        seed=seed,
        dry_run=dry_run,
        max_fraction=max_fraction,
        owner=f"chaos({operator.task_id})",
    )
    attach(operator, arm)
    return task


def attach(operator: BaseOperator, arm: ChaosArm) -> None:
    """Add ``arm`` to what ``operator`` has armed, in place (``chaos()`` and the plan policy use it).

    An operator that already runs an arm (armed before, ``@task.chaos``, ``InjectFaultOperator``) keeps
    its class and runs both; any other gets the armed subclass of its class, with the same name and module.
    """
    existing: ChaosArm | None = getattr(operator, "_chaos_arm", None)
    operator._chaos_arm = existing.plus(arm) if existing else arm
    if existing is None and not getattr(type(operator), "_chaos_armed_class", None):
        operator.__class__ = _armed_class(type(operator))


def armed_faults(task: Any) -> tuple[Fault, ...]:
    """The faults armed on ``task``, from every source (empty when unarmed)."""
    arm: ChaosArm | None = getattr(getattr(task, "operator", task), "_chaos_arm", None)
    return tuple(f for f, _ in arm.members()) if arm else ()


# ---------------------------------------------------------------------- running armed
def run_armed(
    task: BaseOperator,
    execute: Callable[[Context], Any],
    context: Context,
    arm: ChaosArm,
    resumed: list[dict[str, Any]] | None = None,
) -> Any:
    """Run ``execute`` under ``arm``. The disabled path costs one dict lookup.

    ``resumed`` carries the injection records across a deferral (a long Delay): decisions are not
    drawn again and the delays already served are not applied twice.
    """
    if not config.chaos_enabled():
        return execute(context)
    return ArmedRun(task, context, arm).run(execute, resumed)


def _count_run_injections(context: Context, task_id: str) -> int:
    others = [t for t in context["dag"].task_ids if t != task_id]
    return sum(inj.applied for inj in pull_injections(context, others))


def _suspended(exc: BaseException) -> bool:
    """Whether ``exc`` pauses the task (a deferral or a reschedule poke) rather than ending it."""
    from airflow.sdk.exceptions import AirflowRescheduleException, TaskDeferred

    return isinstance(exc, (TaskDeferred, AirflowRescheduleException))


class _GuardedExit:
    """An ``around`` fault's context manager whose failure on the way out is an engine error, never the task's."""

    def __init__(self, cm: contextlib.AbstractContextManager[Any], on_error: Callable[[BaseException], None]) -> None:
        self.cm = cm
        self.on_error = on_error

    def __enter__(self) -> Any:
        return self.cm.__enter__()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        try:
            return bool(self.cm.__exit__(exc_type, exc, tb))
        except Exception as failure:
            if failure is exc:  # the task's own exception passed back out: not the engine's
                raise
            self.on_error(failure)
            return False


@dataclass
class _Armed:
    fault: Fault
    injection: Injection
    ctx: FaultContext

    done: bool = False

    @property
    def live(self) -> bool:
        return self.injection.status is InjectionStatus.INJECTED and not self.done


@dataclass
class ArmedRun:
    """One armed task instance: decisions, phases, records."""

    task: Any
    context: Any
    arm: ChaosArm
    items: list[_Armed] = field(default_factory=list)
    # The [chaos] settings this task read (None until read, or when invalid or the environment is not allowed).
    chaos_settings: config.ChaosSettings | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        ti = self.context["ti"]
        self.dag_id: str = ti.dag_id
        self.run_id: str = ti.run_id
        self.task_id: str = ti.task_id
        self.map_index: int = map_index_of(ti)
        self.try_number: int = ti.try_number or 1
        self.journal = Journal(config.journal_root())
        self.members = self.arm.members()  # (fault, the arm that armed it), code's first, then plans'

    @property
    def log(self) -> RedactedLog:
        return RedactedLog(self.task.log)  # no secret in a chaos log line (issue #8)

    def _settings(self) -> tuple[SafetySettings, int | None, str | None]:
        """Read ``[chaos]`` once, in the order of DESIGN §5: the environment guard, then the rest.

        Returns the safety settings, ``[chaos] seed`` (the seed of arms that give none) and the error of an invalid setting. In an
        environment that is not allowed the guard decides first (every fault SKIPPED) and the other
        settings are not validated. An invalid setting is an error of every armed fault of this task
        (INJECTION_ERROR naming the setting): nothing is injected and the task runs untouched.
        """
        safety = SafetySettings(enabled=True)
        try:
            options = config.read_options()
            guard = config.read_environment(options)
            safety = SafetySettings(
                enabled=True, environment=guard.environment, allowed_environments=guard.allowed_environments
            )
            if not guard.environment_allowed:
                return safety, None, None
            self.chaos_settings = settings = config.read_settings(options)
        except ChaosConfigError as exc:
            return safety, None, str(exc)
        safety = dataclasses.replace(
            safety,
            kill_switch=config.kill_switch_on(),
            max_injections_per_run=settings.max_injections_per_run,
            injections_so_far=_count_run_injections(self.context, self.task_id),
        )
        return safety, settings.seed, None

    def _decide(self) -> None:
        settings, default_seed, settings_error = self._settings()
        injected = 0
        for index, (armed_fault, owner) in enumerate(self.members):
            experiment_seed = owner.seed if owner.seed is not None else default_seed
            seed = injection_seed(experiment_seed, self.dag_id, self.run_id, self.task_id, index, self.map_index)
            draw = gate_draw(seed)
            decision = decide(
                settings, probability=owner.probability, draw=draw, dry_run=owner.dry_run, injected_here=injected
            )
            if owner.gate is not None and settings_error is None:
                decision = self._gated(owner.gate, decision)
            injected += decision.inject
            fault, error = (armed_fault, settings_error) if settings_error else self._render(armed_fault)
            if error is not None:
                injection = self._injection(fault, InjectionStatus.ERROR, index, seed=seed, error=error)
            else:
                injection = self._injection(fault, decision.status, index, seed=seed, reason=decision.reason)
            if injection.status is InjectionStatus.DRY_RUN:
                injection.changes["would_inject"] = fault.describe()
            self.items.append(_Armed(fault, injection, self._fault_context(injection)))
            self.log.info(
                "chaos: %s %s (%s)", injection.status.value, fault.describe(), injection.reason or error or "armed"
            )

    def _gated(self, gate: ExperimentGate, decision: Decision) -> Decision:
        """A plan experiment's run-time conditions, once the safety guard let the fault through.

        Its time window and run types first, then (only for a fault that goes in) a slot of its daily cap.
        Conditions that cannot be checked (the cap's storage is unreachable) fail closed: SKIPPED.
        """
        if decision.status not in (InjectionStatus.INJECTED, InjectionStatus.DRY_RUN):
            return decision
        now = utcnow()
        try:
            run_type = getattr(self.context.get("dag_run"), "run_type", None)
            reason = gate.refuse(run_type=getattr(run_type, "value", run_type), now=now)
            if reason is None and decision.inject:
                root = self.chaos_settings.journal_root if self.chaos_settings else config.journal_root()
                reason = gate.reserve(root, self.dag_id, now)
        except Exception as exc:  # noqa: BLE001 - a cap that cannot be counted lets nothing through
            reason = f"the plan's conditions could not be checked, nothing injected: {error_text(exc)}"
        return Decision(InjectionStatus.SKIPPED, reason) if reason else decision

    def _injection(self, fault: Fault, status: InjectionStatus, index: int, **fields: Any) -> Injection:
        return Injection.for_fault(
            fault,
            status,
            dag_id=self.dag_id,
            run_id=self.run_id,
            task_id=self.task_id,
            map_index=self.map_index,
            try_number=self.try_number,
            fault_index=index,
            source=self.members[index][1].source,
            **fields,
        )

    def _fault_context(self, injection: Injection) -> FaultContext:
        labels = {
            "injection_id": injection.id,
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "try_number": self.try_number,
        }
        confinement = None
        if injection.status is InjectionStatus.INJECTED:
            with contextlib.suppress(ChaosConfigError):  # an unreadable setting already failed the render
                confinement = self._confinement(self.members[injection.fault_index][0], "path")
        return FaultContext(
            seed=injection.seed,
            journal=self.journal,
            max_fraction=self.members[injection.fault_index][1].max_fraction,
            labels=labels,
            changes=dict(injection.changes),
            confinement=confinement,
        )

    def _render(self, fault: Fault) -> tuple[Fault, str | None]:
        """Render the fault's ``template_fields`` with Jinja against the task's context, then confine its paths.

        A template that does not render, or a path that resolves outside where its template and
        ``[chaos] allowed_paths`` allow, is an engine error for this fault, never the task's.
        """
        if not fault.template_fields:
            return fault, None
        try:
            update = {n: self.task.render_template(getattr(fault, n), self.context) for n in fault.template_fields}
            rendered = type(fault)(**{**fault.model_dump(), **update})
        except Exception as exc:  # noqa: BLE001 - a bad template must not fail the user's task
            return fault, f"rendering {list(fault.template_fields)} failed: {error_text(exc)}"
        try:
            for name in fault.path_fields:
                confinement = self._confinement(fault, name)
                if confinement is not None:
                    confinement.check(getattr(rendered, name), f"{fault.kind}: field {name!r}")
        except ChaosConfigError as exc:
            return fault, str(exc)
        return rendered, None

    def _confinement(self, armed: Fault, name: str) -> Confinement | None:
        """Where the armed fault's path field ``name`` may resolve once rendered (None: no such path).

        Under the fixed directory of its template, and under a root of ``[chaos] allowed_paths`` when
        that is set (read with the other settings; a task resumed after a deferral reads it again).
        """
        template = getattr(armed, name, None) if name in armed.path_fields else None
        if template is None:
            return None
        roots = self.chaos_settings.allowed_paths if self.chaos_settings is not None else config.allowed_paths()
        return Confinement(template=template, roots=roots)

    def _fail_engine(self, item: _Armed, exc: BaseException) -> None:
        item.injection.status = InjectionStatus.ERROR
        item.injection.error = error_text(exc)
        # a failed injection keeps no partial counts: what it recorded before the error did not happen
        item.ctx.changes, item.ctx.ineffective_reason = dict(item.injection.changes), None
        self.log.warning(
            "chaos: %s failed inside the chaos engine; the task runs untouched: %s",
            item.fault.describe(),
            item.injection.error,
        )

    def _live(self, phase: str) -> list[_Armed]:
        return [i for i in self.items if i.live and i.fault.active_phase == phase]

    def run(self, execute: Callable[[Context], Any], resumed: list[dict[str, Any]] | None = None) -> Any:
        if resumed is None:
            self._preflight()
            self._decide()
            self._defer_long_delays()
        else:
            self._resume(resumed)
        outcome: str | None = "raised"
        try:
            result = self._run_phases(execute)
            outcome = "success"
            return result
        except BaseException as exc:
            if _suspended(exc):  # the task deferred or rescheduled itself: not an outcome
                outcome = None
            elif isinstance(exc, Exception):
                redact_exception(exc)  # Airflow logs its traceback next: no secret in it (issue #8)
                for item in self.items:
                    if item.live:
                        item.injection.error = error_text(exc)
            raise
        finally:
            self._finish(outcome)

    def _preflight(self) -> None:
        """Restore what finished runs of this DAG left mutated (a run that died before its teardown).

        Runs still running or queued are left alone: with ``max_active_runs`` > 1 another run's
        experiment may be holding a file back right now.
        """
        try:
            stale_runs = {e.run_id for e in self.journal.pending(dag_id=self.dag_id)} - {self.run_id}
            for run_id in sorted(r for r in stale_runs if r and self._run_finished(r)):
                for result in self.journal.restore(dag_id=self.dag_id, run_id=run_id):
                    self.log.warning(
                        "chaos preflight: %s %s, left by run %s%s",
                        result.outcome,
                        result.path,
                        run_id,
                        " (written since the fault: kept as it is)" if result.outcome == "superseded" else "",
                    )
        except Exception as exc:  # noqa: BLE001 - a journal problem must not fail the user's task
            self.log.warning("chaos preflight: could not restore earlier runs' mutations: %s", exc)

    def _run_finished(self, run_id: str) -> bool:
        """True when ``run_id`` is no longer running: only then may its mutations be undone by another run."""
        ti = self.context["ti"]
        active = ti.get_dr_count(dag_id=self.dag_id, run_ids=[run_id], states=["running", "queued"])
        return int(active) == 0

    def _defer_long_delays(self) -> None:
        """Hand delays of ``defer_above`` seconds or more to the triggerer: no worker slot is held."""
        long = [i for i in self._live("before") if getattr(i.fault, "should_defer", lambda: False)()]
        if not long:
            return
        from datetime import timedelta

        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        seconds = sum(float(getattr(i.fault, "seconds", 0.0)) for i in long)
        for item in long:
            item.ctx.record(deferred_seconds=float(getattr(item.fault, "seconds", 0.0)), served="deferred")
            item.injection.changes.update(item.ctx.changes)
        self.log.info("chaos: deferring %.1f s of delay to the triggerer", seconds)
        records = push_injections(self.context, [i.injection for i in self.items])
        self.task.defer(
            trigger=DateTimeTrigger(moment=utcnow() + timedelta(seconds=seconds)),
            method_name="_chaos_resume",
            kwargs={"chaos_records": records},
        )

    def _resume(self, records: list[dict[str, Any]]) -> None:
        """Rebuild the decisions made before the deferral; delays already served are not re-applied."""
        by_index = {int(r["fault_index"]): Injection.model_validate(r) for r in records}
        for index, (armed_fault, _) in enumerate(self.members):
            injection = by_index.get(index) or self._injection(
                armed_fault,
                InjectionStatus.ERROR,
                index,
                error="injection record lost across the deferral; the fault was not applied after resuming",
            )
            fault, error = self._render(armed_fault)
            item = _Armed(fault, injection, self._fault_context(injection))
            item.done = injection.changes.get("served") == "deferred"
            if error is not None and item.live:  # e.g. a path that left its directory during the deferral
                self._fail_engine(item, ChaosConfigError(error))
            self.items.append(item)

    def _run_phases(self, execute: Callable[[Context], Any]) -> Any:
        for item in self._live("before"):
            try:
                item.fault.before(item.ctx)
            except Exception as exc:  # noqa: BLE001 - engine bugs never reach the user's task
                self._fail_engine(item, exc)
        with contextlib.ExitStack() as stack:
            for item in self._live("around"):
                try:
                    on_error = functools.partial(self._fail_engine, item)
                    stack.enter_context(_GuardedExit(item.fault.around(item.ctx), on_error))
                except Exception as exc:  # noqa: BLE001
                    self._fail_engine(item, exc)
            result = self._call(execute)
        for item in self._live("after"):
            try:
                result = item.fault.apply(result, item.ctx)
            except Exception as exc:  # noqa: BLE001
                self._fail_engine(item, exc)
        return result

    def _call(self, execute: Callable[[Context], Any]) -> Any:
        instead = self._live("instead")
        if not instead:
            return execute(self.context)
        item, user_errors = instead[0], []

        results: list[Any] = []

        def call() -> Any:
            try:
                results.append(execute(self.context))
            except Exception as exc:
                user_errors.append(exc)
                raise
            return results[-1]

        for extra in instead[1:]:
            extra.injection.status = InjectionStatus.SKIPPED
            extra.injection.reason = f"only one 'instead' fault per task; {item.fault.kind} came first"
        try:
            return item.fault.instead(call, item.ctx)
        except InjectedFailure:
            raise
        except Exception as exc:
            if user_errors and exc is user_errors[-1]:
                raise
            self._fail_engine(item, exc)
            return results[-1] if results else execute(self.context)  # never run the user's work twice

    def _finish(self, outcome: str | None) -> None:
        now = utcnow()
        for item in self.items:
            inj = item.injection
            inj.finished_at = now
            inj.changes.update(item.ctx.changes)
            if inj.status is InjectionStatus.INJECTED and item.ctx.ineffective_reason is not None:
                inj.effective, inj.reason = False, item.ctx.ineffective_reason  # changed nothing: SKIPPED
            if inj.status is InjectionStatus.INJECTED and outcome is not None:
                inj.outcome = outcome  # type: ignore[assignment]
        push_injections(self.context, [i.injection for i in self.items])
