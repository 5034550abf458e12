"""What ``make e2e`` checks on a running stack, driven only through Airflow's REST API, the shared
journal (read with :class:`~airflow_chaos.experiment.journal.Journal`, as ``airflow-chaos restore``
reads it) and the files in the shared data directory. Each function asserts; the test modules
call them on the LocalExecutor stack and on the CeleryExecutor one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from airflow_chaos.experiment.journal import Journal
from tests.e2e.stack import BIN, AirflowApi, Stack, parse_time, wait_for

KILL_SWITCH = "chaos_kill_switch"
#: Verdicts that mean the pipeline missed a fault.
MISSES = ("SILENT", "INJECTION_ERROR")


# ---------------------------------------------------------------------- the suite
@dataclass(frozen=True)
class SuiteDag:
    """One DAG of the suite: the verdict expected for each injection (``task_id:kind``)."""

    dag_id: str
    expected: Mapping[str, str]
    conf: Callable[[Stack], dict[str, Any]] = field(default=lambda stack: {})
    #: ``task_id:kind`` of scenarios the README lists as known gaps: SILENT is expected there.
    known_gaps: frozenset[str] = frozenset()


EXAMPLE_SUITE: tuple[SuiteDag, ...] = (
    SuiteDag("chaos_quickstart", {"transform:drop_column": "DETECTED"}),
    SuiteDag(
        "chaos_data_quality",
        {
            "build_features:inject_nulls": "DETECTED",
            "build_features:out_of_range": "DETECTED",
            "build_features:shift_distribution": "DETECTED",
        },
    ),
    SuiteDag("chaos_late_file", {"wait_for_orders:hold_back_file": "DETECTED"}),  # AIRFLOW_CHAOS_DROP_ROOT
    SuiteDag(
        "chaos_feature_store",
        {"materialize:stale_features": "DETECTED", "corrupt_conv_rate:corrupt_features": "DETECTED"},
        lambda stack: {"feast_repo": str(stack.data / "feast")},
    ),
)


def verdicts_of(report: Mapping[str, Any]) -> dict[str, str]:
    return {f"{r['task_id']}:{r['kind']}": str(r["verdict"]) for r in report["results"]}


def run_suite(stack: Stack, api: AirflowApi, suite: Iterable[SuiteDag] = EXAMPLE_SUITE) -> dict[str, str]:
    """Trigger every DAG of the suite at once through the REST API, wait for all, assert each scorecard.

    Returns ``{dag_id: run_id}``. Fails when a run did not succeed, a verdict differs from the expected
    one, a scenario outside the known gaps is SILENT or INJECTION_ERROR, or a mutation is left
    unrestored in the shared journal.
    """
    suite = list(suite)
    api.wait_parsed(*(d.dag_id for d in suite))
    runs = {}
    for dag in suite:
        api.unpause(dag.dag_id)
        runs[dag.dag_id] = api.trigger(dag.dag_id, dag.conf(stack))
    states = {dag_id: api.wait_run(dag_id, run_id, timeout=900, stack=stack) for dag_id, run_id in runs.items()}
    problems = []
    for dag in suite:
        run_id = runs[dag.dag_id]
        if states[dag.dag_id] != "success":
            problems.append(f"{dag.dag_id}: run {states[dag.dag_id]}: {api.task_states(dag.dag_id, run_id)}")
            continue
        report = api.xcom(dag.dag_id, run_id, "assert_detected", "chaos_report")
        verdicts = verdicts_of(report)
        missed = sorted(k for k, v in verdicts.items() if v in MISSES and k not in dag.known_gaps)
        if missed:
            problems.append(f"{dag.dag_id}: missed (not a documented known gap): {missed}: {verdicts}")
        if verdicts != dict(dag.expected):
            problems.append(f"{dag.dag_id}: verdicts {verdicts}, expected {dict(dag.expected)}")
    assert not problems, "\n".join(problems)
    pending = Journal(stack.journal).pending()
    assert pending == [], f"mutations left unrestored by the suite's teardowns: {pending}"
    return runs


# ---------------------------------------------------------------------- kill switch under load
def kill_switch_under_load(stack: Stack, api: AirflowApi, *, flip_after: int = 4) -> None:
    """Flip ``chaos_kill_switch`` while 4 lanes of armed steps run: every step that starts after the flip
    injects nothing (from the records: 0), the steps before it did inject, and the run succeeds."""
    dag_id = "e2e_kill_switch_under_load"
    api.wait_parsed(dag_id)
    api.delete_variable(KILL_SWITCH)
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, {"step_seconds": 3})

    def done_steps() -> int:
        stack.check_alive()
        return sum(state == "success" for state in api.task_states(dag_id, run_id).values()) >= flip_after

    wait_for(done_steps, 600, f"{flip_after} armed steps to finish before the flip", 1)
    try:
        api.set_variable(KILL_SWITCH, "true")
        flipped = datetime.now(timezone.utc)  # the Variable is committed: anything starting now reads it
        state = api.wait_run(dag_id, run_id, timeout=900, stack=stack)
    finally:
        api.delete_variable(KILL_SWITCH)
    instances = api.task_instances(dag_id, run_id)
    assert state == "success", api.task_states(dag_id, run_id)
    assert {ti["state"] for ti in instances} == {"success"}, api.task_states(dag_id, run_id)
    records = {x["task_id"]: x["value"] for x in api.xcoms(dag_id, run_id, "chaos_injections")}
    assert set(records) == {ti["task_id"] for ti in instances}, "every armed step pushes its records"
    after = [ti["task_id"] for ti in instances if parse_time(ti["start_date"]) > flipped]
    before = [ti["task_id"] for ti in instances if ti["task_id"] not in after]
    injected_after = [(t, r["kind"]) for t in after for r in records[t] if r["status"] == "injected"]
    skipped_after = [r for t in after for r in records[t] if r["status"] == "skipped"]
    injected_before = [r for t in before for r in records[t] if r["status"] == "injected"]
    assert len(after) >= 4, f"the flip came too late to prove anything: only {after} started after it"
    assert injected_after == [], f"injections that started after the kill switch was flipped: {injected_after}"
    assert len(skipped_after) == len(after)
    assert all("kill switch" in str(r["reason"]) for r in skipped_after), skipped_after
    assert len(injected_before) >= flip_after, "before the flip the steps injected"
    print(
        f"kill switch: {len(before)} steps started before the flip ({len(injected_before)} injections), "
        f"{len(after)} after it (0 injections, {len(skipped_after)} skipped)"
    )


# ---------------------------------------------------------------------- two seeds at once
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def concurrent_seeded_runs(stack: Stack, api: AirflowApi) -> None:
    """Two runs of one DAG at once, different seeds, different sandboxes: while both hold a mutation,
    each sandbox holds exactly what its own run journaled; each teardown restores its own entries only."""
    dag_id = "e2e_seeded_sandboxes"
    api.wait_parsed(dag_id)
    api.unpause(dag_id)
    data = stack.data / "seeded"
    sandboxes = {"one": data / "one" / "orders.csv", "two": data / "two" / "orders.csv"}
    runs = {name: api.trigger(dag_id, {"data": str(data), "sandbox": name}) for name in sandboxes}

    def both_injected() -> bool:
        stack.check_alive()
        return all(api.task_states(dag_id, run).get("inject") == "success" for run in runs.values())

    wait_for(both_injected, 600, "both runs to inject", 1)
    journal = Journal(stack.journal)
    entries = {name: journal.pending(dag_id=dag_id, run_id=run) for name, run in runs.items()}
    for name, path in sandboxes.items():
        own = entries[name]
        assert [e.path for e in own] == [str(path)], f"run {name} journaled {own}"
        assert sha256(path) == own[0].checksum_after, f"sandbox {name} holds what its own run's fault left"
    assert entries["one"][0].checksum == entries["two"][0].checksum, "both sandboxes started from the same bytes"
    assert entries["one"][0].checksum_after != entries["two"][0].checksum_after, "different seeds, different bytes"
    seeds = {
        name: [r["seed"] for r in api.xcom(dag_id, run, "inject", "chaos_injections")] for name, run in runs.items()
    }
    assert seeds["one"] != seeds["two"], seeds
    (data / "release").write_text("go")
    states = {name: api.wait_run(dag_id, run, timeout=600, stack=stack) for name, run in runs.items()}
    assert states == {"one": "success", "two": "success"}, {n: api.task_states(dag_id, r) for n, r in runs.items()}
    for name, run in runs.items():
        seen = api.xcom(dag_id, run, "read_back")
        assert seen == entries[name][0].checksum_after, f"run {name} read its own faulted sandbox"
        restored = api.xcom(dag_id, run, "restore")
        assert [(r["path"], r["outcome"]) for r in restored] == [(str(sandboxes[name]), "restored")], restored
        assert sha256(sandboxes[name]) == entries[name][0].checksum
    assert journal.pending(dag_id=dag_id) == []


def concurrent_suites(stack: Stack, api: AirflowApi) -> None:
    """Two experiment DAGs (``chaos_matrix``) with seeds 1 and 2 run at once: each one's journal entries
    point only into its own sandboxes, its teardown restores its own entries only, every verdict is
    DETECTED, and every sandbox ends holding the bytes its pipeline wrote."""
    dags = ("e2e_suite_seed_1", "e2e_suite_seed_2")
    api.wait_parsed(*dags)
    for dag_id in dags:
        api.unpause(dag_id)
    runs = {dag_id: api.trigger(dag_id) for dag_id in dags}
    states = {dag_id: api.wait_run(dag_id, run_id, timeout=900, stack=stack) for dag_id, run_id in runs.items()}
    assert states == dict.fromkeys(dags, "success"), {d: api.task_states(d, r) for d, r in runs.items()}
    spans = [api.get(f"/dags/{d}/dagRuns/{r}") for d, r in runs.items()]
    starts, ends = [parse_time(s["start_date"]) for s in spans], [parse_time(s["end_date"]) for s in spans]
    assert max(starts) < min(ends), f"the two experiments did not overlap: {starts} {ends}"

    journal, root, seeds = Journal(stack.journal), stack.data / "sandboxes", {}
    for dag_id, run_id in runs.items():
        report = api.xcom(dag_id, run_id, "assert_detected", "chaos_report")
        verdicts = {r["scenario"]: r["verdict"] for r in report["results"]}
        assert verdicts == dict.fromkeys(("nulls", "dropped_column", "duplicates"), "DETECTED"), verdicts
        seeds[dag_id] = sorted(r["seed"] for r in report["results"])
        entries = journal.entries(dag_id=dag_id, run_id=run_id)
        assert len(entries) == 3, entries
        assert all(Path(e.path).is_relative_to(root / dag_id) for e in entries), [e.path for e in entries]
        assert [journal.state_of(e.id) for e in entries] == ["restored"] * 3
        restored = api.xcom(dag_id, run_id, "chaos_restore")
        assert sorted(r["id"] for r in restored) == sorted(e.id for e in entries), "its own entries, no other's"
        original = sha256(root / dag_id / "control" / "orders.csv")
        for scenario in ("nulls", "dropped_column", "duplicates"):
            assert sha256(root / dag_id / scenario / "orders.csv") == original, f"{dag_id}/{scenario} restored"
    assert seeds[dags[0]] != seeds[dags[1]], seeds
    assert journal.pending() == []


# ---------------------------------------------------------------------- SIGKILL mid-injection
def task_log(stack: Stack, dag_id: str, run_id: str, task_id: str) -> tuple[Path, str]:
    """The task's log file (in whichever AIRFLOW_HOME ran it) and its text."""
    pattern = f"**/logs/dag_id={dag_id}/run_id={run_id}/task_id={task_id}/attempt=*.log"
    found = sorted(stack.root.glob(pattern))
    assert found, f"no log for {dag_id}/{run_id}/{task_id} under {stack.root}"
    return found[-1], "\n".join(p.read_text(errors="replace") for p in found)


