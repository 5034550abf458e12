"""Freshness and arrival checks on local files, partitions and object-store URLs (no Airflow)."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta

import pytest
from upath import UPath

from airflow_chaos.checks.freshness import (
    PathState,
    arrival,
    file_freshness,
    freshness,
    partition_freshness,
    stat_path,
)


def _touch(path, age_seconds: float, data: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - age_seconds
    os.utime(path, (then, then))


def test_fresh_file_passes(tmp_path):
    _touch(tmp_path / "a.csv", 10, b"a,b\n")
    d = file_freshness(tmp_path / "a.csv", max_age=60)
    assert d.passed and d.signals == ["freshness"] and d.check == "file_freshness"
    assert 9 <= d.observed["age_seconds"] <= 12 and d.observed["max_age_seconds"] == 60
    assert d.observed["size_bytes"] == 4


def test_stale_file_fails_on_freshness(tmp_path):
    _touch(tmp_path / "a.csv", 3600)
    d = file_freshness(str(tmp_path / "a.csv"), max_age=timedelta(minutes=5))
    assert not d.passed and d.signals == ["freshness"] and d.observed["age_seconds"] >= 3600


def test_missing_file_fails_on_freshness_and_volume(tmp_path):
    d = file_freshness(tmp_path / "nope.csv", max_age=60)
    assert not d.passed and d.signals == ["freshness", "volume"] and d.observed["exists"] is False


def test_partition_is_as_fresh_as_its_newest_file(tmp_path):
    _touch(tmp_path / "part" / "date=1" / "a.parquet", 7200)
    _touch(tmp_path / "part" / "date=2" / "b.parquet", 30)
    state = stat_path(tmp_path / "part")
    assert state.exists and state.files == 2
    assert partition_freshness(tmp_path / "part", max_age=60).passed
    assert not partition_freshness(tmp_path / "part", max_age=10).passed


def test_empty_partition_counts_as_missing(tmp_path):
    (tmp_path / "empty").mkdir()
    d = partition_freshness(tmp_path / "empty", max_age=60)
    assert not d.passed and "volume" in d.signals


def test_object_store_url():
    root = f"memory://fresh-{uuid.uuid4().hex}"
    UPath(f"{root}/x.csv").write_bytes(b"1\n")
    assert file_freshness(f"{root}/x.csv", max_age=60).passed
    assert not file_freshness(f"{root}/missing.csv", max_age=60).passed


def test_now_is_injectable():
    state = PathState("p", True, last_modified=1000.0, size_bytes=1, files=1)
    assert freshness(state, 10, now=1005.0).passed
    assert not freshness(state, 10, now=1011.0).passed


@pytest.mark.parametrize(("waited", "sla", "passed"), [(1.0, 5.0, True), (6.0, 5.0, False), (100.0, None, True)])
def test_arrival_sla(waited, sla, passed):
    state = PathState("p", True, last_modified=time.time(), size_bytes=1, files=1)
    d = arrival(state, waited, sla)
    assert d.passed is passed and d.signals == ["freshness"] and d.observed["late"] is (not passed)


def test_arrival_of_nothing_fails_on_volume_too():
    d = arrival(PathState("p", False), waited=5, sla=10)
    assert not d.passed and d.signals == ["freshness", "volume"]


def test_state_round_trips_through_json():
    state = PathState("p", True, 12.5, 3, 1)
    assert PathState(**state.to_json()) == state


def test_deadline_by_modification_time():
    from airflow_chaos.checks.freshness import deadline

    state = PathState("p", True, last_modified=1000.0, size_bytes=1, files=1)
    on_time, late = deadline(state, due_by=1000.0), deadline(state, due_by=990.0)
    assert on_time.passed and on_time.observed["late"] is False
    assert not late.passed and late.signals == ["freshness"] and late.observed["late_by_seconds"] == 10
    missing = deadline(PathState("p", False), due_by=990.0)
    assert not missing.passed and missing.signals == ["freshness", "volume"]
