"""Timing faults: delays before a task runs."""

from __future__ import annotations

import time

from pydantic import Field

from airflow_chaos.faults.base import Fault, FaultContext


class Delay(Fault):
    """Hold the task back for ``seconds`` before it runs (late data, a slow upstream).

    Short delays sleep in the worker. Delays of ``defer_above`` seconds or more are handed to the
    triggerer by the Airflow wrapper so no worker slot is held while waiting.
    """

    kind = "delay"
    signals = ("freshness",)
    phase = "before"

    seconds: float = Field(gt=0, le=7 * 24 * 3600, description="How long to hold the task back.")
    defer_above: float = Field(
        default=60.0, gt=0, description="Delays at least this long defer to a trigger instead of sleeping."
    )

    def should_defer(self) -> bool:
        return self.seconds >= self.defer_above

    def before(self, ctx: FaultContext) -> None:
        started = time.monotonic()
        time.sleep(self.seconds)
        ctx.record(delayed_seconds=round(time.monotonic() - started, 3))