def start_sigkill_run(stack: Stack, api: AirflowApi) -> tuple[str, Path, int]:
    """Trigger ``e2e_sigkill`` with a long ``consume``; return (run id, input file, pid of the task)
    once chaos has corrupted the input and the task is working."""
    dag_id = "e2e_sigkill"
    api.wait_parsed(dag_id)
    api.unpause(dag_id)
    marker = stack.data / "sigkill" / "working.pid"
    marker.unlink(missing_ok=True)
    run_id = api.trigger(dag_id, {"data": str(stack.data), "work_seconds": 900})

    def working() -> bool:
        stack.check_alive()
        return marker.exists() and marker.read_text().strip().isdigit()

    wait_for(working, 600, "the armed task to start working on its corrupted input", 1)
    return run_id, stack.data / "sigkill" / "input.csv", int(marker.read_text())


def assert_mutated_by(stack: Stack, path: Path, dag_id: str, run_id: str) -> str:
    """The file holds what the run's journaled fault left; returns the original's checksum."""
    entries = Journal(stack.journal).pending(dag_id=dag_id, run_id=run_id)
    assert [e.path for e in entries] == [str(path)], entries
    assert sha256(path) == entries[0].checksum_after != entries[0].checksum
    return str(entries[0].checksum)


def sigkill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def airflow_chaos_restore(stack: Stack) -> str:
    out = subprocess.run(
        [str(BIN / "airflow-chaos"), "restore", "--journal", str(stack.journal)],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def wait_state(api: AirflowApi, dag_id: str, run_id: str, states: Iterable[str], timeout: float) -> str:
    wanted = set(states)
    return wait_for(lambda: (s := api.run_state(dag_id, run_id)) in wanted and s, timeout, f"{run_id} in {wanted}", 2)


# ---------------------------------------------------------------------- the resilience suite
#: Scenarios of example_dags/resilience_suite.py that the README lists as known gaps: SILENT is honest there.
SUITE_KNOWN_GAPS = frozenset({"slow_inference"})


def suite_scenarios() -> list[str]:
    """The scenario names ``example_dags/resilience_suite.py`` declares."""
    import importlib.util
    import sys

    from tests.e2e.stack import ROOT

    folder = str(ROOT / "example_dags")
    if folder not in sys.path:
        sys.path.append(folder)  # the suite imports ml_pipeline from its own folder
    spec = importlib.util.spec_from_file_location("resilience_suite_e2e", ROOT / "example_dags" / "resilience_suite.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return sorted(module.SCENARIOS)


def run_resilience_suite(stack: Stack, api: AirflowApi, dag_id: str = "resilience_suite") -> dict[str, str]:
    """Trigger the resilience suite through the REST API, wait for it, assert its scorecard.

    The run gets a logical date, as its weekly schedule gives it. Fails unless the run succeeds, the
    control held its steady state (no INCONCLUSIVE), every scenario has a verdict, none is an
    INJECTION_ERROR, only documented known gaps are SILENT, the scorecards were written, and the
    teardown left nothing in the journal. Returns ``{scenario: verdict}`` (the worst of its faults).
    """
    api.wait_parsed(dag_id, timeout=600)
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, logical_date=True)
    state = api.wait_run(dag_id, run_id, timeout=7200, stack=stack)
    failed = {t: s for t, s in api.task_states(dag_id, run_id).items() if s not in ("success", "skipped")}
    assert state == "success", f"run {state}; tasks not successful: {failed}"
    report = api.xcom(dag_id, run_id, "assert_detected", "chaos_report")
    order = ["DETECTED", "RECOVERED", "FAILED_LOUDLY", "SKIPPED", "SILENT", "INCONCLUSIVE", "INJECTION_ERROR"]
    verdicts: dict[str, str] = {}
    for result in report["results"]:
        scenario, verdict = str(result["scenario"]), str(result["verdict"])
        if scenario not in verdicts or order.index(verdict) > order.index(verdicts[scenario]):
            verdicts[scenario] = verdict
    print("resilience suite verdicts: " + ", ".join(f"{k}={v}" for k, v in sorted(verdicts.items())))
    assert sorted(verdicts) == suite_scenarios(), "every scenario of the suite has a verdict"
    bad = {k: v for k, v in verdicts.items() if v in ("INCONCLUSIVE", "INJECTION_ERROR")}
    assert bad == {}, bad
    silent = {k for k, v in verdicts.items() if v == "SILENT"}
    assert silent <= SUITE_KNOWN_GAPS, f"SILENT and not a documented known gap: {sorted(silent - SUITE_KNOWN_GAPS)}"
    from airflow_chaos.report.scorecard import scorecard_dir

    written = sorted(
        p.name for p in Path(str(scorecard_dir(stack.shared / "reports", dag_id, run_id))).glob("scorecard.*")
    )
    assert {"scorecard.json", "scorecard.html"} <= set(written), written
    pending = Journal(stack.journal).pending(dag_id=dag_id)
    assert pending == [], f"left unrestored by chaos_restore: {pending}"
    return verdicts
