"""Freshness and arrival checks on files, object-store keys and partitions -> Detections.

A *file* is fresh when it exists and was modified at most ``max_age`` ago. A *partition* (a
directory or prefix) is as fresh as the newest file under it; an empty partition counts as missing.
A missing file or partition fails on ``freshness`` and ``volume`` (no data at all); a stale or late
one fails on ``freshness``. Paths may be local or any fsspec / ``ObjectStoragePath`` URL.

No Airflow imports.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_chaos.records import Detection
from airflow_chaos.storage import as_path

Seconds = float | timedelta


def seconds_of(value: Seconds) -> float:
    """A duration given as seconds or a ``timedelta``, in seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


@dataclass(frozen=True)
class PathState:
    """What is at a path right now: whether data exists, when it last changed, how big it is."""

    path: str
    exists: bool
    last_modified: float | None = None  # epoch seconds
    size_bytes: int | None = None
    files: int = 0

    def age(self, now: float) -> float | None:
        return None if self.last_modified is None else max(0.0, now - self.last_modified)

    def to_json(self) -> dict[str, Any]:
        """Raw fields (epoch seconds), to rebuild with ``PathState(**data)``."""
        return asdict(self)

    def observed(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "exists": self.exists,
            "last_modified": _iso(self.last_modified),
            "size_bytes": self.size_bytes,
            "files": self.files,
        }


def _mtime(stat: Any) -> float | None:
    """Modification time from a ``stat()`` result; object stores without one fall back to creation time."""
    for name in ("st_mtime", "st_birthtime", "st_ctime"):
        value = getattr(stat, name, None)
        if value:
            return float(value)
    return None


def stat_path(location: Any) -> PathState:
    """The state of a file, or of a partition (the newest file under a directory/prefix)."""
    path = as_path(location)
    text = str(location) if isinstance(location, str) else str(path)
    if not path.exists():
        return PathState(text, exists=False)
    if not path.is_dir():
        stat = path.stat()
        return PathState(text, True, _mtime(stat), int(stat.st_size), 1)
    files = [p for p in path.rglob("*") if p.is_file()]
    if not files:
        return PathState(text, exists=False)
    stats = [p.stat() for p in files]
    times = [t for t in (_mtime(s) for s in stats) if t is not None]
    return PathState(text, True, max(times) if times else None, sum(int(s.st_size) for s in stats), len(files))


def freshness(state: PathState, max_age: Seconds, now: float | None = None, check: str = "freshness") -> Detection:
    """Fresh when ``state`` exists and its age is at most ``max_age``."""
    now = time.time() if now is None else now
    limit = seconds_of(max_age)
    observed = {**state.observed(), "max_age_seconds": limit}
    if not state.exists:
        return Detection(check=check, signals=["freshness", "volume"], passed=False, observed=observed)
    age = state.age(now)
    observed["age_seconds"] = None if age is None else round(age, 3)
    passed = age is not None and age <= limit
    return Detection(check=check, signals=["freshness"], passed=passed, observed=observed)


def arrival(state: PathState, waited: Seconds, sla: Seconds | None = None, check: str = "arrival") -> Detection:
    """On time when ``state`` exists and it took at most ``sla`` to arrive (any time when ``sla`` is None)."""
    waited_s = seconds_of(waited)
    observed = {**state.observed(), "waited_seconds": round(waited_s, 3)}
    if sla is not None:
        observed["sla_seconds"] = seconds_of(sla)
    if not state.exists:
        return Detection(check=check, signals=["freshness", "volume"], passed=False, observed=observed)
    late = sla is not None and waited_s > seconds_of(sla)
    observed["late"] = late
    return Detection(check=check, signals=["freshness"], passed=not late, observed=observed)


def deadline(state: PathState, due_by: float, check: str = "deadline") -> Detection:
    """On time when ``state`` exists and landed (by modification time) no later than ``due_by`` (epoch seconds)."""
    observed = {**state.observed(), "due_by": _iso(due_by)}
    if not state.exists or state.last_modified is None:
        return Detection(check=check, signals=["freshness", "volume"], passed=False, observed=observed)
    late_by = state.last_modified - due_by
    observed.update(late=late_by > 0, late_by_seconds=round(max(0.0, late_by), 3))
    return Detection(check=check, signals=["freshness"], passed=late_by <= 0, observed=observed)


def file_freshness(path: Any, max_age: Seconds, now: float | None = None) -> Detection:
    """Freshness of one file or object against the SLA ``max_age``."""
    return freshness(stat_path(path), max_age, now, check="file_freshness")


def partition_freshness(path: Any, max_age: Seconds, now: float | None = None) -> Detection:
    """Freshness of a partition (directory or prefix): its newest file against the SLA ``max_age``."""
    return freshness(stat_path(path), max_age, now, check="partition_freshness")
