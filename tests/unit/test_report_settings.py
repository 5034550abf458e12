"""The [chaos] report settings (issue #11): signal weights, reports and sandbox directories, MLflow; read
apart from the injection settings, so a bad one never stops a fault."""

from __future__ import annotations

import pytest

from airflow_chaos import config
from airflow_chaos.exceptions import ChaosConfigError


def test_defaults_live_under_the_airflow_home(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    settings = config.read_report_settings()
    assert settings.signal_weights == {} and settings.mlflow_tracking_uri == ""
    assert settings.reports_root == str(tmp_path / "chaos" / "reports")
    assert settings.sandboxes_root == str(tmp_path / "chaos" / "sandboxes")


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__SIGNAL_WEIGHTS", " schema=2, completeness=1.5 ")
    monkeypatch.setenv("AIRFLOW__CHAOS__REPORTS_DIR", " /srv/reports ")
    monkeypatch.setenv("AIRFLOW__CHAOS__MLFLOW_TRACKING_URI", "sqlite:///m.db")
    settings = config.read_report_settings()
    assert settings.signal_weights == {"schema": 2.0, "completeness": 1.5}
    assert settings.reports_root == "/srv/reports" and settings.mlflow_tracking_uri == "sqlite:///m.db"


def test_a_bad_weight_names_the_setting_and_leaves_injection_settings_alone(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__SIGNAL_WEIGHTS", "schema=2,freshnes=1")
    with pytest.raises(ChaosConfigError, match=r"\[chaos\] signal_weights: unknown signal\(s\) \['freshnes'\]; allowed: schema"):
        config.read_report_settings()
    assert config.read_settings().max_injections_per_run == 100, "the injection settings still read fine"
