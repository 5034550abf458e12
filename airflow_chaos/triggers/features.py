"""FeatureFreshnessTrigger: wait in the triggerer until the features a model needs are served fresh."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_chaos.checks.features import freshness
from airflow_chaos.records import Detection


def served_freshness(
    repo: str, features: Sequence[str], entity_rows: Sequence[Mapping[str, Any]], max_age: Mapping[str, float]
) -> Detection:
    """Read the served event timestamps now and check them against ``max_age`` (seconds per feature)."""
    from airflow_chaos.hooks.feast import FeastHook

    hook = FeastHook(feast_conn_id=None, repo=repo)
    return freshness(hook.served(features, entity_rows), max_age, time.time())


class FeatureFreshnessTrigger(BaseTrigger):
    """Poll the online store until every served value is at most ``max_age`` old, or ``timeout`` runs out.

    Fires one event: ``status`` (``"fresh"`` or ``"timeout"``), ``waited`` (seconds since
    ``started_at``) and ``detection`` (the last freshness Detection, JSON). Feast calls run in a
    worker thread so the triggerer's loop never blocks.

    :param repo: the Feast repo directory or ``feature_store.yaml`` (never a secret).
    :param features: ``["view:feature", ...]``.
    :param entity_rows: the entities to read.
    :param max_age: seconds per feature reference.
    :param poll_interval: seconds between reads.
    :param timeout: seconds after ``started_at`` to give up; None: wait forever.
    :param started_at: epoch seconds the wait began; default now.
    """

    def __init__(
        self,
        repo: str,
        features: Sequence[str],
        entity_rows: Sequence[Mapping[str, Any]],
        max_age: Mapping[str, float],
        poll_interval: float = 60.0,
        timeout: float | None = None,
        started_at: float | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.repo = repo
        self.features = list(features)
        self.entity_rows = [dict(r) for r in entity_rows]
        self.max_age = dict(max_age)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.started_at = time.time() if started_at is None else started_at

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "repo": self.repo,
                "features": self.features,
                "entity_rows": self.entity_rows,
                "max_age": self.max_age,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "started_at": self.started_at,
            },
        )

    def _event(self, status: str, detection: Detection, now: float) -> TriggerEvent:
        return TriggerEvent(  # type: ignore[no-untyped-call]
            {"status": status, "waited": round(now - self.started_at, 3), "detection": detection.to_json()}
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            detection = await asyncio.to_thread(served_freshness, self.repo, self.features, self.entity_rows, self.max_age)
            now = time.time()
            if detection.passed:
                yield self._event("fresh", detection, now)
                return
            if self.timeout is not None and now - self.started_at >= self.timeout:
                yield self._event("timeout", detection, now)
                return
            await asyncio.sleep(self.poll_interval)
