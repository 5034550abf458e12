"""Scorecards: time to build all three files (JSON, Markdown, HTML with its four plots) for a 100-scenario experiment.

The experiment: 100 scenarios plus the control, 150 injections over data, file, timing and HTTP faults,
four checks per scenario, a model metric per scenario (impact bars), a time to detect per caught
fault, and 30 earlier scorecards of the same DAG (the score-over-time plot). Judged by the same
``judge_matrix`` an ``AssertDetectedOperator`` uses, then written by ``write_scorecards``.

Goal: under 2 s, plots included. Printed: the first write in a fresh process (it imports matplotlib)
and the median of the next REPEAT writes, with the share of each step.

Run: ``.venv/bin/python bench/report.py``. Not part of the test suite.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from airflow_chaos import faults
from airflow_chaos.experiment.matrix import ExperimentPlan, PlannedScenario, judge_matrix
from airflow_chaos.experiment.verdicts import ExperimentReport
from airflow_chaos.records import Detection, Injection, InjectionStatus, utcnow

SCENARIOS = 100
HISTORY = 30
REPEAT = 5
GOAL_S = 2.0
PIPELINE = ("extract", "load", "prepare", "validate", "check_file", "train")
CHECKS = (
    ("validate", "expect_column_values_to_not_be_null:age", ["completeness"]),
    ("validate", "expect_table_row_count_to_be_between", ["volume"]),
    ("validate", "required_columns", ["schema"]),
    ("check_file", "readable_as_csv", ["format"]),
)
FAULTS = (
    ("prepare", faults.InjectNulls(column="age", fraction=0.3)),
    ("prepare", faults.DropColumn(column="income")),
    ("prepare", faults.ShiftDistribution(column="income", mean_shift=2.0)),
    ("prepare", faults.TruncateRows(keep_fraction=0.5)),
    ("load", faults.TruncateFile(path="/data/raw.csv", keep_fraction=0.5)),
    ("load", faults.PartialOutput(fraction=0.5)),
    ("extract", faults.HttpError(status=500)),
    ("extract", faults.Delay(seconds=0.5)),
)


def experiment(run: int) -> ExperimentReport:
    names = [f"s{i:03d}" for i in range(SCENARIOS)]
    plan = ExperimentPlan(scenarios=[PlannedScenario(name="control", control=True)] + [PlannedScenario(name=n, seed=i) for i, n in enumerate(names)])
    now = utcnow()
    injections, detections, metrics, states, down = [], [], {"control.train": {"auc": 0.91}}, {}, {}
    for i, name in enumerate(["control", *names]):
        for j, task in enumerate(PIPELINE):
            states[f"{name}.{task}"] = "success"
            down[f"{name}.{task}"] = {f"{name}.{t}" for t in PIPELINE[j + 1 :]}
        if name == "control":
            detections += [Detection(check=c, signals=s, passed=True, task_id=f"control.{t}") for t, c, s in CHECKS]
            continue
        picked = [FAULTS[i % len(FAULTS)]] + ([FAULTS[(i + 3) % len(FAULTS)]] if i % 2 else [])
        for task, fault in picked:
            changes = {"mean_before": 50.0, "std_before": 10.0, "rows_before": 1000}
            injections.append(Injection.for_fault(fault, InjectionStatus.INJECTED, task_id=f"{name}.{task}", finished_at=now, changes=changes))
        wanted = {s for _, f in picked for s in f.signals}
        for t, c, s in CHECKS:
            caught = bool(wanted & set(s)) and i % 5 != 0
            detections.append(Detection(check=c, signals=s, passed=not caught, task_id=f"{name}.{t}", at=now + timedelta(seconds=1 + i % 7)))
        metrics[f"{name}.train"] = {"auc": 0.91 - 0.002 * i}
    return judge_matrix(plan, injections, detections, states, down, metrics, dag_id="resilience_suite", run_id=f"scheduled__{run:04d}")


def main() -> None:
    from airflow_chaos.report.files import write_scorecards

    report = experiment(HISTORY)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        for run in range(HISTORY):  # earlier scorecards, written without their HTML
            (root / "resilience_suite" / f"scheduled__{run:04d}").mkdir(parents=True)
            (root / "resilience_suite" / f"scheduled__{run:04d}" / "scorecard.json").write_text(
                '{"run_id": "scheduled__%04d", "generated_at": "2026-01-%02dT00:00:00+00:00", "score": %.2f}'
                % (run, run % 28 + 1, 0.6 + 0.01 * run)
            )
        start = time.perf_counter()
        card, files = write_scorecards(report, root)
        cold = time.perf_counter() - start
        warm, cpu = [], []
        for _ in range(REPEAT):
            start, start_cpu = time.perf_counter(), time.process_time()
            write_scorecards(report, root)
            warm.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        sizes = {p.name: p.stat().st_size for p in (files.json, files.markdown, files.html)}
        steps = profile(report, root)
    median = statistics.median(warm)
    print(f"{SCENARIOS} scenarios + control, {len(card.results)} injections, {len(card.matrix.checks)} checks, {len(card.history)} earlier scorecards")
    print(f"  first write (imports matplotlib): {cold:.2f} s")
    cpu_median = statistics.median(cpu)
    print(f"  median of {REPEAT} writes:        {median:.2f} s wall, {cpu_median:.2f} s CPU")
    print(
        f"  goal < {GOAL_S:.0f} s: wall {'met' if median < GOAL_S else 'missed'}, CPU {'met' if cpu_median < GOAL_S else 'MISSED'} "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: on a busy machine the CPU time is "
        "what an idle one takes)"
    )
    print("  steps: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in steps.items()))
    print("  sizes: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sizes.items()))


def profile(report: ExperimentReport, root: Path) -> dict[str, float]:
    from airflow_chaos.report import plots
    from airflow_chaos.report.html import render_html
    from airflow_chaos.report.markdown import render_markdown
    from airflow_chaos.report.scorecard import build_scorecard, read_history

    out: dict[str, float] = {}

    def timed(name: str, work):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        value = work()
        out[name] = time.perf_counter() - start
        return value

    history = timed("history", lambda: read_history(root, report.dag_id, before=report.run_id))
    card = timed("scorecard", lambda: build_scorecard(report, history))
    timed("json", lambda: card.model_dump_json())
    timed("markdown", lambda: render_markdown(card))
    for name in ("heatmap", "impact_bars", "time_to_detect_bars", "score_over_time"):
        timed(name, lambda name=name: getattr(plots, name)(card))
    timed("html (all)", lambda: render_html(card))
    return out


if __name__ == "__main__":
    main()
