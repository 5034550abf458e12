"""Resilience experiments through real Airflow (issue #11): one ``chaos_matrix`` DAG, eleven scenarios over
every fault family (table, file, timing, HTTP, feature store, model registry) plus the control, run
once with ``dag.test()`` against a loopback API, real Great Expectations, scikit-learn, Feast and
MLflow (a SQLite store); then its scorecards (JSON against the schema, Markdown, HTML) and its MLflow
run are read back.

A second run pastes the expectation the scorecard suggested for a SILENT scenario into the pipeline
and shows the same scenario DETECTED; a third has a control that fails its own checks: every verdict
INCONCLUSIVE.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.harness import DagRunner, DagRunResult, loopback_server
from tests.integration import feast_repo, matrix_pipeline

pytestmark = pytest.mark.integration

DAG_ID = "resilience_matrix"
SCENARIOS = list(matrix_pipeline.SCENARIOS)
EXPECTED = {  # scenario -> verdicts of its injections, in order
    "nulls_age": ["DETECTED"],
    "nulls_income": ["SILENT"],
    "two_nulls": ["DETECTED", "DETECTED"],
    "drop_income": ["DETECTED"],
    "shift_income": ["SILENT"],
    "partial_output": ["DETECTED"],
    "swapped_format": ["DETECTED"],
    "api_flaky": ["RECOVERED"],
    "api_down": ["FAILED_LOUDLY"],
    "registry_down": ["FAILED_LOUDLY"],
    "corrupt_features": ["DETECTED"],
}
TIMINGS: dict[str, float] = {}


class Experiment:
    def __init__(self, result: DagRunResult, root: Path, reports: Path, mlflow_uri: str) -> None:
        self.result, self.root, self.reports, self.mlflow_uri = result, root, reports, mlflow_uri

    @property
    def report(self) -> dict[str, Any]:
        return self.result.xcom("assert_detected", "chaos_report")

    def card_dir(self) -> Path:
        return self.reports / DAG_ID / self.result.run_id


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    with loopback_server() as server:
        server.expect_request("/rows").respond_with_json(matrix_pipeline.rows())
        yield server.url_for("/rows")


@pytest.fixture(scope="module")
def experiment(api: str, dags_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Experiment]:
    tmp = tmp_path_factory.mktemp("matrix")
    root, reports = tmp / "sandboxes", tmp / "reports"
    mlflow_uri = f"sqlite:///{tmp / 'mlflow.db'}"
    golden = feast_repo.build_repo(tmp / "feast_golden", drivers=40, days=2, materialized_until=feast_repo.TTL / 4)
    matrix_pipeline.prepare_feast_sandboxes(golden, root, DAG_ID, SCENARIOS)
    runner = DagRunner(dags_folder)
    source = matrix_pipeline.dag_source(DAG_ID, api, SCENARIOS, features=True, tracking=mlflow_uri)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # an unreachable registry fails at once, not in 250 s
        mp.setenv("AIRFLOW__CHAOS__ENABLED", "true")
        mp.setenv("AIRFLOW__CHAOS__SANDBOX_ROOT", str(root))
        mp.setenv("AIRFLOW__CHAOS__REPORTS_DIR", str(reports))
        mp.setenv("AIRFLOW__CHAOS__MLFLOW_TRACKING_URI", mlflow_uri)
        start = time.perf_counter()
        result = runner.run(runner.write(DAG_ID, source), DAG_ID)
        TIMINGS["matrix run"] = time.perf_counter() - start
    runner.cleanup()
    print(f"\nmatrix DAG ({len(result.task_states)} tasks): {TIMINGS['matrix run']:.1f} s")
    yield Experiment(result, root, reports, mlflow_uri)


def by_scenario(report: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in report["results"]:
        out.setdefault(r["scenario"], []).append(r["verdict"])
    return out


# ---------------------------------------------------------------------- the matrix run
def test_every_scenario_gets_its_verdict_the_score_and_the_control_held_its_steady_state(experiment):
    report = experiment.report
    assert by_scenario(report) == EXPECTED
    assert report["control"]["passed"] is True and report["control"]["failures"] == []
    assert {"control.validate:expect_column_values_to_not_be_null:age", "control.check_features:feature_ranges"} <= set(
        report["control"]["checks"]
    )
    assert report["score"] == pytest.approx(10 / 12) == report["unweighted_score"]
    assert report["counts"]["SILENT"] == 2 and report["injected"] == 12
    states = experiment.result.task_states
    assert all(states[t] == "success" for t in states if t.startswith("control.")), states
    assert states["assert_detected"] == "failed", "two SILENT verdicts fail the assertion"
    assert states["chaos_restore"] == "success"


def test_each_scenario_ran_in_its_own_sandbox(experiment):
    for name in ["control", *SCENARIOS]:
        raw = experiment.root / DAG_ID / name / "raw.csv"
        assert raw.exists() or name == "api_down", name
    assert not (experiment.root / DAG_ID / "api_down" / "raw.csv").exists(), "the API was down: nothing written"
    restored = (experiment.root / DAG_ID / "swapped_format" / "raw.csv").read_bytes()
    assert restored.startswith(b"id,age,income,label"), "the teardown put the CSV back"
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=experiment.mlflow_uri)
    trained = {
        name: len(client.search_runs([exp.experiment_id]))
        for name in ["control", *SCENARIOS]
        if (exp := client.get_experiment_by_name(f"{DAG_ID}/{name}")) is not None
    }
    ran_train = {n for n in ["control", *SCENARIOS] if experiment.result.task_states[f"{n}.train"] == "success"}
    assert {n for n, runs in trained.items() if runs == 1} == ran_train, "each train logged to its own experiment"
    assert "registry_down" not in trained, "the registry was unreachable: no experiment, no run"


def test_detections_are_attributed_honestly_and_confirmed_by_single_fault_scenarios(experiment):
    two = [r for r in experiment.report["results"] if r["scenario"] == "two_nulls"]
    assert [(r["fault"]["column"], r["shared"]) for r in two] == [("age", True), ("income", True)]
    assert (two[0]["confirmed_by"], two[0]["confirmed"]) == ("nulls_age", True)
    assert (two[1]["confirmed_by"], two[1]["confirmed"]) == ("nulls_income", False), "income rode on age's check"
    swapped = next(r for r in experiment.report["results"] if r["scenario"] == "swapped_format")
    assert swapped["evidence"] == ["swapped_format.prepare:task_outcome [format]"], "the detects() task caught it"


def test_impact_is_the_scenarios_measured_metric_minus_the_controls(experiment):
    xcom = experiment.result.xcom
    control_auc = xcom("control.train", "chaos_metrics")["auc"]
    scenarios = {s["name"]: s for s in experiment.report["scenarios"]}
    for name, scenario in scenarios.items():
        recorded = xcom(f"{name}.train", "chaos_metrics")
        if name == "control" or recorded is None:
            assert scenario["impact"] == []
            continue
        (impact,) = scenario["impact"]
        assert impact == {
            "metric": "auc",
            "control": control_auc,
            "scenario": recorded["auc"],
            "delta": pytest.approx(recorded["auc"] - control_auc),
        }
    assert scenarios["nulls_age"]["impact"][0]["delta"] < -0.05, "nulls in the strongest feature cost the model"
    assert scenarios["drop_income"]["note"].startswith("no auc recorded: the pipeline stopped before recording it")
    assert 0.8 < control_auc <= 1.0


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_time_to_detect_runs_from_the_injections_end_to_its_first_detections_end(experiment):
    xcom = experiment.result.xcom
    for r in experiment.report["results"]:
        if r["verdict"] != "DETECTED":
            assert r["time_to_detect_s"] is None, r
            continue
        (injection,) = [i for i in xcom(r["task_id"], "chaos_injections") if i["id"] == r["injection_id"]]
        ends = []
        for key in r["detected_by"]:
            task, check = key.split(":", 1)
            ends += [_at(d["at"]) for d in xcom(task, "chaos_detections") if d["check"] == check]
        expected = (min(ends) - _at(injection["finished_at"])).total_seconds()
        assert expected > 0 and r["time_to_detect_s"] == pytest.approx(expected, abs=1e-3), r


def test_every_silent_verdict_carries_a_suggestion(experiment):
    card = json.loads((experiment.card_dir() / "scorecard.json").read_text())
    silent = {r["injection_id"] for r in card["results"] if r["verdict"] == "SILENT"}
    assert {s["injection_id"] for s in card["suggestions"]} == silent and len(silent) == 2
    by_fault = {s["fault"]: s for s in card["suggestions"]}
    nulls = by_fault["InjectNulls(column='income', fraction=0.3)"]
    assert nulls["expectation"] == {"type": "expect_column_values_to_not_be_null", "column": "income"}
    assert nulls["add_to"] == "validate"
    shift = by_fault["ShiftDistribution(column='income', mean_shift=3.0)"]
    assert shift["expectation"]["type"] == "expect_column_mean_to_be_between" and shift["fill_in"] == []


def test_the_scorecard_files_validate_and_name_every_injection(experiment):
    from airflow_chaos.report.scorecard import schema

    directory = experiment.card_dir()
    card = json.loads((directory / "scorecard.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(card)
    markdown = (directory / "scorecard.md").read_text()
    html = (directory / "scorecard.html").read_text()
    assert len(card["results"]) == 12
    for r in card["results"]:
        assert f"| {r['scenario']}: " in markdown
        assert f'data-injection="{r["injection_id"]}"' in html
    log_paths = [str(directory / name) for name in ("scorecard.json", "scorecard.md", "scorecard.html")]
    assert all(Path(p).stat().st_size > 0 for p in log_paths)


def test_the_experiment_is_an_mlflow_run_with_its_metrics_params_and_scorecards(experiment):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=experiment.mlflow_uri)
    exp = client.get_experiment_by_name(f"airflow-chaos/{DAG_ID}")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED" and run.data.tags["run_id"] == experiment.result.run_id
    metrics = run.data.metrics
    assert metrics["score"] == pytest.approx(10 / 12) and metrics["count.SILENT"] == 2.0
    assert metrics["impact.nulls_age.auc"] == pytest.approx(
        next(s for s in experiment.report["scenarios"] if s["name"] == "nulls_age")["impact"][0]["delta"]
    )
    assert any(k.startswith("time_to_detect.nulls_age.prepare") for k in metrics)
    assert run.data.params["nulls_age.faults"] == "nulls_age.prepare: InjectNulls(column='age', fraction=0.3)"
    assert run.data.params["nulls_age.seed"] == "11" and run.data.params["control.faults"] == "none (control)"
    artifacts = sorted(a.path for a in client.list_artifacts(run.info.run_id))
    assert artifacts == ["scorecard.html", "scorecard.json", "scorecard.md"]
    local = Path(client.download_artifacts(run.info.run_id, "scorecard.json"))
    assert json.loads(local.read_text())["run_id"] == experiment.result.run_id


def test_the_html_scorecard_renders_in_headless_chromium(experiment):
    from tests.integration.browser import chromium

    page = experiment.card_dir() / "scorecard.html"
    report = experiment.report
    screenshot = Path(__file__).resolve().parents[2] / "reports" / "screenshots" / "matrix_scorecard.png"
    with chromium() as driver:
        driver.get(page.as_uri())
        rows = driver.find_elements("css selector", "table#verdicts tbody tr")
        assert [row.get_attribute("data-verdict") for row in rows] == [r["verdict"] for r in report["results"]]
        first = rows[0].find_elements("tag name", "td")
        assert first[0].text == "nulls_age" and first[3].text == "DETECTED"
        figures = driver.find_elements("css selector", "figure.plot")
        assert [f.get_attribute("id") for f in figures] == ["plot-heatmap", "plot-impact", "plot-time-to-detect"]
        for figure in figures:
            svg = figure.find_element("tag name", "svg")
            assert svg.size["width"] > 100 and svg.size["height"] > 50, figure.get_attribute("id")
            assert figure.find_elements("css selector", "svg path, svg image"), "the plot drew something"
        assert driver.find_element("id", "control").get_attribute("data-state") == "passed"
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1400, min(int(height) + 100, 12000))
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000


# ---------------------------------------------------------------------- a suggestion pasted into the pipeline
def test_pasting_the_suggested_expectation_turns_the_silent_scenario_detected(experiment, api, dag_runner, monkeypatch):
    card = json.loads((experiment.card_dir() / "scorecard.json").read_text())
    suggestion = next(s for s in card["suggestions"] if s["scenario"] == "shift_income")
    assert suggestion["add_to"] == "validate"
    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "true")
    monkeypatch.setenv("AIRFLOW__CHAOS__SANDBOX_ROOT", str(experiment.root))
    monkeypatch.setenv("AIRFLOW__CHAOS__REPORTS_DIR", str(experiment.reports))
    source = matrix_pipeline.dag_source("resilience_pasted", api, ["shift_income"], extra_expect=[suggestion["expectation"]])
    result = dag_runner.run(dag_runner.write("resilience_pasted", source), "resilience_pasted")
    report = result.xcom("assert_detected", "chaos_report")
    assert by_scenario(report) == {"shift_income": ["DETECTED"]}
    (caught,) = report["results"]
    assert caught["detected_by"] == ["shift_income.validate:expect_column_mean_to_be_between:income"]
    assert report["control"]["passed"], "the pasted expectation holds on clean data"
    assert result.task_states["assert_detected"] == "success"


# ---------------------------------------------------------------------- a control that fails its own checks
def test_a_control_failing_its_own_checks_makes_every_verdict_inconclusive(api, dag_runner, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "true")
    monkeypatch.setenv("AIRFLOW__CHAOS__SANDBOX_ROOT", str(tmp_path / "sandboxes"))
    monkeypatch.setenv("AIRFLOW__CHAOS__REPORTS_DIR", str(tmp_path / "reports"))
    # the steady state asks for 500-600 rows; the API serves 200: the control fails its own row-count check
    source = matrix_pipeline.dag_source("resilience_broken", api, ["nulls_age", "nulls_income"], row_range=(500, 600))
    result = dag_runner.run(dag_runner.write("resilience_broken", source), "resilience_broken")
    report = result.xcom("assert_detected", "chaos_report")
    assert report["control"]["passed"] is False
    assert report["control"]["failures"] == ["control.validate:expect_table_row_count_to_be_between [volume] failed"]
    assert by_scenario(report) == {"nulls_age": ["INCONCLUSIVE"], "nulls_income": ["INCONCLUSIVE"]}
    # the rules alone would say DETECTED, and FAILED_LOUDLY for a fault nothing checks (validate raised anyway)
    assert [r["would_be"] for r in report["results"]] == ["DETECTED", "FAILED_LOUDLY"]
    assert report["counts"]["DETECTED"] == 0 and report["score"] is None
    assert result.task_states["assert_detected"] == "failed", "INCONCLUSIVE fails the assertion by default"
    card = json.loads((tmp_path / "reports" / "resilience_broken" / result.run_id / "scorecard.json").read_text())
    assert card["suggestions"] == [] and card["control"]["passed"] is False
