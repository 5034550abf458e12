"""Plan arms in the chaos wrapper (``ChaosArm`` with a source and a gate) on the stand-in runtime.

A task armed in code and by a plan runs both fault lists, each drawn with its own settings and each
injection recorded with where it came from; a plan experiment's run-time conditions (window, run
type, daily cap) turn its faults SKIPPED with the reason, never the code's.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_chaos.faults.base import Fault, FaultContext, injection_seed
from airflow_chaos.operators.chaos import ArmedRun, ChaosArm, attach, chaos
from airflow_chaos.plans import ExperimentGate, Window
from tests.unit.operators.runtime import FakeTaskInstance, context, make_task

PLAN = "plan:p.yaml#e"


class PlanTag(Fault):
    """Test-only: adds its name to the ``tags`` of a dict return value."""

    kind = "test_plan_tag"
    signals = ("schema",)
    phase = "after"
    name: str

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        ctx.record(tagged=self.name)
        return {**value, "tags": [*value.get("tags", []), self.name]}


def work(context: Any) -> dict[str, Any]:
    return {"rows": 3}


def _run(arm: ChaosArm, ctx: dict[str, Any] | None = None) -> tuple[Any, list[dict[str, Any]]]:
    ctx = ctx or context()
    result = ArmedRun(make_task(ctx["ti"].task_id), ctx, arm).run(work)
    return result, ctx["ti"].store[(ctx["ti"].task_id, "chaos_injections")]


def _plan(*faults: Fault, gate: ExperimentGate | None = None, **settings: Any) -> ChaosArm:
    return ChaosArm(tuple(faults), source=PLAN, gate=gate, **settings)


def _ctx(run_id: str = "manual__1", run_type: Any = "manual") -> dict[str, Any]:
    ctx = context(FakeTaskInstance(run_id=run_id))
    ctx["dag_run"] = SimpleNamespace(run_type=run_type)
    return ctx


def test_code_and_plan_faults_both_run_each_recorded_with_its_source_and_seed():
    arm = ChaosArm.build([PlanTag(name="code")], seed=1).plus(_plan(PlanTag(name="plan"), seed=2))
    result, records = _run(arm)
    assert result["tags"] == ["code", "plan"]
    assert [(r["source"], r["fault_index"], r["status"]) for r in records] == [
        ("code", 0, "injected"),
        (PLAN, 1, "injected"),
    ]
    ti = FakeTaskInstance()
    assert records[0]["seed"] == injection_seed(1, ti.dag_id, ti.run_id, ti.task_id, 0)
    assert records[1]["seed"] == injection_seed(2, ti.dag_id, ti.run_id, ti.task_id, 1)


def test_each_source_draws_with_its_own_probability_and_dry_run():
    arm = ChaosArm.build([PlanTag(name="code")]).plus(_plan(PlanTag(name="plan"), probability=0.0))
    arm = arm.plus(ChaosArm((PlanTag(name="dry"),), source="plan:p.yaml#d", dry_run=True))
    result, records = _run(arm)
    assert result["tags"] == ["code"]
    assert [(r["source"], r["status"]) for r in records] == [
        ("code", "injected"),
        (PLAN, "skipped"),
        ("plan:p.yaml#d", "dry_run"),
    ]
    assert records[1]["reason"].startswith("probability 0.0 not drawn")


def test_a_plan_added_on_top_changes_nothing_of_the_codes_injection():
    code = ChaosArm.build([PlanTag(name="code")], seed=5)
    _, alone = _run(code)
    _, both = _run(code.plus(_plan(PlanTag(name="plan"))))
    keys = ("kind", "fault", "seed", "status", "fault_index", "source", "changes")
    assert {k: both[0][k] for k in keys} == {k: alone[0][k] for k in keys}


def test_arming_in_code_twice_still_merges_and_a_plan_stays_apart():
    first = ChaosArm.build([PlanTag(name="a")], probability=0.5)
    merged = first.plus(ChaosArm.build([PlanTag(name="b")], probability=0.2))
    assert merged.faults == (PlanTag(name="a"), PlanTag(name="b")) and merged.probability == 0.2
    planned = merged.plus(_plan(PlanTag(name="p"), probability=0.1))
    assert planned.probability == 0.2 and planned.sources == ("code", PLAN)
    assert [(f.name, a.probability) for f, a in planned.members()] == [("a", 0.2), ("b", 0.2), ("p", 0.1)]


# ---------------------------------------------------------------------- the plan's run-time conditions
def _window_not_now() -> Window:
    hour = datetime.now(timezone.utc).hour
    return Window(start=f"{(hour + 2) % 24:02d}:00", end=f"{(hour + 3) % 24:02d}:00")


def test_outside_its_window_a_plan_fault_is_skipped_and_the_code_fault_is_not():
    gate = ExperimentGate(PLAN, window=_window_not_now())
    result, records = _run(ChaosArm.build([PlanTag(name="code")]).plus(_plan(PlanTag(name="plan"), gate=gate)))
    assert result["tags"] == ["code"]
    assert [r["status"] for r in records] == ["injected", "skipped"]
    assert records[1]["reason"].startswith("outside the plan's window")


@pytest.mark.parametrize("run_type", ["manual", SimpleNamespace(value="manual")])
def test_a_run_type_the_plan_does_not_select_skips_its_faults(run_type):
    gate = ExperimentGate(PLAN, run_types=("scheduled",))
    _, records = _run(_plan(PlanTag(name="plan"), gate=gate), _ctx(run_type=run_type))
    assert records[0]["status"] == "skipped"
    assert records[0]["reason"].startswith("run type 'manual' not selected by the plan")
    _, records = _run(_plan(PlanTag(name="plan"), gate=gate), _ctx(run_type="scheduled"))
    assert records[0]["status"] == "injected"


def test_the_daily_cap_holds_across_runs_and_a_dry_run_takes_no_slot(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__CHAOS__JOURNAL_PATH", str(tmp_path))
    gate = ExperimentGate(PLAN, max_per_dag_per_day=1)
    _, dry = _run(_plan(PlanTag(name="p"), gate=gate, dry_run=True), _ctx("manual__0"))
    assert dry[0]["status"] == "dry_run"
    _, first = _run(_plan(PlanTag(name="p"), gate=gate), _ctx("manual__1"))
    _, second = _run(_plan(PlanTag(name="p"), gate=gate), _ctx("manual__2"))
    assert first[0]["status"] == "injected"
    assert second[0]["status"] == "skipped"
    assert second[0]["reason"].startswith("max_injections_per_dag_per_day=1 reached for dag on ")
    assert len([p for p in (tmp_path / "plan-budget").rglob("*") if p.is_file()]) == 1


def test_a_cap_that_cannot_be_counted_fails_closed(monkeypatch, tmp_path):
    blocker = tmp_path / "journal"
    blocker.write_text("a file where the journal directory should be")
    monkeypatch.setenv("AIRFLOW__CHAOS__JOURNAL_PATH", str(blocker))
    gate = ExperimentGate(PLAN, max_per_dag_per_day=5)
    result, records = _run(ChaosArm.build([PlanTag(name="code")]).plus(_plan(PlanTag(name="p"), gate=gate)))
    assert result["tags"] == ["code"]
    assert records[1]["status"] == "skipped"
    assert records[1]["reason"].startswith("the plan's conditions could not be checked, nothing injected")


def test_the_environment_guard_decides_before_the_plans_conditions(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__ENVIRONMENT", "prod")
    gate = ExperimentGate(PLAN, window=_window_not_now())
    _, records = _run(_plan(PlanTag(name="p"), gate=gate))
    assert records[0]["status"] == "skipped" and records[0]["reason"].startswith("environment 'prod'")


def test_window_times_are_checked_when_the_task_runs(monkeypatch):
    from airflow_chaos.operators import chaos as chaos_module

    gate = ExperimentGate(PLAN, window=Window(start="09:00", end="10:00"))
    at = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    monkeypatch.setattr(chaos_module, "utcnow", lambda: at)
    assert _run(_plan(PlanTag(name="p"), gate=gate))[1][0]["status"] == "injected"
    monkeypatch.setattr(chaos_module, "utcnow", lambda: at + timedelta(hours=1))
    assert _run(_plan(PlanTag(name="p"), gate=gate))[1][0]["status"] == "skipped"


# ---------------------------------------------------------------------- attaching to operators that run their own arm
def test_an_operator_that_runs_its_own_arm_keeps_its_class():
    from airflow.sdk import DAG, task

    @task.chaos(faults=[PlanTag(name="code")])
    def produce() -> dict[str, Any]:
        return {"rows": 3}

    with DAG("plan_attach"):
        operator = produce().operator
    cls = type(operator)
    attach(operator, _plan(PlanTag(name="plan")))
    chaos(operator, PlanTag(name="more"))
    assert type(operator) is cls  # wrapped once: its own execute runs every armed fault
    assert [(f.name, a.source) for f, a in operator._chaos_arm.members()] == [
        ("code", "code"),
        ("more", "code"),
        ("plan", PLAN),
    ]


def test_a_plain_operator_gets_the_armed_subclass_once():
    operator = make_task("plain")
    cls = type(operator)
    attach(operator, _plan(PlanTag(name="plan")))
    armed = type(operator)
    attach(operator, ChaosArm((PlanTag(name="other"),), source="plan:p.yaml#f"))
    assert armed is not cls and type(operator) is armed
    assert armed.__name__ == cls.__name__ and armed.__module__ == cls.__module__
