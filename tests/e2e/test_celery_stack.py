"""``make e2e``, CeleryExecutor mode: the same stack with Redis and two ``airflow celery worker``
processes, each with its own ``AIRFLOW_HOME`` and scratch directory (as on two machines), sharing
only the data directory and the chaos journal (``[chaos] journal_path``)."""

from __future__ import annotations

import pytest

from airflow_chaos.experiment.journal import Journal
from tests.e2e import scenarios
from tests.e2e.stack import WORKERS, AirflowApi, Stack

# a stack takes minutes to start on 2 shared cores: the module's first test pays for it
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]


def _hosts(api: AirflowApi, dag_id: str, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["hostname"] for ti in api.task_instances(dag_id, run_id)}


def test_the_suite_runs_on_two_celery_workers_and_no_fault_goes_silent(celery_stack: Stack) -> None:
    api = AirflowApi.of(celery_stack)
    runs = scenarios.run_suite(celery_stack, api)
    hosts = {host for dag_id, run_id in runs.items() for host in _hosts(api, dag_id, run_id).values()}
    assert hosts <= set(WORKERS), f"every task ran on a Celery worker: {hosts}"


def test_a_fault_journaled_on_one_worker_is_restored_by_a_teardown_on_the_other(celery_stack: Stack) -> None:
    stack, api, dag_id = celery_stack, AirflowApi.of(celery_stack), "e2e_cross_worker_teardown"
    api.wait_parsed(dag_id)
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, {"data": str(stack.data)})
    assert api.wait_run(dag_id, run_id, timeout=600, stack=stack) == "success", api.task_states(dag_id, run_id)
    hosts = _hosts(api, dag_id, run_id)
    assert (hosts["inject"], hosts["read_back"], hosts["restore"]) == ("worker_a", "worker_b", "worker_b")

    journal = Journal(stack.journal)
    [entry] = journal.entries(dag_id=dag_id, run_id=run_id)
    assert entry.task_id == "inject"
    assert api.xcom(dag_id, run_id, "read_back") == entry.checksum_after, "worker_b read worker_a's corruption"
    restored = api.xcom(dag_id, run_id, "restore")
    assert [(r["id"], r["outcome"]) for r in restored] == [(entry.id, "restored")]
    assert journal.state_of(entry.id) == "restored"
    assert scenarios.sha256(stack.data / "cross_worker" / "teardown.csv") == entry.checksum
    log_file, _ = scenarios.task_log(stack, dag_id, run_id, "restore")
    assert log_file.is_relative_to(stack.root / "worker_b"), "the teardown ran in worker_b's own AIRFLOW_HOME"


def test_a_fault_journaled_on_one_worker_is_restored_by_the_next_runs_preflight_on_the_other(
    celery_stack: Stack,
) -> None:
    stack, api, dag_id = celery_stack, AirflowApi.of(celery_stack), "e2e_cross_worker_preflight"
    path = stack.data / "cross_worker" / "preflight.csv"
    api.wait_parsed(dag_id)
    api.unpause(dag_id)
    crashed = api.trigger(dag_id, {"data": str(stack.data), "crash": True})
    assert api.wait_run(dag_id, crashed, timeout=600, stack=stack) == "failed"
    assert _hosts(api, dag_id, crashed)["inject"] == "worker_a"
    original = scenarios.assert_mutated_by(stack, path, dag_id, crashed)

    next_run = api.trigger(dag_id, {"data": str(stack.data), "crash": False})
    assert api.wait_run(dag_id, next_run, timeout=600, stack=stack) == "success", api.task_states(dag_id, next_run)
    assert _hosts(api, dag_id, next_run)["probe"] == "worker_b"
    log_file, log = scenarios.task_log(stack, dag_id, next_run, "probe")
    assert log_file.is_relative_to(stack.root / "worker_b")
    assert f"chaos preflight: restored {path}, left by run {crashed}" in log
    journal = Journal(stack.journal)
    assert [journal.state_of(e.id) for e in journal.entries(dag_id=dag_id, run_id=crashed)] == ["restored"]

    assert scenarios.assert_mutated_by(stack, path, dag_id, next_run) == original  # no teardown in this DAG
    assert "1 mutation(s) restored" in scenarios.airflow_chaos_restore(stack)
    assert scenarios.sha256(path) == original


def test_a_worker_killed_with_sigkill_mid_injection_leaves_nothing_mutated_after_airflow_chaos_restore(
    celery_stack: Stack,
) -> None:
    stack, api, dag_id = celery_stack, AirflowApi.of(celery_stack), "e2e_sigkill"
    killed_run, path, pid = scenarios.start_sigkill_run(stack, api)
    original = scenarios.assert_mutated_by(stack, path, dag_id, killed_run)

    killed = stack.kill_worker("worker_a")  # the whole worker at once: celery, its pool, supervisor and task
    assert pid in killed, "the armed task was running on worker_a"
    api.set_run_state(dag_id, killed_run, "failed")  # what an operator does once the worker is gone
    assert scenarios.sha256(path) != original, "nothing undid the mutation yet"

    assert "1 mutation(s) restored" in scenarios.airflow_chaos_restore(stack)
    assert scenarios.sha256(path) == original
    assert Journal(stack.journal).pending() == []

    stack.restart_worker("worker_a")
    next_run = api.trigger(dag_id, {"data": str(stack.data), "work_seconds": 0})
    assert api.wait_run(dag_id, next_run, timeout=600, stack=stack) == "success", api.task_states(dag_id, next_run)
    assert scenarios.assert_mutated_by(stack, path, dag_id, next_run) == original
    assert "1 mutation(s) restored" in scenarios.airflow_chaos_restore(stack)
    assert scenarios.sha256(path) == original
