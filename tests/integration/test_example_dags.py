"""Every example DAG (other than the quickstart, see test_quickstart.py) runs under dag.test() with
chaos enabled, and its final state and verdicts are asserted."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_data_quality_example_detects_every_fault(dag_runner, chaos_on):
    result = dag_runner.run(dag_runner.copy(ROOT / "example_dags" / "data_quality_faults.py"), "chaos_data_quality")
    assert result.state == "success"
    assert result.task_states["validate"] == "failed"
    assert result.verdicts() == {
        "build_features:inject_nulls": "DETECTED",
        "build_features:out_of_range": "DETECTED",
        "build_features:shift_distribution": "DETECTED",
    }
    assert result.report["score"] == 1.0
    failed = {d["check"] for d in result.xcom("validate", "chaos_detections") if not d["passed"]}
    assert not any("row_count" in c for c in failed)  # the volume check stayed green: no fault on volume


def test_api_example_recovers_through_retries(dag_runner, chaos_on, httpserver):
    httpserver.expect_request("/orders").respond_with_json(
        {"orders": [{"id": 1, "amount": 9.5}, {"id": 2, "amount": 3.0}]}
    )
    path = dag_runner.copy(ROOT / "example_dags" / "api_faults.py")
    result = dag_runner.run(path, "chaos_api_faults", run_conf={"api_url": httpserver.url_for("/orders")})
    assert result.state == "success"
    assert result.verdicts() == {"extract:rate_limit": "RECOVERED"}
    (rec,) = result.xcom("extract", "chaos_injections")
    assert rec["changes"]["requests_faulted"] == 3 and rec["changes"]["requests_seen"] == 4
    assert len(httpserver.log) == 1  # three 429s never left the worker; the fourth call reached the API


def test_late_file_example_is_detected_and_restored(dag_runner, chaos_on, tmp_path, monkeypatch):
    """With the default settings (no ``[chaos] allowed_paths``): the example's path has a fixed root."""
    monkeypatch.delenv("AIRFLOW__CHAOS__ALLOWED_PATHS", raising=False)
    monkeypatch.setenv("AIRFLOW_CHAOS_DROP_ROOT", str(tmp_path / "drop"))
    path = dag_runner.copy(ROOT / "example_dags" / "late_file.py")
    result = dag_runner.run(path, "chaos_late_file", logical_date=datetime(2026, 3, 4, tzinfo=timezone.utc))
    (drop,) = (tmp_path / "drop").iterdir()  # the day the run was due (run_after)
    assert drop.name.isdigit() and len(drop.name) == 8
    assert result.state == "success"
    assert result.verdicts() == {"wait_for_orders:hold_back_file": "DETECTED"}
    assert result.task_states["restore"] == "success"
    (det,) = result.xcom("wait_for_orders", "chaos_detections")
    assert det["passed"] is False and "freshness" in det["signals"]
    content = (drop / "orders.csv").read_bytes()
    assert hashlib.sha256(content).hexdigest() == hashlib.sha256(b"order_id,price,qty\n1,9.5,1\n2,20.0,3\n").hexdigest()


def test_data_quality_example_is_green_without_chaos(dag_runner):
    """Control run: with chaos off the same expectations pass, so the detections above are the faults'."""
    result = dag_runner.run(dag_runner.copy(ROOT / "example_dags" / "data_quality_faults.py"), "chaos_data_quality")
    assert result.state == "success"
    assert result.task_states["validate"] == "success"
    assert all(d["passed"] for d in result.xcom("validate", "chaos_detections"))
    assert result.report["injected"] == 0 and result.report["score"] is None
