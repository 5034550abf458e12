"""``airflow-chaos report DAG_ID [--run-id] --format json|md|html`` (issue #11): the run's scorecard."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from airflow_chaos import cli
from airflow_chaos.experiment.verdicts import build_report
from airflow_chaos.faults import DropColumn, InjectNulls
from airflow_chaos.records import Detection, Injection, InjectionStatus
from airflow_chaos.report.files import write_scorecards
from airflow_chaos.report.scorecard import schema


@pytest.fixture
def stored(monkeypatch, tmp_path):
    """A run whose chaos_report the CLI reads (one DETECTED, one SILENT), and an earlier scorecard on disk."""
    caught = Injection.for_fault(DropColumn(column="price"), InjectionStatus.INJECTED, task_id="transform")
    missed = Injection.for_fault(InjectNulls(column="qty", fraction=0.2), InjectionStatus.INJECTED, task_id="transform")
    detection = Detection(check="required_columns", signals=["schema"], passed=False, task_id="validate")
    report = build_report([caught, missed], [detection], {}, {"transform": ["validate"]}, dag_id="q", run_id="r2")
    earlier = build_report([caught], [detection], {}, {"transform": ["validate"]}, dag_id="q", run_id="r1")
    monkeypatch.setenv("AIRFLOW__CHAOS__REPORTS_DIR", str(tmp_path / "reports"))
    write_scorecards(earlier, tmp_path / "reports")
    monkeypatch.setattr(cli, "_latest_report", lambda dag_id, run_id: report.to_json())
    return report


def test_format_json_prints_the_scorecard_valid_against_its_schema(stored, capsys):
    assert cli.main(["report", "q", "--run-id", "r2", "--format", "json"]) == 0
    card = json.loads(capsys.readouterr().out)
    jsonschema.validate(card, schema())
    assert [r["verdict"] for r in card["results"]] == ["DETECTED", "SILENT"]
    assert [h["run_id"] for h in card["history"]] == ["r1"], "earlier scorecards from [chaos] reports_dir"
    assert card["suggestions"][0]["expectation"] == {"type": "expect_column_values_to_not_be_null", "column": "qty"}


def test_format_md_prints_markdown_and_exit_code_still_flags_a_miss(stored, capsys):
    assert cli.main(["report", "q", "--format", "md", "--exit-code"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("# Chaos scorecard: q / r2\n") and "InjectNulls(column='qty', fraction=0.2) @ transform" in out


def test_format_html_writes_the_page_to_output(stored, capsys, tmp_path):
    target = tmp_path / "out" / "card.html"
    assert cli.main(["report", "q", "--format", "html", "--output", str(target)]) == 0
    assert capsys.readouterr().out == f"html scorecard of q / r2 written to {target}\n"
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<tr data-verdict=") == 2
    assert re.search(r'<figure class="plot" id="plot-history"[^>]*><svg', page)


def test_a_bad_format_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["report", "q", "--format", "pdf"])
    assert exit_.value.code == 2 and "invalid choice: 'pdf'" in capsys.readouterr().err
