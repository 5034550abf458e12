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
5. ``SILENT`` otherwise: the fault went in and everything stayed green. A check whose task succeeded
   although its own result said "failed" (``Detection.reported_failure``) is named in the reason.

Then, across the run:

- **Honest attribution.** A failed check credits every injection in its scope that declares one of its
  signals, so with two faults one can ride on the other's detection. A DETECTED injection whose every
  crediting detection also credits another injection is ``shared`` (``shared_with`` names the others);
  a matrix confirms it with a single-fault scenario (:mod:`airflow_chaos.experiment.matrix`).
- **Time to detect**: from the injection's end to the end of the first detection that caught it.
- **INCONCLUSIVE**: when the control run of an experiment failed its own steady-state checks, every
  verdict the rules gave (DETECTED, FAILED_LOUDLY, RECOVERED, SILENT) becomes INCONCLUSIVE, the rules'
  verdict kept in ``would_be``: the detection of a pre-existing failure proves nothing
  (:func:`inconclusive`).

The resilience score counts neither INCONCLUSIVE nor the verdicts of faults that did not go in.
With per-signal weights (``[chaos] signal_weights``), an injection weighs as its heaviest signal;
``unweighted_score`` stays in the report.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.records import Detection, Injection, InjectionStatus, validate_signals

FAILED_STATES = frozenset({"failed"})


class Verdict(str, Enum):
    DETECTED = "DETECTED"
    FAILED_LOUDLY = "FAILED_LOUDLY"
    RECOVERED = "RECOVERED"
    SILENT = "SILENT"
    SKIPPED = "SKIPPED"
    INJECTION_ERROR = "INJECTION_ERROR"
    INCONCLUSIVE = "INCONCLUSIVE"


CAUGHT = frozenset({Verdict.DETECTED, Verdict.FAILED_LOUDLY, Verdict.RECOVERED})
NOT_INJECTED = frozenset({Verdict.SKIPPED, Verdict.INJECTION_ERROR})
#: Verdicts the resilience score leaves out: the fault did not go in, or nothing can be concluded.
UNSCORED = NOT_INJECTED | {Verdict.INCONCLUSIVE}


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
    seed: int = 0
    #: The matrix scenario the injection belongs to ("" outside a matrix).
    scenario: str = ""
    #: ``task:check`` of every detection in the injection's scope, and of those that caught it.
    checks: list[str] = Field(default_factory=list)
    detected_by: list[str] = Field(default_factory=list)
    #: Every detection that caught this injection also caught others (their ids): it may ride on them.
    shared: bool = False
    shared_with: list[str] = Field(default_factory=list)
    #: Matrix: the single-fault scenario whose verdict confirms (or not) a shared detection.
    confirmed_by: str | None = None
    confirmed: bool | None = None
    #: Seconds from the injection's end to the end of the first detection that caught it.
    time_to_detect_s: float | None = None
    #: Checks whose task succeeded although their result said "failed" (a reason for SILENT).
    silent_checks: list[str] = Field(default_factory=list)
    #: For INCONCLUSIVE: the verdict the rules gave before the failed control voided it.
    would_be: Verdict | None = None


class SteadyState(BaseModel):
    """The control's steady state: the checks that must pass without faults, and whether they did."""

    scenario: str = "control"
    passed: bool
    checks: list[str] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)


class Impact(BaseModel):
    """A scenario's model metric against the control's: both measured, ``delta = scenario - control``."""

    metric: str
    control: float
    scenario: float
    delta: float


class ScenarioResult(BaseModel):
    """One scenario of a matrix: its faults, verdict counts, score, metrics and impact against the control."""

    name: str
    control: bool = False
    faults: list[dict[str, Any]] = Field(default_factory=list)
    seed: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    score: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    impact: list[Impact] = Field(default_factory=list)
    note: str = ""


class ExperimentReport(BaseModel):
    """One experiment (a DAG run with chaos enabled): its verdicts and resilience score.

    ``score`` is weighted by ``signal_weights`` when any are set, and equals ``unweighted_score`` otherwise.
    A matrix adds its ``scenarios`` and the ``control``'s steady state.
    """

    dag_id: str = ""
    run_id: str = ""
    results: list[VerdictResult]
    detections: int = 0
    counts: dict[str, int]
    injected: int
    score: float | None
    score_by_signal: dict[str, float | None]
    unweighted_score: float | None = None
    signal_weights: dict[str, float] = Field(default_factory=dict)
    scenarios: list[ScenarioResult] = Field(default_factory=list)
    control: SteadyState | None = None

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
                r.verdict.value + (" (shared)" if r.shared else ""),
                "; ".join(r.evidence) or r.reason,
            )
            for r in self.results
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
        line = "  ".join("{:<%d}" % w for w in widths)
        out = [line.format(*header), line.format(*("-" * w for w in widths))]
        out += [line.format(*row) for row in rows]
        score = _percent(self.score)
        if self.signal_weights:
            score += f" weighted ({_percent(self.unweighted_score)} unweighted)"
        out.append(f"resilience score: {score} ({self.injected} injected, " + _counts_label(self.counts) + ")")
        if self.control is not None:
            out.append(_control_label(self.control))
        return "\n".join(out)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _control_label(control: SteadyState) -> str:
    if control.passed:
        return f"control {control.scenario!r}: steady state held ({len(control.checks)} check(s) passed unfaulted)"
    return (
        f"control {control.scenario!r} FAILED its steady state ({'; '.join(control.failures)}): "
        "every verdict is INCONCLUSIVE"
    )


