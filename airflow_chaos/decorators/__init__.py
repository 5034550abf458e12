"""``@task.chaos``: a Python task with faults armed on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.operators.chaos import ChaosArm, chaos_resume, run_armed

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.bases.decorator import TaskDecorator

    from airflow_chaos.faults.base import Fault


class _ChaosDecoratedOperator(DecoratedOperator, PythonOperator):
    """A ``@task`` Python operator whose execute runs under a :class:`ChaosArm`."""

    template_fields: Sequence[str] = ("templates_dict", "op_args", "op_kwargs")
    template_fields_renderers = {"templates_dict": "json", "op_args": "py", "op_kwargs": "py"}
    custom_operator_name: str = "@task.chaos"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Any,
        op_kwargs: Any,
        faults: Sequence[Fault] | Fault = (),
        probability: float = 1.0,
        seed: int | None = None,
        dry_run: bool = False,
        max_fraction: float = 1.0,
        detects: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        task_id = kwargs.get("task_id", getattr(python_callable, "__name__", "task"))
        self._chaos_arm = ChaosArm.build(
            faults,
            probability=probability,
            seed=seed,
            dry_run=dry_run,
            max_fraction=max_fraction,
            owner=f"@task.chaos({task_id})",
        )
        super().__init__(
            kwargs_to_upstream={"python_callable": python_callable, "op_args": op_args, "op_kwargs": op_kwargs},
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )
        if detects is not None:  # the task is also a check for these signals (issue #11)
            from airflow_chaos.operators.detects import detects as mark

            mark(self, signals=detects)

    def execute(self, context: Context) -> Any:
        return run_armed(self, super().execute, context, self._chaos_arm)

    def _chaos_base_execute(self) -> Callable[[Context], Any]:
        return super().execute

    _chaos_resume = chaos_resume


def chaos_task(
    python_callable: Callable[..., Any] | None = None,
    multiple_outputs: bool | None = None,
    **kwargs: Any,
) -> TaskDecorator:
    """Wrap a function into a chaos-armed Python task.

    Example::

        @task.chaos(faults=[faults.DropColumn(column="price")], seed=7)
        def transform(raw): ...

    Takes the ``chaos()`` arguments (``faults``, ``probability``, ``seed``, ``dry_run``,
    ``max_fraction``) plus every ``@task`` argument, and ``detects=[signals]``: the task is also a
    check for those signals (:func:`~airflow_chaos.operators.detects.detects`).
    """
    if python_callable is not None and not callable(python_callable):
        raise ChaosConfigError(
            "@task.chaos: field 'faults': give the faults by name, e.g. @task.chaos(faults=[faults.Delay(seconds=1)]); "
            f"got {type(python_callable).__name__} {python_callable!r:.80} as a positional argument"
        )
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=multiple_outputs,
        decorated_operator_class=_ChaosDecoratedOperator,
        **kwargs,
    )


__all__ = ["chaos_task"]
