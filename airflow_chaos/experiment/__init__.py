"""Experiment records, verdict rules, scoring, the journal and the safety guard. No Airflow imports."""

from __future__ import annotations

from airflow_chaos.experiment.verdicts import (
    ExperimentReport,
    Verdict,
    VerdictResult,
    build_report,
    decide_verdicts,
    score,
)

__all__ = ["ExperimentReport", "Verdict", "VerdictResult", "build_report", "decide_verdicts", "score"]
