"""Verdict rules and the resilience score.

Per injection, after the run (DESIGN §1):

1. ``SKIPPED`` when the injection was not applied (probability, kill switch, guard, dry run), was
   armed but never triggered, or went in but changed nothing (``effective=False``: an empty table,
   an all-null column), with the injection's reason; ``INJECTION_ERROR`` when the chaos engine
   itself failed.
2. ``DETECTED`` when a check on the injected task or downstream of it failed on a matching signal.
3. ``FAILED_LOUDLY`` when the injected task or a task downstream of it raised.
4. ``RECOVERED`` when the fault is recoverable (transient), the run succeeded and the checks on the
   output downstream passed.
5. ``SILENT`` otherwise: the fault went in and everything stayed green.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field

from airflow_chaos.records import Detection, Injection, InjectionStatus

FAILED_STATES = frozenset({"failed"})


class Verdict(str, Enum):
    DETECTED = "DETECTED"
    FAILED_LOUDLY = "FAILED_LOUDLY"
    RECOVERED = "RECOVERED"
    SILENT = "SILENT"
    SKIPPED = "SKIPPED"
    INJECTION_ERROR = "INJECTION_ERROR"


CAUGHT = frozenset({Verdict.DETECTED, Verdict.FAILED_LOUDLY, Verdict.RECOVERED})
NOT_INJECTED = frozenset({Verdict.SKIPPED, Verdict.INJECTION_ERROR})


class VerdictResult(BaseModel):
    """The verdict on one injection and the evidence for it."""

    injection_id: str
    task_id: str
    map_index: int = -1
    kind: str
    fault: dict[str, Any]
    signals: list[str]
    verdict: Verdict
    reason: str
    evidence: list[str] = Field(default_factory=list)
    changes: dict[str, Any] = Field(default_factory=dict)


class ExperimentReport(BaseModel):
    """One experiment (a DAG run with chaos enabled): its verdicts and resilience score."""

    dag_id: str = ""
    run_id: str = ""
    results: list[VerdictResult]
    detections: int = 0
    counts: dict[str, int]
    injected: int
    score: float | None
    score_by_signal: dict[str, float | None]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def table(self) -> str:
        """A fixed-width text table of the verdicts, for logs and the terminal."""
        header = ("task", "fault", "signals", "verdict", "evidence")
        rows = [
            (
                r.task_id if r.map_index < 0 else f"{r.task_id}[{r.map_index}]",
                _fault_label(r),
                ",".join(r.signals),
                r.verdict.value,
                "; ".join(r.evidence) or r.reason,
            )
            for r in self.results
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
        line = "  ".join("{:<%d}" % w for w in widths)
        out = [line.format(*header), line.format(*("-" * w for w in widths))]
        out += [line.format(*row) for row in rows]
        score = "n/a" if self.score is None else f"{self.score:.0%}"
        out.append(f"resilience score: {score} ({self.injected} injected, " + _counts_label(self.counts) + ")")
        return "\n".join(out)


def _fault_label(result: VerdictResult) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in result.fault.items() if k != "kind" and v is not None)
    return f"{result.kind}({params})"


def _counts_label(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing recorded"


def _verdict(
    inj: Injection,
    scope: set[str],
    detections: list[Detection],
    task_states: Mapping[str, str],
) -> tuple[Verdict, str, list[str]]:
    if inj.status is InjectionStatus.ERROR:
        return Verdict.INJECTION_ERROR, inj.error or inj.reason or "the chaos engine failed", []
    if inj.status is not InjectionStatus.INJECTED:
        return Verdict.SKIPPED, inj.reason or inj.status.value, []
    if inj.changed_nothing:  # nothing went in that a check could catch: never SILENT
        return Verdict.SKIPPED, inj.reason or "armed, but never triggered", []

    in_scope = [d for d in detections if d.task_id in scope or not d.task_id]
    wanted = set(inj.signals)
    caught = [d for d in in_scope if not d.passed and wanted & set(d.signals)]
    if caught:
        return (
            Verdict.DETECTED,
            "a check on a matching signal failed",
            [f"{d.task_id or '?'}:{d.check} [{','.join(sorted(wanted & set(d.signals)))}]" for d in caught],
        )
    raised = sorted(t for t in scope if task_states.get(t) in FAILED_STATES)
    if inj.outcome == "raised" and inj.task_id not in raised:
        raised.insert(0, inj.task_id)
    if raised:
        return Verdict.FAILED_LOUDLY, "a task raised", [f"{t} failed" for t in raised]
    passed = [d for d in in_scope if d.passed]
    if inj.recoverable and passed:
        how = f"retried (try {inj.try_number})" if inj.try_number > 1 else "absorbed the fault"
        return (
            Verdict.RECOVERED,
            f"the task {how} and the checks on its output passed",
            [f"{d.task_id or '?'}:{d.check} passed" for d in passed],
        )
    return Verdict.SILENT, "the fault went in and every task went green", []


def decide_verdicts(
    injections: Iterable[Injection],
    detections: Iterable[Detection],
    task_states: Mapping[str, str] | None = None,
    downstream: Mapping[str, Iterable[str]] | None = None,
) -> list[VerdictResult]:
    """Apply the verdict rules.

    ``task_states`` maps task ids to their final state; ``downstream`` maps a task id to the ids of
    the tasks downstream of it (when absent, every task of the run is in scope).
    """
    states = dict(task_states or {})
    dets = list(detections)
    every_task = set(states) | {d.task_id for d in dets}
    results = []
    for inj in injections:
        scope = every_task | {inj.task_id} if downstream is None else {inj.task_id, *downstream.get(inj.task_id, ())}
        verdict, reason, evidence = _verdict(inj, scope, dets, states)
        results.append(
            VerdictResult(
                injection_id=inj.id,
                task_id=inj.task_id,
                map_index=inj.map_index,
                kind=inj.kind,
                fault=inj.fault,
                signals=inj.signals,
                verdict=verdict,
                reason=reason,
                evidence=evidence,
                changes=inj.changes,
            )
        )
    return results


def score(results: Iterable[VerdictResult]) -> tuple[float | None, dict[str, float | None]]:
    """Resilience score = (DETECTED + FAILED_LOUDLY + RECOVERED) / injected, overall and per signal."""
    counted = [r for r in results if r.verdict not in NOT_INJECTED]
    if not counted:
        return None, {}
    overall = sum(r.verdict in CAUGHT for r in counted) / len(counted)
    by_signal: dict[str, list[bool]] = {}
    for r in counted:
        for s in r.signals:
            by_signal.setdefault(s, []).append(r.verdict in CAUGHT)
    return overall, {s: sum(v) / len(v) for s, v in sorted(by_signal.items())}


def build_report(
    injections: Iterable[Injection],
    detections: Iterable[Detection],
    task_states: Mapping[str, str] | None = None,
    downstream: Mapping[str, Iterable[str]] | None = None,
    dag_id: str = "",
    run_id: str = "",
) -> ExperimentReport:
    """Verdicts, counts and score for one experiment."""
    dets = list(detections)
    results = decide_verdicts(injections, dets, task_states, downstream)
    overall, by_signal = score(results)
    counts = Counter(r.verdict.value for r in results)
    return ExperimentReport(
        dag_id=dag_id,
        run_id=run_id,
        results=results,
        detections=len(dets),
        counts={v.value: counts.get(v.value, 0) for v in Verdict},
        injected=sum(r.verdict not in NOT_INJECTED for r in results),
        score=overall,
        score_by_signal=by_signal,
    )
