"""Scorecards: one experiment's report as JSON (with a versioned schema), Markdown and HTML.

:func:`build_scorecard` turns an :class:`~airflow_chaos.experiment.verdicts.ExperimentReport` into a
:class:`Scorecard`: the verdicts, the control's steady state, each scenario's impact, a suggestion for
every SILENT verdict, which injections share which detection, the fault-by-check detection matrix,
time to detect, and the scores of earlier scorecards of the same DAG. :func:`airflow_chaos.report.files.write_scorecards`
writes ``<root>/<dag_id>/<run_id>/scorecard.json``, ``scorecard.md`` and ``scorecard.html``.

The JSON validates against ``scorecard.v1.schema.json`` shipped beside this module (:func:`schema`);
``schema_version`` says which. A change that could break a reader is a new major version and a new
schema file. No Airflow imports (DESIGN §2).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from airflow_chaos.experiment.verdicts import (
    ExperimentReport,
    ScenarioResult,
    SteadyState,
    VerdictResult,
)
from airflow_chaos.records import utcnow
from airflow_chaos.report.explain import explain
from airflow_chaos.report.suggestions import Suggestion, fault_label, suggestions
from airflow_chaos.storage import StoragePath, as_path

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1.0"
SCHEMA_FILE = "scorecard.v1.schema.json"
SCHEMA_ID = "urn:airflow-chaos:scorecard:v1"
#: The earlier scorecards read for "score over time", newest last.
MAX_HISTORY = 100
FILES = ("scorecard.json", "scorecard.md", "scorecard.html")


class SharedDetection(BaseModel):
    """Injections of one scenario credited by the same failed checks: one may ride on another's detection."""

    scenario: str = ""
    checks: list[str]
    injections: list[str]
    labels: list[str]
    confirmed: dict[str, bool | None] = Field(default_factory=dict)


class DetectionMatrix(BaseModel):
    """Fault by check: the share of a fault's injections a check caught, among those it ran downstream of.

    Rows are faults (``Fault(params) @ task``, the same fault in several scenarios is one row), columns
    are checks (``task:check``, scenario prefix dropped). A cell is None when the check never ran
    downstream of that fault, 0.0 when it always ran and never caught it, 1.0 when it always caught it.
    """

    faults: list[str]
    checks: list[str]
    cells: list[list[float | None]]


class HistoryPoint(BaseModel):
    run_id: str
    generated_at: datetime
    score: float | None = None
    unweighted_score: float | None = None


class Scorecard(BaseModel):
    """One experiment's scorecard (``scorecard.json``)."""

    schema_version: Literal["1.0"] = "1.0"
    generated_at: datetime = Field(default_factory=utcnow)
    dag_id: str
    run_id: str
    score: float | None
    unweighted_score: float | None = None
    signal_weights: dict[str, float] = Field(default_factory=dict)
    score_by_signal: dict[str, float | None]
    counts: dict[str, int]
    injected: int
    detections: int = 0
    control: SteadyState | None = None
    scenarios: list[ScenarioResult] = Field(default_factory=list)
    results: list[VerdictResult]
    suggestions: list[Suggestion] = Field(default_factory=list)
    shared: list[SharedDetection] = Field(default_factory=list)
    matrix: DetectionMatrix
    history: list[HistoryPoint] = Field(default_factory=list)
    explanations: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def schema_path() -> Path:
    """The JSON Schema of ``scorecard.json`` shipped in the package."""
    return Path(__file__).with_name(SCHEMA_FILE)


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_path().read_text())
    return loaded


