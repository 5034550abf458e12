"""``make e2e``, LocalExecutor mode: the compose stack as native processes (PostgreSQL, api-server,
scheduler, dag-processor, triggerer, MLflow server, demo API), driven through Airflow's REST API."""

from __future__ import annotations

import pytest

from airflow_chaos.experiment.journal import Journal
from tests.e2e import scenarios
from tests.e2e.stack import AirflowApi, Stack

# a stack takes minutes to start on 2 shared cores: the module's first test pays for it
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


def test_the_suite_runs_through_the_rest_api_and_no_fault_goes_silent(local_stack: Stack) -> None:
    scenarios.run_suite(local_stack, AirflowApi.of(local_stack))


def test_flipping_the_kill_switch_under_load_stops_every_injection_that_starts_afterwards(local_stack: Stack) -> None:
    scenarios.kill_switch_under_load(local_stack, AirflowApi.of(local_stack))


def test_two_runs_with_different_seeds_at_once_never_touch_each_others_sandboxes_or_journals(
    local_stack: Stack,
) -> None:
    scenarios.concurrent_seeded_runs(local_stack, AirflowApi.of(local_stack))


def test_two_resilience_experiments_with_different_seeds_at_once_keep_to_their_own_sandboxes_and_journal(
    local_stack: Stack,
) -> None:
    scenarios.concurrent_suites(local_stack, AirflowApi.of(local_stack))


def test_a_task_killed_with_sigkill_mid_injection_is_undone_by_the_next_runs_preflight(local_stack: Stack) -> None:
    stack, api, dag_id = local_stack, AirflowApi.of(local_stack), "e2e_sigkill"
    killed_run, path, pid = scenarios.start_sigkill_run(stack, api)
    original = scenarios.assert_mutated_by(stack, path, dag_id, killed_run)

    scenarios.sigkill([pid])  # the process running the armed task: no finally, no teardown runs
    assert scenarios.wait_state(api, dag_id, killed_run, {"failed", "success"}, 300) == "failed"
    assert scenarios.sha256(path) != original, "nothing undid the mutation yet"

    next_run = api.trigger(dag_id, {"data": str(stack.data), "work_seconds": 0})
    assert api.wait_run(dag_id, next_run, timeout=600, stack=stack) == "success"
    _, log = scenarios.task_log(stack, dag_id, next_run, "consume")
    assert f"chaos preflight: restored {path}, left by run {killed_run}" in log
    journal = Journal(stack.journal)
    assert [journal.state_of(e.id) for e in journal.entries(dag_id=dag_id, run_id=killed_run)] == ["restored"]

    # the next run injected its own corruption (this DAG has no teardown): airflow-chaos restore undoes it
    assert scenarios.assert_mutated_by(stack, path, dag_id, next_run) == original
    assert "1 mutation(s) restored" in scenarios.airflow_chaos_restore(stack)
    assert scenarios.sha256(path) == original
    assert journal.pending() == []