def _fault_label(result: VerdictResult) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in result.fault.items() if k != "kind" and v is not None)
    return f"{result.kind}({params})"


def _counts_label(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing recorded"


def check_key(detection: Detection) -> str:
    """``task:check``: how a detection is named in evidence, attribution and the scorecard's matrix."""
    return f"{detection.task_id or '?'}:{detection.check}"


def _verdict(
    inj: Injection,
    in_scope: list[Detection],
    raised_in_scope: list[str],
) -> tuple[Verdict, str, list[str], list[Detection]]:
    """The rules for one injection: verdict, reason, evidence, and the detections that caught it."""
    if inj.status is InjectionStatus.ERROR:
        return Verdict.INJECTION_ERROR, inj.error or inj.reason or "the chaos engine failed", [], []
    if inj.status is not InjectionStatus.INJECTED:
        return Verdict.SKIPPED, inj.reason or inj.status.value, [], []
    if inj.changed_nothing:  # nothing went in that a check could catch: never SILENT
        return Verdict.SKIPPED, inj.reason or "armed, but never triggered", [], []

    wanted = set(inj.signals)
    caught = [d for d in in_scope if not d.passed and wanted & set(d.signals)]
    if caught:
        return (
            Verdict.DETECTED,
            "a check on a matching signal failed",
            [f"{check_key(d)} [{','.join(sorted(wanted & set(d.signals)))}]" for d in caught],
            caught,
        )
    raised = list(raised_in_scope)
    if inj.outcome == "raised" and inj.task_id not in raised:
        raised.insert(0, inj.task_id)
    if raised:
        return Verdict.FAILED_LOUDLY, "a task raised", [f"{t} failed" for t in raised], []
    passed = [d for d in in_scope if d.passed and not d.reported_failure]
    if inj.recoverable and passed:
        how = f"retried (try {inj.try_number})" if inj.try_number > 1 else "absorbed the fault"
        return (
            Verdict.RECOVERED,
            f"the task {how} and the checks on its output passed",
            [f"{check_key(d)} passed" for d in passed],
            [],
        )
    quiet = _quiet_checks(in_scope, wanted)
    if quiet:
        return (
            Verdict.SILENT,
            f"{', '.join(quiet)} reported a failed result without failing its task: nothing noticed",
            [],
            [],
        )
    return Verdict.SILENT, "the fault went in and every task went green", [], []


def _quiet_checks(in_scope: list[Detection], wanted: set[str]) -> list[str]:
    """Checks on a matching signal whose result said "failed" while their task succeeded."""
    return list(dict.fromkeys(check_key(d) for d in in_scope if d.reported_failure and wanted & set(d.signals)))


def _time_to_detect(inj: Injection, caught: list[Detection]) -> float | None:
    if not caught:
        return None
    end: datetime = inj.finished_at or inj.started_at
    return max(0.0, (min(d.at for d in caught) - end).total_seconds())


def decide_verdicts(
    injections: Iterable[Injection],
    detections: Iterable[Detection],
    task_states: Mapping[str, str] | None = None,
    downstream: Mapping[str, Iterable[str]] | None = None,
) -> list[VerdictResult]:
    """Apply the verdict rules, then mark shared detections.

    ``task_states`` maps task ids to their final state; ``downstream`` maps a task id to the ids of
    the tasks downstream of it (when absent, every task of the run is in scope).
    """
    states = dict(task_states or {})
    dets = list(detections)
    every_task = set(states) | {d.task_id for d in dets}
    results, credits = [], []
    for inj in injections:
        scope = every_task | {inj.task_id} if downstream is None else {inj.task_id, *downstream.get(inj.task_id, ())}
        in_scope = [d for d in dets if d.task_id in scope or not d.task_id]
        raised = sorted(t for t in scope if states.get(t) in FAILED_STATES)
        verdict, reason, evidence, caught = _verdict(inj, in_scope, raised)
        credits.append(caught)
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
                seed=inj.seed,
                checks=list(dict.fromkeys(check_key(d) for d in in_scope)),
                detected_by=list(dict.fromkeys(check_key(d) for d in caught)),
                time_to_detect_s=_time_to_detect(inj, caught),
                silent_checks=_quiet_checks(in_scope, set(inj.signals)) if verdict is Verdict.SILENT else [],
            )
        )
    _mark_shared(results, credits)
    return results


