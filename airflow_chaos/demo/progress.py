"""Progress of a running experiment, read from Airflow's SQLite metadata DB: ``python -m airflow_chaos.demo.progress``.

``make demo`` runs the resilience suite through ``airflow dags test`` (minutes, with its output in a log
file) and this beside it. ``airflow dags test`` runs the scenarios side by side, one pipeline stage
after the other, so every few seconds this reads the task states of the DAG's newest run and prints
one line per stage (a task of the pipeline, across every scenario's task group) as soon as it has
finished everywhere, naming the scenarios where it failed or never ran::

    [  3:05]  2/17  extract_orders            20 succeeded; failed in api_500, api_malformed
    [  4:12]  3/17  validate_orders           14 succeeded; failed in dropped_column, ...; not run in api_500, ...

It reads the ``dag_run`` and ``task_instance`` tables read-only (standard library ``sqlite3``, no
Airflow import) and exits when the process ``--pid`` (the ``airflow dags test``) has ended. Verdicts are
decided at the end by ``assert_detected``; ``airflow-chaos report`` prints them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

FINISHED = frozenset({"success", "failed", "upstream_failed", "skipped", "removed"})
NOT_RUN = frozenset({"upstream_failed", "skipped", "removed"})


@dataclass
class Stage:
    """One task of the pipeline across the task groups: ``{group: state}`` (a top-level task: ``{"": state}``)."""

    name: str
    states: dict[str, str | None] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return bool(self.states) and all(s in FINISHED for s in self.states.values())

    def summary(self) -> str:
        """``23 succeeded``, then the groups where it failed and where it never ran."""
        if list(self.states) == [""]:
            return str(self.states[""])
        parts = [f"{sum(s == 'success' for s in self.states.values())} succeeded"]
        failed = sorted(g for g, s in self.states.items() if s == "failed")
        not_run = sorted(g for g, s in self.states.items() if s in NOT_RUN)
        if failed:
            parts.append(f"failed in {', '.join(failed)}")
        if not_run:
            parts.append(f"not run in {', '.join(not_run)}")
        return "; ".join(parts)


def stages_of(rows: Iterable[tuple[str, str | None]]) -> dict[str, Stage]:
    """``(task_id, state)`` rows by stage: ``group.task`` counts for stage ``task`` and group ``group``."""
    out: dict[str, Stage] = {}
    for task_id, state in rows:
        group, _, task = task_id.rpartition(".")
        out.setdefault(task, Stage(task)).states[group] = state
    return out


def read_states(db: str, dag_id: str) -> list[tuple[str, str | None]]:
    """``(task_id, state)`` of the newest run of ``dag_id``; [] when there is none yet (or the DB is busy)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)) as conn:
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
    """Prints each stage once, when it has finished everywhere, numbered among the stages."""

    def __init__(self, out: TextIO | None = None, started: float | None = None) -> None:
        self.out = out or sys.stdout
        self.started = time.monotonic() if started is None else started
        self.shown: set[str] = set()

    def clock(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"[{seconds // 60:3d}:{seconds % 60:02d}]"

    def update(self, rows: Sequence[tuple[str, str | None]]) -> list[str]:
        stages = stages_of(rows)
        lines = []
        for name, stage in stages.items():
            if name in self.shown or not stage.finished:
                continue
            self.shown.add(name)
            lines.append(f"  {self.clock()} {len(self.shown):2d}/{len(stages)}  {name:<24} {stage.summary()}")
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


def gate(db: str, dag_id: str, task_id: str, out: TextIO | None = None) -> int:
    """The exit code of the newest run's judge ``task_id``: 0 success, 1 any other state, 2 never ran."""
    state = dict(read_states(db, dag_id)).get(task_id)
    print(f"{task_id}: {state or 'never ran'}", file=out or sys.stdout)
    return 2 if state is None else 0 if state == "success" else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_chaos.demo.progress", description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="Airflow's SQLite metadata DB (airflow.db)")
    parser.add_argument("--dag", required=True, help="the DAG id")
    parser.add_argument("--pid", type=int, help="stop when this process (airflow dags test) has exited")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between reads (default 2)")
    parser.add_argument("--gate", metavar="TASK", help="print TASK's state in the newest run and exit 0 (success), 1 or 2 (never ran)")
    args = parser.parse_args(argv)
    if args.gate:
        return gate(args.db, args.dag, args.gate)
    return watch(args.db, args.dag, args.pid, args.interval)


if __name__ == "__main__":
    sys.exit(main())
