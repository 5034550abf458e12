"""A real Feast repository for tests: local provider, SQLite online store, file offline store, Feast's own driver data.

``build_repo`` writes it once (per test module); ``copy_repo`` gives each test its own copy in a
fraction of a second (the parquet source is shared, read-only). Feast is imported inside functions.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

VIEW = "driver_hourly_stats"
FEATURES = ("conv_rate", "acc_rate", "avg_daily_trips")
TTL = timedelta(days=1)

YAML = """project: chaos_test
registry: data/registry.db
provider: local
online_store:
  type: sqlite
  path: data/online.db
offline_store:
  type: file
entity_key_serialization_version: 3
"""


def hour_now() -> datetime:
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


def write_source(path: Path, drivers: int, start: datetime, end: datetime, seed: int = 7) -> Any:
    """Feast's own driver-stats generator (seeded), restricted to the columns the views use."""
    import numpy as np
    from feast.driver_test_data import create_driver_hourly_stats_df

    np.random.seed(seed)
    df = create_driver_hourly_stats_df(list(range(1001, 1001 + drivers)), start, end)
    df = df[["event_timestamp", "driver_id", "conv_rate", "acc_rate", "avg_daily_trips", "created"]]
    df = df[df["event_timestamp"] >= start].reset_index(drop=True)  # the generator adds one fixed 2021 row
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path)
    return df


def build_repo(
    root: Path,
    views: Sequence[str] = (VIEW,),
    drivers: int = 40,
    days: int = 4,
    materialized_until: timedelta = timedelta(days=2),
) -> Path:
    """A repo whose source holds ``days`` of hourly rows up to now, materialized up to ``now - materialized_until``."""
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float32, Int64

    root.mkdir(parents=True, exist_ok=True)
    (root / "feature_store.yaml").write_text(YAML)
    now = hour_now()
    source_path = root / "data" / "driver_stats.parquet"
    write_source(source_path, drivers, now - timedelta(days=days), now + timedelta(hours=1))
    driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
    source = FileSource(path=str(source_path), timestamp_field="event_timestamp", created_timestamp_column="created")
    schema = [Field(name="conv_rate", dtype=Float32), Field(name="acc_rate", dtype=Float32), Field(name="avg_daily_trips", dtype=Int64)]
    fvs = [FeatureView(name=name, entities=[driver], ttl=TTL, schema=schema, source=source) for name in views]
    store = FeatureStore(repo_path=str(root))
    store.apply([driver, *fvs])
    store.materialize(now - timedelta(days=days), now - materialized_until)
    return root


def copy_repo(golden: Path, dest: Path) -> Path:
    shutil.copytree(golden, dest)
    return dest


def store_of(repo: Path) -> Any:
    from feast import FeatureStore

    return FeatureStore(repo_path=str(repo))


def entity_rows(drivers: int = 40) -> list[dict[str, int]]:
    return [{"driver_id": i} for i in range(1001, 1001 + drivers)]


def served(repo: Path, view: str = VIEW, drivers: int = 40) -> dict[str, list[Any]]:
    """What serving returns for every driver, with event timestamps (Feast's public API)."""
    refs = [f"{view}:{f}" for f in FEATURES]
    return dict(store_of(repo).get_online_features(features=refs, entity_rows=entity_rows(drivers)).to_dict(include_event_timestamps=True))


def registry_views(repo: Path) -> dict[str, str]:
    """Every feature view in the registry, as its serialized proto in hex (definition, intervals, timestamps)."""
    proto = store_of(repo).registry._registry_store.get_registry_proto()
    return {fv.spec.name: fv.SerializeToString(deterministic=True).hex() for fv in proto.feature_views}


def snapshot(repo: Path, views: Sequence[str] = (VIEW,), drivers: int = 40) -> dict[str, Any]:
    return {"served": {v: served(repo, v, drivers) for v in views}, "registry": registry_views(repo)}


def save_snapshot(repo: Path | str, view: str, drivers: int = 40) -> None:
    """Write the view's state (served values with timestamps, registry object) beside the repo."""
    import json

    snap = snapshot(Path(repo), (view,), drivers)
    (Path(repo) / f"snapshot_{view}.json").write_text(json.dumps(snap, default=str))


def load_snapshot(repo: Path | str, view: str) -> dict[str, Any]:
    import json

    return dict(json.loads((Path(repo) / f"snapshot_{view}.json").read_text()))