def _mark_shared(results: list[VerdictResult], credits: list[list[Detection]]) -> None:
    """Mark each DETECTED result whose every crediting detection also credits another injection."""
    credited: dict[int, list[int]] = {}
    for index, caught in enumerate(credits):
        for detection in caught:
            credited.setdefault(id(detection), []).append(index)
    for index, caught in enumerate(credits):
        if not caught or any(len(credited[id(d)]) == 1 for d in caught):
            continue
        others = dict.fromkeys(results[o].injection_id for d in caught for o in credited[id(d)] if o != index)
        results[index].shared, results[index].shared_with = True, list(others)


def inconclusive(results: Iterable[VerdictResult], why: str) -> list[VerdictResult]:
    """The results with every verdict the rules gave voided: INCONCLUSIVE, the rules' verdict kept in ``would_be``.

    For a run whose control failed its own steady state: a detection of a pre-existing failure proves
    nothing. Faults that did not go in (SKIPPED, INJECTION_ERROR) keep their verdicts.
    """
    return [
        r
        if r.verdict in UNSCORED
        else r.model_copy(update={"verdict": Verdict.INCONCLUSIVE, "would_be": r.verdict, "reason": why})
        for r in results
    ]


def _weight(result: VerdictResult, weights: Mapping[str, float]) -> float:
    return max((weights.get(s, 1.0) for s in result.signals), default=1.0)


def score(
    results: Iterable[VerdictResult], weights: Mapping[str, float] | None = None
) -> tuple[float | None, dict[str, float | None]]:
    """Resilience score = (DETECTED + FAILED_LOUDLY + RECOVERED) / injected, overall and per signal.

    With ``weights`` (signal -> weight, default 1), each injection counts with the weight of its
    heaviest signal in the overall score; the per-signal scores do not depend on weights. An
    overall score whose weights are all 0 is None. INCONCLUSIVE and not-injected verdicts do not count.
    """
    counted = [r for r in results if r.verdict not in UNSCORED]
    if not counted:
        return None, {}
    total = sum(_weight(r, weights or {}) for r in counted)
    caught = sum(_weight(r, weights or {}) for r in counted if r.verdict in CAUGHT)
    overall = caught / total if total else None
    by_signal: dict[str, list[bool]] = {}
    for r in counted:
        for s in r.signals:
            by_signal.setdefault(s, []).append(r.verdict in CAUGHT)
    return overall, {s: sum(v) / len(v) for s, v in sorted(by_signal.items())}


def parse_signal_weights(value: Any, owner: str = "signal_weights") -> dict[str, float]:
    """Per-signal weights from a mapping, ``"schema=2, completeness=1.5"`` or a JSON object.

    Raises ChaosConfigError naming ``owner`` on an unknown signal or a weight that is not a number >= 0.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    pairs = _weight_pairs(value, owner)
    validate_signals([k for k, _ in pairs], owner)
    out: dict[str, float] = {}
    for signal, weight in pairs:
        number = _weight_number(weight)
        if number is None:
            raise ChaosConfigError(f"{owner}: the weight of {signal!r} must be a number >= 0, got {weight!r}")
        out[signal] = number
    return out


def _weight_pairs(value: Any, owner: str) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    if not isinstance(value, str):
        raise ChaosConfigError(f"{owner}: expected a mapping of signal to weight, got {type(value).__name__}")
    text = value.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise ChaosConfigError(f"{owner}: not a JSON object: {exc}") from None
        return _weight_pairs(loaded, owner)
    pairs = []
    for item in (i.strip() for i in text.split(",") if i.strip()):
        signal, sep, weight = item.partition("=")
        if not sep:
            raise ChaosConfigError(f"{owner}: expected 'signal=weight' pairs separated by commas, got {item!r}")
        pairs.append((signal.strip(), weight.strip()))
    return pairs


def _weight_number(weight: Any) -> float | None:
    if isinstance(weight, bool):
        return None
    try:
        number = float(weight)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def summarize(
    results: list[VerdictResult],
    detections: int = 0,
    signal_weights: Mapping[str, float] | None = None,
    **fields: Any,
) -> ExperimentReport:
    """The report of already decided ``results``: counts, weighted and unweighted scores."""
    weights = dict(signal_weights or {})
    unweighted, by_signal = score(results)
    weighted = score(results, weights)[0] if weights else unweighted
    counts = Counter(r.verdict.value for r in results)
    return ExperimentReport(
        results=results,
        detections=detections,
        counts={v.value: counts.get(v.value, 0) for v in Verdict},
        injected=sum(r.verdict not in NOT_INJECTED for r in results),
        score=weighted,
        unweighted_score=unweighted,
        score_by_signal=by_signal,
        signal_weights=weights,
        **fields,
    )


def build_report(
    injections: Iterable[Injection],
    detections: Iterable[Detection],
    task_states: Mapping[str, str] | None = None,
    downstream: Mapping[str, Iterable[str]] | None = None,
    dag_id: str = "",
    run_id: str = "",
    signal_weights: Mapping[str, float] | None = None,
) -> ExperimentReport:
    """Verdicts, counts and score for one experiment."""
    dets = list(detections)
    results = decide_verdicts(injections, dets, task_states, downstream)
    return summarize(results, len(dets), signal_weights, dag_id=dag_id, run_id=run_id)