def generated_schema() -> dict[str, Any]:
    """The schema as the model defines it today: what ``scorecard.v1.schema.json`` must equal."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **Scorecard.model_json_schema(mode="serialization"),
    }


# ---------------------------------------------------------------------- building
def row_label(result: VerdictResult) -> str:
    """One line per injection: ``scenario: Fault(params) @ task``."""
    task = result.task_id.removeprefix(f"{result.scenario}.") if result.scenario else result.task_id
    where = f"{result.scenario}: " if result.scenario else ""
    return f"{where}{fault_label(result.kind, result.fault)} @ {task}"


def _check_column(key: str, scenario: str) -> str:
    return key.removeprefix(f"{scenario}.") if scenario else key


def fault_row(result: VerdictResult) -> str:
    """``Fault(params) @ task``: the injection without its scenario (the heatmap's rows, the HTML's fault column)."""
    task = result.task_id.removeprefix(f"{result.scenario}.") if result.scenario else result.task_id
    return f"{fault_label(result.kind, result.fault)} @ {task}"


def detection_matrix(results: list[VerdictResult]) -> DetectionMatrix:
    """The fault-by-check matrix of the injections that went in and had a check downstream."""
    ran: dict[tuple[str, str], int] = {}
    caught: dict[tuple[str, str], int] = {}
    rows: dict[str, None] = {}
    for r in results:
        if not r.checks:
            continue
        row = fault_row(r)
        rows.setdefault(row, None)
        for key in r.checks:
            cell = (row, _check_column(key, r.scenario))
            ran[cell] = ran.get(cell, 0) + 1
            caught[cell] = caught.get(cell, 0) + (key in r.detected_by)
    columns = sorted({c for _, c in ran})
    cells = [[caught[(f, c)] / ran[(f, c)] if (f, c) in ran else None for c in columns] for f in rows]
    return DetectionMatrix(faults=list(rows), checks=columns, cells=cells)


def shared_detections(results: list[VerdictResult]) -> list[SharedDetection]:
    """Groups of injections sharing their detections, with what single-fault scenarios confirmed."""
    by_id = {r.injection_id: r for r in results}
    groups: dict[tuple[str, ...], list[VerdictResult]] = {}
    for r in results:
        if r.shared:
            members = tuple(sorted({r.injection_id, *r.shared_with}))
            groups.setdefault(members, [])
    out = []
    for members in groups:
        rs = [by_id[i] for i in members if i in by_id]
        out.append(
            SharedDetection(
                scenario=rs[0].scenario if rs else "",
                checks=sorted({k for r in rs for k in r.detected_by}),
                injections=list(members),
                labels=[row_label(r) for r in rs],
                confirmed={row_label(r): r.confirmed for r in rs},
            )
        )
    return out


def build_scorecard(
    report: ExperimentReport, history: list[HistoryPoint] | None = None, now: datetime | None = None
) -> Scorecard:
    """The scorecard of ``report``; ``history`` holds earlier scorecards' scores of the same DAG."""
    return Scorecard(
        generated_at=now or utcnow(),
        dag_id=report.dag_id,
        run_id=report.run_id,
        score=report.score,
        unweighted_score=report.unweighted_score,
        signal_weights=report.signal_weights,
        score_by_signal=report.score_by_signal,
        counts=report.counts,
        injected=report.injected,
        detections=report.detections,
        control=report.control,
        scenarios=report.scenarios,
        results=report.results,
        suggestions=suggestions(report.results),
        shared=shared_detections(report.results),
        matrix=detection_matrix(report.results),
        history=history or [],
        explanations=explain(report),
    )


# ---------------------------------------------------------------------- files
def _component(name: str, what: str) -> str:
    """A path component from a DAG or run id: separators replaced, never ``.``/``..`` or empty."""
    cleaned = name.replace("/", "_").replace("\\", "_").replace("\0", "_")
    if cleaned in {"", ".", ".."}:
        raise ValueError(f"cannot use {what} {name!r} as a directory name")
    return cleaned


def scorecard_dir(root: str | os.PathLike[str] | StoragePath, dag_id: str, run_id: str) -> StoragePath:
    """``<root>/<dag_id>/<run_id>``: where a run's scorecards live."""
    return as_path(root) / _component(dag_id, "dag_id") / _component(run_id, "run_id")


def read_history(root: str | os.PathLike[str] | StoragePath, dag_id: str, before: str | None = None) -> list[HistoryPoint]:
    """Scores of the scorecards under ``<root>/<dag_id>/`` (oldest first), leaving out run ``before``.

    An unreadable scorecard is logged and skipped.
    """
    base = as_path(root) / _component(dag_id, "dag_id")
    if not base.exists():
        return []
    points = []
    for path in base.glob("*/scorecard.json"):
        try:
            data = json.loads(path.read_text())
            point = HistoryPoint.model_validate(data)
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable scorecard %s: %s", path, exc)
            continue
        if point.run_id != before:
            points.append(point)
    return sorted(points, key=lambda p: p.generated_at)[-MAX_HISTORY:]
