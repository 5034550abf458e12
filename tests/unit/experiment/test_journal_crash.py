"""Crash safety: SIGKILL at every step of every mutating fault's journal sequence, then ``airflow-chaos restore``.

Each scenario forks a child process that applies one fault through a real :class:`Journal` and
kills itself with SIGKILL just before its k-th storage system call (``os.open`` of a new file,
``os.fsync``, ``os.fchmod``, ``os.replace``, ``os.unlink``): every step of the backup write, the
intent event, the mutation and (in a second round, from the fully faulted state) the restore
itself. The parent then runs ``airflow-chaos restore`` in-process and checks that 0 bytes differ
from the original, that the journal has no unreadable event, that no temporary file is left beside
the data, and that an unrelated pending entry was restored too.
"""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_chaos import cli
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.faults import Fault
from airflow_chaos.faults.base import FaultContext

_KILL_CALLS = ("open", "fsync", "fchmod", "replace", "unlink")

TABLE_PARAMS: dict[str, dict[str, Any]] = {
    "add_column": {"column": "extra"},
    "backdate_timestamps": {"column": "ts", "by": "2d"},
    "cast_column": {"column": "qty", "to_type": "string"},
    "corrupt_categories": {"column": "cat", "fraction": 0.5},
    "drop_column": {"column": "price"},
    "drop_partition": {"column": "cat", "value": "a"},
    "duplicate_rows": {"fraction": 0.5},
    "flip_labels": {"column": "cat", "fraction": 0.5},
    "inject_nulls": {"column": "price", "fraction": 0.5},
    "out_of_order_timestamps": {"column": "ts", "fraction": 0.5},
    "out_of_range": {"column": "price", "fraction": 0.5, "scale": 100.0},
    "rename_column": {"column": "price", "to": "cost"},
    "reorder_columns": {},
    "shift_distribution": {"column": "price", "mean_shift": 2.0},
    "shuffle_rows": {},
    "swap_columns": {"a": "price", "b": "qty"},
    "truncate_rows": {"keep_fraction": 0.5},
}
FILE_PARAMS: dict[str, dict[str, Any]] = {
    "swap_format": {"to": "json"},
    "truncate_file": {"keep_fraction": 0.5},
    "corrupt_bytes": {"n_bytes": 3},
    "empty_file": {},
    "hold_back_file": {},
}


def _parquet() -> bytes:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "id": range(8),
            "ts": pd.date_range("2026-01-01", periods=8, freq="h"),
            "price": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5],
            "qty": [1, 2, 3, 4, 5, 6, 7, 8],
            "cat": ["a", "b", "c", "a", "b", "c", "a", "b"],
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


CSV = b"id,price,qty\n1,1.5,1\n2,2.5,2\n3,3.5,3\n4,4.5,4\n"


def _scenarios() -> list[tuple[str, dict[str, Any], str]]:
    """(kind, params, file name) for every table-on-path and file fault; fails when a kind is missing here."""
    from airflow_chaos.faults.data import TableFault
    from airflow_chaos.faults.files import FileFault, HoldBackFile

    mutating = {
        k
        for k, c in Fault.kinds().items()
        if c.__module__.startswith("airflow_chaos.")  # other tests register their own kinds
        and (issubclass(c, (TableFault, FileFault)) or c is HoldBackFile)
    }
    assert mutating == set(TABLE_PARAMS) | set(FILE_PARAMS), "a new mutating fault needs its crash scenario here"
    return [(k, p, "orders.parquet") for k, p in TABLE_PARAMS.items()] + [
        (k, p, "orders.csv") for k, p in FILE_PARAMS.items()
    ]


def _apply(kind: str, params: dict[str, Any], path: Path, journal: Journal) -> None:
    fault = Fault.from_dict({"kind": kind, "path": str(path), **params})
    ctx = FaultContext(seed=7, journal=journal, labels={"dag_id": "crash", "run_id": "r", "injection_id": kind})
    if fault.active_phase == "around":
        fault.around(ctx).__enter__()
    else:
        fault.apply(None, ctx)


