"""``make e2e E2E_MODES=suite``: the weekly resilience suite (example_dags/resilience_suite.py: the ML
pipeline under every seed scenario, plus the control) on the LocalExecutor stack, triggered through the
REST API, its scorecard asserted. Not in CI: about 350 task instances, each a process of its own, take
far longer than CI's budget on 2 cores (README, "End to end")."""

from __future__ import annotations

import pytest

from tests.e2e import scenarios
from tests.e2e.stack import AirflowApi, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(9000)]


def test_the_resilience_suite_through_the_rest_api_misses_nothing_but_its_known_gaps(local_stack: Stack) -> None:
    scenarios.run_resilience_suite(local_stack, AirflowApi.of(local_stack))
