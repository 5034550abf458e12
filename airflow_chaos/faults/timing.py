"""Timing faults: late tasks, random lateness, work cut short, work skipped.

- :class:`Delay` and :class:`Jitter` hold the task back before it runs (phase ``before``).
- :class:`PartialOutput` and :class:`FalseSuccess` replace the task's work (phase ``instead``).

No Airflow imports; pandas and pyarrow are never imported here: tables are recognised by duck typing.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, JsonValue

from airflow_chaos.exceptions import ChaosInjectedFailure
from airflow_chaos.faults.base import Fault, FaultContext

log = logging.getLogger(__name__)

_WEEK = 7 * 24 * 3600


def _sleep(seconds: float, ctx: FaultContext) -> None:
    started = time.monotonic()
    time.sleep(seconds)
    ctx.record(delayed_seconds=round(time.monotonic() - started, 3))


class Delay(Fault):
    """Hold the task back for ``seconds`` before it runs (late data, a slow upstream).

    Short delays sleep in the worker. Delays of ``defer_above`` seconds or more are handed to the
    triggerer by the Airflow wrapper so no worker slot is held while waiting.
    """

    kind = "delay"
    signals = ("freshness",)
    phase = "before"

    seconds: float = Field(gt=0, le=_WEEK, description="How long to hold the task back.")
    defer_above: float = Field(
        default=60.0, gt=0, description="Delays at least this long defer to a trigger instead of sleeping."
    )

    def should_defer(self) -> bool:
        return self.seconds >= self.defer_above

    def before(self, ctx: FaultContext) -> None:
        _sleep(self.seconds, ctx)


class Jitter(Fault):
    """Hold the task back for a random time in ``[0, max_seconds]``, drawn from the injection's seeded RNG.

    The same experiment seed gives the same delay for the same task. Jitter always sleeps in the
    worker; for long, fixed lateness use :class:`Delay`, which can defer.

    Examples:
        ``chaos(extract, faults.Jitter(max_seconds=5), seed=7)``
    """

    kind = "jitter"
    signals = ("freshness",)
    phase = "before"

    max_seconds: float = Field(gt=0, le=3600, description="Upper bound of the random delay, in seconds.")

    def draw(self, ctx: FaultContext) -> float:
        """The delay for this injection (seeded, so reproducible)."""
        return float(ctx.rng.uniform(0.0, self.max_seconds))

    def before(self, ctx: FaultContext) -> None:
        seconds = self.draw(ctx)
        ctx.record(drawn_seconds=round(seconds, 3))
        _sleep(seconds, ctx)


# ---------------------------------------------------------------------- partial output
def row_count(value: Any) -> int | None:
    """Rows of a DataFrame, Arrow table, list/tuple of records or dict of equal-length columns; None otherwise."""
    if hasattr(value, "num_rows"):
        return int(value.num_rows)
    if hasattr(value, "iloc") and hasattr(value, "columns"):
        return len(value)
    if isinstance(value, (list, tuple)):
        return len(value)
    if isinstance(value, dict) and value and all(isinstance(v, (list, tuple)) for v in value.values()):
        lengths = {len(v) for v in value.values()}
        return lengths.pop() if len(lengths) == 1 else None
    return None


def head(value: Any, rows: int) -> Any:
    """The first ``rows`` rows of a value :func:`row_count` understands, as a new object of the same type."""
    if hasattr(value, "num_rows"):
        return value.slice(0, rows)
    if hasattr(value, "iloc"):
        return value.iloc[:rows].copy()
    if isinstance(value, dict):
        return {k: v[:rows] for k, v in value.items()}
    return value[:rows]


class PartialOutput(Fault):
    """A multistage task killed midway: run the task, keep only the first ``fraction`` of its output.

    The task's return value (a pandas DataFrame, pyarrow Table, list of records or dict of columns)
    is cut to its first ``fraction`` of rows. Then, with ``then="succeed"``, the partial output is
    returned as if all was well (the dangerous case a row-count check must catch); with
    ``then="raise"`` the task fails with :class:`~airflow_chaos.exceptions.ChaosInjectedFailure`.
    The blast-radius cap ``max_fraction`` bounds the fraction of rows dropped. A return value of
    another type is passed through untouched and the injection is recorded as not effective.
    """

    kind = "partial_output"
    signals = ("volume", "completeness")
    phase = "instead"

    fraction: float = Field(ge=0, lt=1, description="Fraction of the output's rows to keep (the first ones).")
    then: Literal["succeed", "raise"] = Field(
        default="succeed", description="After cutting the output: report success, or fail the task."
    )

    def target(self) -> str:
        return "return_value"

    def instead(self, call: Callable[[], Any], ctx: FaultContext) -> Any:
        result = call()
        total = row_count(result)
        if total is None:
            log.warning("partial_output: cannot cut a %s; returned untouched", type(result).__name__)
            ctx.record(effective=False, unsupported_type=type(result).__name__)
            ctx.ineffective(f"cannot cut a value of type {type(result).__name__}: it passed through untouched")
            return result
        dropped = ctx.bounded_fraction(1.0 - self.fraction)
        kept = math.floor(total * (1.0 - dropped))
        ctx.record(rows_before=total, rows_after=kept, rows_dropped=total - kept, then=self.then)
        if self.then == "raise":
            raise ChaosInjectedFailure(
                f"partial_output: the task wrote {kept} of {total} rows, then was killed (injected, then='raise')"
            )
        return head(result, kept)


class FalseSuccess(Fault):
    """Skip the task's work entirely and report success with ``return_value`` (default None).

    The user's code never runs: nothing is written, nothing is returned. A volume or freshness check
    downstream must notice that the data did not move.
    """

    kind = "false_success"
    signals = ("volume", "freshness")
    phase = "instead"

    return_value: JsonValue = Field(default=None, description="What the task reports as its result instead.")

    def instead(self, call: Callable[[], Any], ctx: FaultContext) -> Any:
        ctx.record(work_skipped=True, returned=self.return_value)
        return self.return_value
