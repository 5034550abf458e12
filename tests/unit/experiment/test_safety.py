"""The safety guard's rules, in order: environment, kill switch, max injections, probability, dry run."""

from __future__ import annotations

import pytest

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.experiment.safety import SafetySettings, decide
from airflow_chaos.records import InjectionStatus

ON = SafetySettings(enabled=True)


def test_allowed_environment_injects():
    assert decide(ON, probability=1.0, draw=0.5, dry_run=False).status is InjectionStatus.INJECTED


def test_environment_guard_skips_and_says_why():
    d = decide(SafetySettings(enabled=True, environment="prod"), probability=1.0, draw=0.0, dry_run=False)
    assert d.status is InjectionStatus.SKIPPED and "'prod' not in allowed_environments" in d.reason


def test_kill_switch_beats_everything_but_the_environment():
    d = decide(SafetySettings(enabled=True, kill_switch=True), probability=1.0, draw=0.0, dry_run=True)
    assert d.status is InjectionStatus.SKIPPED and "kill switch" in d.reason


def test_max_injections_counts_the_run_and_this_task():
    s = SafetySettings(enabled=True, max_injections_per_run=3, injections_so_far=2)
    assert decide(s, probability=1, draw=0, dry_run=False).inject
    d = decide(s, probability=1, draw=0, dry_run=False, injected_here=1)
    assert d.status is InjectionStatus.SKIPPED and "max_injections_per_run=3" in d.reason


def test_probability_draw():
    assert decide(ON, probability=0.3, draw=0.29, dry_run=False).inject
    d = decide(ON, probability=0.3, draw=0.31, dry_run=False)
    assert d.status is InjectionStatus.SKIPPED and "probability" in d.reason
    assert not decide(ON, probability=0.0, draw=0.0, dry_run=False).inject


def test_dry_run_is_recorded_as_dry_run():
    assert decide(ON, probability=1, draw=0, dry_run=True).status is InjectionStatus.DRY_RUN


def test_negative_max_injections_is_a_config_error():
    with pytest.raises(ChaosConfigError, match="max_injections_per_run"):
        SafetySettings(max_injections_per_run=-1)
