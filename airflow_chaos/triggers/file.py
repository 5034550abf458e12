"""FileArrivalTrigger: wait in the triggerer for a file, object or partition to arrive (and be fresh)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_chaos.checks.freshness import PathState, stat_path


def arrived(state: PathState, max_age: float | None, now: float) -> bool:
    """Data is there, and fresh enough when ``max_age`` is given."""
    if not state.exists:
        return False
    if max_age is None:
        return True
    age = state.age(now)
    return age is not None and age <= max_age


class FileArrivalTrigger(BaseTrigger):
    """Poll ``path`` until data is there (and at most ``max_age`` seconds old), or ``timeout`` runs out.

    Fires exactly one event. Its payload is JSON: ``status`` (``"arrived"`` or ``"timeout"``),
    ``path``, ``waited`` (seconds since ``started_at``) and ``state`` (:meth:`PathState.to_json`).
    Filesystem calls run in a worker thread, so slow object stores do not block the triggerer's loop.

    :param path: local path or fsspec / ``ObjectStoragePath`` URL; a directory counts as its newest file.
    :param max_age: when given, a file older than this many seconds has not arrived yet.
    :param poll_interval: seconds between checks.
    :param timeout: seconds after ``started_at`` to give up and fire ``"timeout"``; None: wait forever.
    :param started_at: epoch seconds the wait began (the sensor's first poke); default: now.
    """

    def __init__(
        self,
        path: str,
        max_age: float | None = None,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        started_at: float | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.path = path
        self.max_age = max_age
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.started_at = time.time() if started_at is None else started_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "path": self.path,
                "max_age": self.max_age,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "started_at": self.started_at,
            },
        )

    def _event(self, status: str, state: PathState, now: float) -> TriggerEvent:
        return TriggerEvent(  # type: ignore[no-untyped-call]
            {
                "status": status,
                "path": self.path,
                "waited": round(now - self.started_at, 3),
                "state": state.to_json(),
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            state = await asyncio.to_thread(stat_path, self.path)
            now = time.time()
            if arrived(state, self.max_age, now):
                self.log.info("%s arrived after %.1f s", self.path, now - self.started_at)
                yield self._event("arrived", state, now)
                return
            if self.timeout is not None and now - self.started_at >= self.timeout:
                self.log.info("%s did not arrive within %.1f s", self.path, self.timeout)
                yield self._event("timeout", state, now)
                return
            await asyncio.sleep(self.poll_interval)