def _in_child(action: Callable[[], None], kill_at: int, counter_file: Path) -> int:
    """Fork; the child runs ``action`` and SIGKILLs itself before its ``kill_at``-th storage call
    (never, when 0; then it writes how many calls it made). Returns the child's wait status."""
    pid = os.fork()
    if pid:
        return os.waitpid(pid, 0)[1]
    try:  # the child: never returns into pytest
        calls = [0]

        def killing(fn: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                if fn is _REAL["open"] and not (args[1] & (os.O_WRONLY | os.O_RDWR)):
                    return fn(*args, **kwargs)  # opening a directory to fsync it is not a write step
                calls[0] += 1
                if calls[0] == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                return fn(*args, **kwargs)

            return call

        for name in _KILL_CALLS:
            setattr(os, name, killing(_REAL[name]))
        action()
        for name in _KILL_CALLS:
            setattr(os, name, _REAL[name])
        counter_file.write_text(str(calls[0]))
        os._exit(0)
    except BaseException:
        import traceback

        traceback.print_exc()
        os._exit(3)


_REAL = {name: getattr(os, name) for name in _KILL_CALLS}


class Scenario:
    def __init__(self, root: Path, kind: str, params: dict[str, Any], name: str, original: bytes) -> None:
        self.root, self.kind, self.params = root, kind, params
        self.data = root / "data"
        self.journal_root = root / "journal"
        self.data.mkdir(parents=True)
        self.target = self.data / name
        self.target.write_bytes(original)
        self.original = original
        self.unrelated = self.data / "unrelated.csv"
        self.unrelated.write_bytes(b"unrelated,1\n")
        Journal(self.journal_root).rewrite(self.unrelated, lambda _: b"", dag_id="other", run_id="other")

    def mutate(self) -> None:
        _apply(self.kind, self.params, self.target, Journal(self.journal_root))

    def restore(self) -> None:
        Journal(self.journal_root).restore()

    def check(self) -> None:
        assert cli.main(["restore", "--journal", str(self.journal_root)]) == 0
        journal = Journal(self.journal_root)
        state = journal.read()
        assert state.unreadable == [], f"{self.kind}: unreadable events {state.unreadable}"
        assert state.pending() == []
        assert self.target.read_bytes() == self.original, f"{self.kind}: bytes differ from the original"
        assert self.unrelated.read_bytes() == b"unrelated,1\n", f"{self.kind}: unrelated entry not restored"
        leftovers = [p.name for p in self.data.iterdir() if p.name.startswith(".")]
        assert leftovers == [], f"{self.kind}: temporary files left beside the data: {leftovers}"


def _killed(status: int) -> bool:
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


@pytest.fixture
def fast_dir(tmp_path):
    """A directory on tmpfs when there is one: the sequence is the same, fsync is just cheap there."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        yield tmp_path
        return
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="chaos-crash-", dir=shm))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_at_every_journal_step_then_restore_loses_nothing(fast_dir, monkeypatch, record_property):
    tmp_path = fast_dir
    monkeypatch.setattr("builtins.print", lambda *a, **k: None)  # the CLI's per-entry lines, hundreds of them
    originals = {"orders.parquet": _parquet(), "orders.csv": CSV}
    total = 0
    per_fault = {}
    for kind, params, name in _scenarios():
        counter = tmp_path / f"{kind}.count"
        probe = Scenario(tmp_path / kind / "probe", kind, params, name, originals[name])
        assert _in_child(probe.mutate, 0, counter) == 0, f"{kind}: the fault failed in the child"
        mutate_points = int(counter.read_text())
        changed = not probe.target.exists() or probe.target.read_bytes() != originals[name]
        assert changed, f"{kind}: the fault changed nothing"
        assert _in_child(probe.restore, 0, counter) == 0
        restore_points = int(counter.read_text())
        probe.check()
        assert mutate_points >= 4 and restore_points >= 3, (kind, mutate_points, restore_points)

        for k in range(1, mutate_points + 1):  # killed while mutating
            scenario = Scenario(tmp_path / kind / f"m{k}", kind, params, name, originals[name])
            assert _killed(_in_child(scenario.mutate, k, counter)), f"{kind}: mutation kill point {k} not reached"
            scenario.check()
        for k in range(1, restore_points + 1):  # fully faulted, then killed while restoring
            scenario = Scenario(tmp_path / kind / f"r{k}", kind, params, name, originals[name])
            assert _in_child(scenario.mutate, 0, counter) == 0
            assert _killed(_in_child(scenario.restore, k, counter)), f"{kind}: restore kill point {k} not reached"
            scenario.check()
        per_fault[kind] = mutate_points + restore_points
        total += mutate_points + restore_points
    monkeypatch.undo()
    # shown at the end of `make test` (tests/conftest.py), from an xdist worker too
    record_property("summary", f"crash safety: {total} SIGKILL points over {len(per_fault)} mutating faults, 0 bytes lost")
    assert len(per_fault) == len(TABLE_PARAMS) + len(FILE_PARAMS)
