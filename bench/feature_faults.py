"""Feature-store faults and checks on a real Feast repository, at 10k and 100k entities.

For each size: a local Feast repo (SQLite online store, file offline store) whose source holds three
hourly rows per driver in the schema of Feast's ``driver_test_data`` (generated with numpy here: Feast's
own generator concatenates one frame per driver and is quadratic in the number of drivers), fully
materialized. Then:

- inject: wall time of each fault (journal included: rows journaled in at most 64 entries) and of its
  restore through the journal (compare-and-swap, every row back), against a floor measured in the same
  run: reading every row online and writing it back with Feast's own provider calls;
- check: the ``CheckFeaturesOperator`` path without Airflow (served values with event timestamps,
  then freshness, presence, ranges and skew against training statistics) against a bare
  ``get_online_features(...).to_dict()`` for the same entities. Goal: checks add at most 2x the bare read.

Run: ``.venv/bin/python bench/feature_faults.py`` (``SIZES=10000`` for a quick run). Not part of the test suite.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SIZES = [int(s) for s in os.environ.get("SIZES", "10000,100000").split(",")]
VIEW = "driver_hourly_stats"
FEATURES = [f"{VIEW}:conv_rate", f"{VIEW}:acc_rate", f"{VIEW}:avg_daily_trips"]
YAML = """project: bench
registry: data/registry.db
provider: local
online_store: {type: sqlite, path: data/online.db}
offline_store: {type: file}
entity_key_serialization_version: 3
"""


def build(root: Path, drivers: int) -> tuple[Any, float]:
    import numpy as np
    import pandas as pd
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float32, Int64

    (root / "data").mkdir(parents=True)
    (root / "feature_store.yaml").write_text(YAML)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    rng = np.random.default_rng(0)
    hours = [now - timedelta(hours=h) for h in (2, 1, 0)]
    n = drivers * len(hours)
    df = pd.DataFrame(
        {
            "event_timestamp": pd.to_datetime(np.repeat(hours, drivers), utc=True),
            "driver_id": np.tile(np.arange(1001, 1001 + drivers), len(hours)),
            "conv_rate": rng.random(n).astype("float32"),
            "acc_rate": rng.random(n).astype("float32"),
            "avg_daily_trips": rng.integers(0, 1000, n),
            "created": pd.Timestamp.now(tz="UTC"),
        }
    )
    df.to_parquet(root / "data" / "driver_stats.parquet")
    driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
    source = FileSource(path=str(root / "data" / "driver_stats.parquet"), timestamp_field="event_timestamp", created_timestamp_column="created")
    schema = [Field(name="conv_rate", dtype=Float32), Field(name="acc_rate", dtype=Float32), Field(name="avg_daily_trips", dtype=Int64)]
    store = FeatureStore(repo_path=str(root))
    store.apply([driver, FeatureView(name=VIEW, entities=[driver], ttl=timedelta(days=1), schema=schema, source=source)])
    start = time.perf_counter()
    store.materialize(now - timedelta(days=1), now + timedelta(hours=1))
    return df, time.perf_counter() - start


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def floor_seconds(repo: str) -> float:
    """What any fault that rewrites every row must do: read the rows online and write them back (Feast's own calls)."""
    from airflow_chaos.faults.features import EPOCH, ViewIO

    io = ViewIO.open(repo, VIEW)
    entities = list(io.source_latest(EPOCH, datetime.now(timezone.utc) + timedelta(days=1)))
    keys = [io.entity_key(e) for e in entities]
    start = time.perf_counter()
    found = io.provider.online_read(io.store.config, io.view, keys, None)
    io.provider.online_write_batch(io.store.config, io.view, [(k, v, ts, None) for k, (ts, v) in zip(keys, found, strict=True)], None)
    return time.perf_counter() - start


def bench_faults(repo: str, journal_root: Path) -> None:
    from airflow_chaos import faults
    from airflow_chaos.experiment.journal import Journal
    from airflow_chaos.faults.base import FaultContext

    made = [
        faults.CorruptFeatures(repo=repo, feature_view=VIEW, feature="conv_rate", fraction=0.1, value=50.0),
        faults.ServingSkew(repo=repo, feature_view=VIEW, feature="acc_rate", shift=0.5),
        faults.DropFeature(repo=repo, feature_view=VIEW, feature="conv_rate"),
        faults.StaleFeatures(repo=repo, feature_view=VIEW, mode="overwrite", by=timedelta(minutes=90)),
        faults.FeatureLag(repo=repo, feature_view=VIEW, by=timedelta(days=2), when="after"),
        faults.FeatureVersionMismatch(repo=repo, feature_view=VIEW, retype={"acc_rate": "Float64"}),
    ]
    journal = Journal(journal_root)
    floor = floor_seconds(repo)
    print(f"  floor: read every row online and write it back (Feast calls only) {floor:6.2f} s")
    for fault in made:
        ctx = FaultContext(seed=1, journal=journal, labels={"injection_id": fault.kind})
        _, inject = timed(lambda f=fault, c=ctx: f.mutate(c))
        results, restore = timed(lambda f=fault: journal.restore(injection_id=f.kind))
        outcomes = sorted({r.outcome for r in results})
        rows = ctx.changes.get("rows_changed", "-")
        print(
            f"  {fault.kind:26s} inject {inject:6.2f} s ({inject / floor:4.1f}x floor)  restore {restore:6.2f} s "
            f"({restore / floor:4.1f}x)  rows {rows!s:>7}  entries {len(results):3d}  {outcomes}"
        )


def bench_checks(repo: str, frame: Any, drivers: int) -> None:
    from airflow_chaos.checks import features as checks
    from airflow_chaos.hooks.feast import FeastHook
    from airflow_chaos.operators.features import max_ages

    rows = [{"driver_id": i} for i in range(1001, 1001 + drivers)]
    stats = checks.training_statistics(frame, ["conv_rate", "acc_rate"])
    hook = FeastHook(feast_conn_id=None, repo=repo)
    store = hook.store
    ages = max_ages(hook, FEATURES, None)
    store.get_online_features(features=FEATURES, entity_rows=rows[:10]).to_dict()  # warm the registry cache

    def bare() -> Any:
        return store.get_online_features(features=FEATURES, entity_rows=rows).to_dict()

    def checked() -> list[Any]:
        served = hook.served(FEATURES, rows)
        return [
            checks.freshness(served, ages, time.time()),
            checks.presence(served, FEATURES),
            checks.value_ranges(served, {f"{VIEW}:conv_rate": (0, 1), f"{VIEW}:acc_rate": (0, 1)}),
            checks.skew(served, stats),
        ]

    bare_times, check_times = [], []
    for _ in range(3):
        bare_times.append(timed(bare)[1])
        detections, seconds = timed(checked)
        check_times.append(seconds)
    b, c = min(bare_times), min(check_times)
    assert all(d.passed for d in detections), [d.observed for d in detections if not d.passed]
    print(f"  bare get_online_features {b:6.2f} s   our read + 4 checks {c:6.2f} s   ratio {c / b:4.2f}x (goal <= 2x)")


def main() -> None:
    import logging

    logging.disable(logging.INFO)  # Feast's registry refreshes and the journal's per-entry lines
    import feast
    import pandas
    import scipy

    print(f"feast {feast.__version__}, pandas {pandas.__version__}, scipy {scipy.__version__}; best of 3 for reads")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for drivers in SIZES:
        root = Path(tempfile.mkdtemp(prefix="bench-feast-"))
        try:
            frame, materialize = build(root / "repo", drivers)
            print(f"{drivers} entities ({len(frame)} source rows; materialize {materialize:.1f} s)")
            bench_checks(str(root / "repo"), frame, drivers)
            bench_faults(str(root / "repo"), root / "journal")
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
