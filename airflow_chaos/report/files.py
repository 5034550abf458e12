"""A run's three scorecard files: ``<root>/<dag_id>/<run_id>/scorecard.json``, ``scorecard.md``, ``scorecard.html``.

Above :mod:`~airflow_chaos.report.scorecard` and its two renderers, which import the model: writing
lives here so that the model never imports its own pages (no import circle). No Airflow (DESIGN §2).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime

from airflow_chaos.experiment.verdicts import ExperimentReport
from airflow_chaos.report.html import render_html
from airflow_chaos.report.markdown import render_markdown
from airflow_chaos.report.scorecard import FILES, Scorecard, build_scorecard, read_history, scorecard_dir
from airflow_chaos.storage import StoragePath, write_atomic


@dataclass(frozen=True)
class ScorecardFiles:
    directory: StoragePath
    json: StoragePath
    markdown: StoragePath
    html: StoragePath

    def paths(self) -> list[str]:
        return [str(self.json), str(self.markdown), str(self.html)]


def write_scorecards(
    report: ExperimentReport,
    root: str | os.PathLike[str] | StoragePath,
    *,
    now: datetime | None = None,
) -> tuple[Scorecard, ScorecardFiles]:
    """Build the scorecard of ``report`` (with the DAG's earlier scores) and write its three files, each atomically."""
    history = read_history(root, report.dag_id, before=report.run_id)
    card = build_scorecard(report, history, now)
    directory = scorecard_dir(root, report.dag_id, report.run_id)
    directory.mkdir(parents=True, exist_ok=True)
    files = ScorecardFiles(directory, *(directory / name for name in FILES))
    write_atomic(files.json, json.dumps(card.to_json(), indent=2).encode())
    write_atomic(files.markdown, render_markdown(card).encode())
    write_atomic(files.html, render_html(card).encode())
    return card, files
