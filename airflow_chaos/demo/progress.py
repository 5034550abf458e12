"""Progress of a running experiment, read from Airflow's SQLite metadata DB: ``python -m airflow_chaos.demo.progress``.

``make demo`` runs the resilience suite through ``airflow dags test`` (minutes, with its output in a log
file) and this beside it: every few seconds it reads the task states of the DAG's newest run and prints
one line per task group (scenario) as soon as all its tasks have finished, saying where it stopped::

    [  1:42]  3/23  api_500                    stopped at extract_orders (failed); 14 tasks did not run
    [  1:50]  4/23  api_429                    all 15 tasks succeeded

It reads the ``dag_run`` and ``task_instance`` tables read-only (standard library ``sqlite3``, no
Airflow import) and exits when the process ``--pid`` (the ``airflow dags test``) has ended. Verdicts are
decided at the end by ``assert_detected``; ``airflow-chaos report`` prints them.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

FINISHED = frozenset({"success", "failed", "upstream_failed", "skipped", "removed"})


@dataclass
class Group:
    """The task instances of one task group (a scenario) or one top-level task."""

    name: str
    states: dict[str, str | None] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return bool(self.states) and all(s in FINISHED for s in self.states.values())

    def summary(self) -> str:
        """``all 15 tasks succeeded``, or where it stopped and how many tasks never ran."""
        if len(self.states) == 1 and self.name in self.states:
            return str(self.states[self.name])
        failed = sorted(t for t, s in self.states.items() if s == "failed")
        skipped = sum(s in ("upstream_failed", "skipped") for s in self.states.values())
        if not failed:
            done = f"all {len(self.states)} tasks succeeded"
            return done if not skipped else f"{done} but {skipped} skipped"
        where = ", ".join(t.split(".", 1)[-1] for t in failed)
        return f"stopped at {where} (failed)" + (f"; {skipped} tasks did not run" if skipped else "")


def groups_of(rows: Iterable[tuple[str, str | None]]) -> dict[str, Group]:
    """``(task_id, state)`` rows grouped by task group (the part of the id before the first dot)."""
    out: dict[str, Group] = {}
    for task_id, state in rows:
        name = task_id.split(".", 1)[0]
        out.setdefault(name, Group(name)).states[task_id] = state
    return out


def read_states(db: str, dag_id: str) -> list[tuple[str, str | None]]:
    """``(task_id, state)`` of the newest run of ``dag_id``; [] when there is none yet (or the DB is busy)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2) as conn:
            run = conn.execute(
                "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
            ).fetchone()
            if run is None:
                return []
            query = "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ? ORDER BY task_id"
            return [(str(t), s) for t, s in conn.execute(query, (dag_id, run[0]))]
    except sqlite3.Error:
        return []


def alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Reporter:
    """Prints each group once, when it has finished, numbered among the groups."""

    def __init__(self, out: TextIO | None = None, started: float | None = None) -> None:
        self.out = out or sys.stdout
        self.started = time.monotonic() if started is None else started
        self.shown: set[str] = set()

    def clock(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"[{seconds // 60:3d}:{seconds % 60:02d}]"

    def update(self, rows: Sequence[tuple[str, str | None]]) -> list[str]:
        groups = groups_of(rows)
        lines = []
        for name, group in groups.items():
            if name in self.shown or not group.finished:
                continue
            self.shown.add(name)
            lines.append(f"  {self.clock()} {len(self.shown):2d}/{len(groups)}  {name:<26} {group.summary()}")
        for line in lines:
            print(line, file=self.out, flush=True)
        return lines


def watch(db: str, dag_id: str, pid: int | None, interval: float = 2.0) -> int:
    """Report groups as they finish until ``pid`` has exited; a last read catches the final states."""
    reporter = Reporter()
    while alive(pid):
        reporter.update(read_states(db, dag_id))
        time.sleep(interval)
    reporter.update(read_states(db, dag_id))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_chaos.demo.progress", description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="Airflow's SQLite metadata DB (airflow.db)")
    parser.add_argument("--dag", required=True, help="the DAG id")
    parser.add_argument("--pid", type=int, help="stop when this process (airflow dags test) has exited")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between reads (default 2)")
    args = parser.parse_args(argv)
    return watch(args.db, args.dag, args.pid, args.interval)


if __name__ == "__main__":
    sys.exit(main())
