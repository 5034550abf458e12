"""InjectFaultOperator: state faults as an explicit step of a DAG, between two tasks.

"Make the input file empty after extract", "make the features stale after materialize", "point the
champion alias at the previous version before deploy": each is a step of its own here, instead of
arming the task next to it. The step runs its faults through the same engine as ``chaos()``: the
safety guard decides each one, every mutation is journaled before it happens, and the injection
records are pushed as ``chaos_injections`` (so ``AssertDetectedOperator`` judges them, with the
tasks downstream of this step as the ones that must notice). The ``ChaosRestoreOperator``
teardown, ``airflow-chaos restore`` or the next run's preflight undo them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.base import Fault
from airflow_chaos.operators.chaos import ChaosArm, run_armed

if TYPE_CHECKING:
    from airflow.sdk import Context


class InjectFaultOperator(BaseOperator):
    """Apply state faults (files, feature store, model registry) as a step of their own.

    Only faults that change the world outside a task can be a step: those acting ``before`` or
    ``after`` a task (``EmptyFile``, ``HoldBackFile`` is refused: it is armed around the task that
    waits for the file; table faults need ``path=``). Faults that only exist while a task runs
    (HTTP faults, delays) or that replace a task's work are refused at DAG-parse time.

    :param faults: the faults to inject, in order.
    :param probability: chance in [0, 1] that each fault is injected on a run (seeded draw).
    :param seed: experiment seed (see ``chaos()``).
    :param dry_run: record what would be injected, change nothing.
    :param max_fraction: blast-radius cap on the fraction of rows any fault may touch.
    """

    ui_color = "#f4b6b6"

    def __init__(
        self,
        *,
        faults: Sequence[Fault] | Fault,
        probability: float = 1.0,
        seed: int | None = None,
        dry_run: bool = False,
        max_fraction: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = f"InjectFaultOperator({self.task_id})"
        self._chaos_arm = ChaosArm.build(
            faults, probability=probability, seed=seed, dry_run=dry_run, max_fraction=max_fraction, owner=owner
        )
        for index, fault in enumerate(self._chaos_arm.faults):
            _check_step_fault(fault, index, owner)

    def execute(self, context: Context) -> None:
        run_armed(self, _no_work, context, self._chaos_arm)


def _no_work(context: Context) -> None:
    """The step's own work: nothing; its faults act on the world before or after it."""
    return None


def _check_step_fault(fault: Fault, index: int, owner: str) -> None:
    phase = fault.active_phase
    if phase in ("before", "after") and fault.target() not in ("task", "return_value"):
        return
    raise ChaosConfigError(
        f"{owner}: field 'faults[{index}]': {fault.kind} cannot be a step of its own "
        f"(it acts {phase!r} a task on {fault.target()!r}); arm the task it targets with chaos() instead. "
        "Allowed here: faults that change files, tables on a path, feature-store or registry state."
    )
