"""FeastHook: a Feast ``FeatureStore`` from an Airflow connection or a repo path."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook

from airflow_chaos.checks.features import TS_SUFFIX
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.records import utcnow


class FeastHook(BaseHook):
    """Reach a Feast repository: from a connection of type ``feast`` or from a path.

    The connection's extra names the repository (never a secret; credentials of the stores Feast
    talks to stay in the environment Feast reads, or in ``feature_store.yaml`` as env references):
    ``{"repo_path": "/opt/feast/repo"}`` (the directory holding ``feature_store.yaml``) or
    ``{"feature_store_yaml": "/opt/feast/repo/feature_store.yaml"}``. ``repo`` given directly wins.

    :param feast_conn_id: connection id (type ``feast``).
    :param repo: a repo directory or its ``feature_store.yaml``, instead of a connection.
    """

    conn_name_attr = "feast_conn_id"
    default_conn_name = "feast_default"
    conn_type = "feast"
    hook_name = "Feast"

    def __init__(self, feast_conn_id: str | None = default_conn_name, repo: str | None = None) -> None:
        super().__init__()
        self.feast_conn_id = feast_conn_id
        self.repo = repo

    def repo_location(self) -> str:
        """The absolute repo directory or ``feature_store.yaml`` this hook reaches."""
        if self.repo:
            return str(Path(self.repo).expanduser().resolve())
        if not self.feast_conn_id:
            raise ChaosConfigError("FeastHook: give 'repo' or 'feast_conn_id'")
        extra = self.get_connection(self.feast_conn_id).extra_dejson
        location = extra.get("feature_store_yaml") or extra.get("repo_path")
        if not location:
            raise ChaosConfigError(
                f"FeastHook: connection {self.feast_conn_id!r} has neither 'repo_path' nor 'feature_store_yaml' in its extra"
            )
        return str(Path(str(location)).expanduser().resolve())

    def get_conn(self) -> Any:
        """A ``feast.FeatureStore`` (Feast is imported here, never at module import)."""
        from airflow_chaos.faults.features import open_store

        return open_store(self.repo_location())

    # ------------------------------------------------------------------ what the checks read
    @cached_property
    def store(self) -> Any:
        return self.get_conn()

    def served(self, features: Sequence[str], entity_rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
        """Served values and event timestamps, keyed by feature reference: ``{"view:f": [...], "view:f__ts": [...]}``.

        Join-key columns keep their names. Timestamps are epoch seconds (0: no value online).
        """
        refs = list(features)
        result = self.store.get_online_features(features=refs, entity_rows=list(entity_rows), full_feature_names=True)
        raw = result.to_dict(include_event_timestamps=True)
        names = {ref.replace(":", "__"): ref for ref in refs}
        out: dict[str, list[Any]] = {}
        for key, values in raw.items():
            base, ts = (key[: -len(TS_SUFFIX)], TS_SUFFIX) if key.endswith(TS_SUFFIX) else (key, "")
            out[names.get(base, base) + ts] = list(values)
        return out

    def view(self, name: str) -> Any:
        return self.store.get_feature_view(name, allow_registry_cache=False)

    def view_schema(self, name: str) -> dict[str, str]:
        """``{feature: value type}`` of the view as the registry defines it now (record it at training time)."""
        return {f.name: f.dtype.to_value_type().name for f in self.view(name).features}

    def view_ttl(self, name: str) -> float | None:
        ttl = self.view(name).ttl
        return ttl.total_seconds() if ttl else None

    def entity_rows(self, name: str) -> list[dict[str, Any]]:
        """Every entity the view's offline source knows (Feast cannot list an online store)."""
        from airflow_chaos.faults.features import EPOCH, ViewIO

        io = ViewIO(self.repo_location(), self.store, self.view(name))
        return [json.loads(e) for e in io.source_latest(EPOCH, utcnow() + timedelta(days=3650))]

    def last_materialization(self, name: str) -> tuple[tuple[float, float] | None, dict[str, float]]:
        """The view's last recorded materialization interval and, per entity, its latest source row in it."""
        from airflow_chaos.faults.features import ViewIO

        view = self.view(name)
        if not view.materialization_intervals:
            return None, {}
        start, end = (t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in view.materialization_intervals[-1])
        io = ViewIO(self.repo_location(), self.store, view)
        expected = {e: datetime.fromisoformat(r["ts"]).timestamp() for e, r in io.source_latest(start, end).items() if r}
        return (start.timestamp(), end.timestamp()), expected
