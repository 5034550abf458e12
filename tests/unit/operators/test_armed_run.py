"""The chaos wrapper's run (``ArmedRun``) on a stand-in runtime: phases, engine failures, records.

DESIGN §5.6: a bug inside the chaos engine at run time never corrupts the user's task. Whatever
phase a fault's code fails in (``before``, ``around``, ``after``, ``instead``, or rendering its
templates), the task runs untouched, exactly once, and the injection is recorded with status
``error``. The same rules through real Airflow: tests/integration/test_engine_failures.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from airflow_chaos import config, faults
from airflow_chaos.exceptions import ChaosInjectedFailure
from airflow_chaos.faults.base import Fault, FaultContext, injection_seed
from airflow_chaos.records import InjectionStatus
from tests.unit.operators.runtime import FakeTaskInstance, armed_run, context, make_task, run

OUTPUT = {"a": [1, 2, 3]}


class EngineBug(ZeroDivisionError):
    pass


class BrokenBefore(Fault):
    kind = "test_unit_broken_before"
    signals = ("freshness",)
    phase = "before"

    def before(self, ctx: FaultContext) -> None:
        raise EngineBug("before: bug inside the chaos engine")


class BrokenAroundEnter(Fault):
    kind = "test_unit_broken_around"
    signals = ("api",)
    phase = "around"

    def around(self, ctx: FaultContext) -> contextlib.AbstractContextManager[None]:
        raise EngineBug("around: bug inside the chaos engine")


class BrokenAroundInside(Fault):
    kind = "test_unit_broken_around_enter"
    signals = ("api",)
    phase = "around"

    @contextlib.contextmanager
    def around(self, ctx: FaultContext) -> Iterator[None]:
        raise EngineBug("around (entering): bug inside the chaos engine")
        yield  # pragma: no cover


class BrokenAroundExit(Fault):
    """Fails on the way out, after the task ran under it."""

    kind = "test_unit_broken_around_exit"
    signals = ("api",)
    phase = "around"

    @contextlib.contextmanager
    def around(self, ctx: FaultContext) -> Iterator[None]:
        yield
        raise EngineBug("around (leaving): bug inside the chaos engine")


class BrokenAroundFinally(Fault):
    """Fails while cleaning up, whatever the task did."""

    kind = "test_unit_broken_around_finally"
    signals = ("api",)
    phase = "around"

    @contextlib.contextmanager
    def around(self, ctx: FaultContext) -> Iterator[None]:
        try:
            yield
        finally:
            raise EngineBug("around (cleaning up): bug inside the chaos engine")


class BrokenAfter(Fault):
    kind = "test_unit_broken_after"
    signals = ("schema",)
    phase = "after"

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        raise EngineBug("after: bug inside the chaos engine")


class BrokenInstead(Fault):
    """Fails before running the task's work."""

    kind = "test_unit_broken_instead"
    signals = ("volume",)
    phase = "instead"

    def instead(self, call: Callable[[], Any], ctx: FaultContext) -> Any:
        raise EngineBug("instead: bug inside the chaos engine")


class BrokenInsteadAfterWork(Fault):
    """Runs the task's work, then fails: the work must not run a second time."""

    kind = "test_unit_broken_instead_after"
    signals = ("volume",)
    phase = "instead"

    def instead(self, call: Callable[[], Any], ctx: FaultContext) -> Any:
        call()
        raise EngineBug("instead (after the work): bug inside the chaos engine")


class Templated(Fault):
    kind = "test_unit_templated"
    signals = ("schema",)
    phase = "after"
    template_fields: ClassVar[tuple[str, ...]] = ("label",)

    label: str

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        ctx.record(label=self.label)
        return {**value, "label": self.label}


class Tag(Fault):
    """Marks the output; records the phase order it ran in."""

    kind = "test_unit_tag"
    signals = ("schema",)
    phase = "after"

    name: str

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        ctx.record(rows_affected=1)
        return {**value, "tags": [*value.get("tags", []), self.name]}


@pytest.fixture(autouse=True)
def chaos_on(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "true")
    monkeypatch.setattr(config, "kill_switch_on", lambda: False)


class Work:
    """The user's task: counts its calls and returns a fresh copy of OUTPUT."""

    def __init__(self, raises: Exception | None = None) -> None:
        self.calls = 0
        self.raises = raises

    def __call__(self, context: Any) -> Any:
        self.calls += 1
        if self.raises is not None:
            raise self.raises
        return {k: list(v) for k, v in OUTPUT.items()}


BROKEN = [
    BrokenBefore(),
    BrokenAroundEnter(),
    BrokenAroundInside(),
    BrokenAroundExit(),
    BrokenAfter(),
    BrokenInstead(),
    BrokenInsteadAfterWork(),
]


@pytest.mark.parametrize("fault", BROKEN, ids=lambda f: f.kind)
def test_an_engine_failure_in_any_phase_leaves_the_task_untouched(fault):
    work = Work()
    result, records = run(fault, execute=work)
    assert result == OUTPUT
    assert work.calls == 1, "the user's work must run exactly once"
    (rec,) = records
    assert rec["status"] == "error"
    assert rec["error"].startswith("EngineBug: ") and "bug inside the chaos engine" in rec["error"]
    assert rec["outcome"] is None and rec["finished_at"] is not None


@pytest.mark.parametrize("fault", BROKEN, ids=lambda f: f.kind)
def test_an_engine_failure_does_not_stop_the_other_faults(fault):
    work = Work()
    result, records = run(fault, Tag(name="after"), execute=work)
    assert result == {**OUTPUT, "tags": ["after"]}
    assert [r["status"] for r in records] == ["error", "injected"]
    assert records[1]["outcome"] == "success" and records[1]["changes"] == {"rows_affected": 1}


def test_the_users_exception_is_not_an_engine_error():
    work = Work(raises=ValueError("upstream API down"))
    result, records = run(Tag(name="x"), execute=work)
    assert isinstance(result, ValueError)
    (rec,) = records
    assert rec["status"] == "injected" and rec["outcome"] == "raised"
    assert rec["error"] == "ValueError: upstream API down"


def test_the_users_exception_passes_through_an_around_fault_that_fails_on_the_way_out():
    work = Work(raises=ValueError("upstream API down"))
    result, records = run(BrokenAroundFinally(), execute=work)
    assert isinstance(result, ValueError) and str(result) == "upstream API down"
    assert records[0]["status"] == "error" and records[0]["error"].startswith("EngineBug: around (cleaning up)")


def test_the_users_exception_inside_an_instead_fault_is_re_raised_not_swallowed():
    work = Work(raises=ValueError("boom"))
    result, records = run(faults.PartialOutput(fraction=0.5), execute=work)
    assert isinstance(result, ValueError) and work.calls == 1
    assert records[0]["status"] == "injected" and records[0]["outcome"] == "raised"


def test_an_injected_failure_fails_the_task_and_is_not_an_engine_error():
    result, records = run(faults.PartialOutput(fraction=0.5, then="raise"), execute=lambda _: [{"a": 1}, {"a": 2}])
    assert isinstance(result, ChaosInjectedFailure)
    assert records[0]["status"] == "injected" and records[0]["outcome"] == "raised"


def test_only_the_first_instead_fault_acts():
    result, records = run(faults.PartialOutput(fraction=0.5), faults.FalseSuccess(), execute=lambda _: [1, 2, 3, 4])
    assert result == [1, 2]
    assert [r["status"] for r in records] == ["injected", "skipped"]
    assert records[1]["reason"] == "only one 'instead' fault per task; partial_output came first"


# ---------------------------------------------------------------------- templates
def test_templates_render_against_the_task_context():
    result, records = run(Templated(label="day {{ ds }}"), execute=Work())
    assert result["label"] == "day 2026-01-01"
    assert records[0]["fault"]["label"] == "day 2026-01-01" and records[0]["status"] == "injected"


@pytest.mark.parametrize("template", ["{{ 1 // 0 }}", "{{ ds | no_such_filter }}", "{% if %}"])
def test_a_template_that_does_not_render_is_an_injection_error_and_the_task_runs_untouched(template):
    work = Work()
    result, records = run(Templated(label=template), Tag(name="ok"), execute=work)
    assert result == {**OUTPUT, "tags": ["ok"]} and work.calls == 1
    rec = records[0]
    assert rec["status"] == "error" and rec["error"].startswith("rendering ['label'] failed: ")
    assert rec["fault"]["label"] == template  # recorded as armed, not half-rendered
    assert records[1]["status"] == "injected"


def test_a_bad_template_on_a_fault_the_gate_skipped_is_still_an_error():
    result, records = run(Templated(label="{{ 1 // 0 }}"), execute=Work(), probability=0.0)
    assert result == OUTPUT and records[0]["status"] == "error"


# ---------------------------------------------------------------------- preflight
def test_a_failing_preflight_is_logged_and_chaos_goes_on(monkeypatch, caplog):
    from airflow_chaos.experiment import journal

    def unreachable(self: Any, **_: Any) -> Any:
        raise OSError("journal store unreachable")

    monkeypatch.setattr(journal.Journal, "pending", unreachable)
    work = Work()
    result, records = run(Tag(name="x"), execute=work)
    assert result == {**OUTPUT, "tags": ["x"]} and work.calls == 1
    assert records[0]["status"] == "injected"


def test_preflight_restores_only_finished_runs_of_this_dag(monkeypatch, tmp_path):
    from airflow_chaos.experiment.journal import Journal

    monkeypatch.setenv("AIRFLOW__CHAOS__JOURNAL_PATH", str(tmp_path / "journal"))
    finished, running = tmp_path / "finished.csv", tmp_path / "running.csv"
    for path in (finished, running):
        path.write_bytes(b"a\n1\n")
    journal = Journal(tmp_path / "journal")
    journal.rewrite(finished, lambda _: b"", dag_id="dag", run_id="earlier")
    journal.rewrite(running, lambda _: b"", dag_id="dag", run_id="concurrent")

    class TI(FakeTaskInstance):
        def get_dr_count(self, **kw: Any) -> int:
            return 1 if kw.get("run_ids") == ["concurrent"] else 0

    result, _ = run(Tag(name="x"), execute=Work(), ctx=context(TI()))
    assert result["tags"] == ["x"]
    assert finished.read_bytes() == b"a\n1\n", "a finished run's mutation is restored"
    assert running.read_bytes() == b"", "a run still active is left alone"


# ---------------------------------------------------------------------- decisions and records
def test_every_armed_fault_is_recorded_with_its_identity_and_seed():
    ti = FakeTaskInstance(map_index=3, try_number=2)
    result, records = run(Tag(name="a"), Tag(name="b"), execute=Work(), ctx=context(ti), seed=9)
    assert result["tags"] == ["a", "b"]
    for index, rec in enumerate(records):
        assert rec["fault_index"] == index and rec["map_index"] == 3 and rec["try_number"] == 2
        assert rec["seed"] == injection_seed(9, "dag", "manual__2026-01-01", "produce", index, 3)
        assert (rec["dag_id"], rec["run_id"], rec["task_id"]) == ("dag", "manual__2026-01-01", "produce")


def test_dry_run_records_what_would_be_injected_and_changes_nothing():
    result, records = run(Tag(name="a"), execute=Work(), dry_run=True)
    assert result == OUTPUT
    assert records[0]["status"] == "dry_run" and records[0]["changes"] == {"would_inject": "test_unit_tag(name='a')"}
    assert records[0]["outcome"] is None


def test_max_injections_counts_this_task_and_the_rest_of_the_run(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "2")
    ti = FakeTaskInstance()
    ti.store[("upstream", "chaos_injections")] = [
        {"kind": "delay", "fault": {}, "signals": [], "status": "injected", "task_id": "upstream"}
    ]
    result, records = run(Tag(name="a"), Tag(name="b"), execute=Work(), ctx=context(ti, ["upstream", "produce"]))
    assert result["tags"] == ["a"]
    assert [r["status"] for r in records] == ["injected", "skipped"]
    assert records[1]["reason"] == "max_injections_per_run=2 reached"


def test_the_kill_switch_skips_every_fault(monkeypatch):
    monkeypatch.setattr(config, "kill_switch_on", lambda: True)
    result, records = run(Tag(name="a"), BrokenAfter(), execute=Work())
    assert result == OUTPUT
    assert [r["status"] for r in records] == ["skipped", "skipped"]


def test_disabled_chaos_runs_the_task_and_records_nothing(monkeypatch):
    from airflow_chaos.operators.chaos import ChaosArm, run_armed

    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "false")
    ctx = context()
    out = run_armed(None, Work(), ctx, ChaosArm.build([Tag(name="a")]))  # type: ignore[arg-type]
    assert out == OUTPUT and ctx["ti"].store == {}


def test_records_are_pushed_before_the_users_exception_propagates():
    ctx = context()
    runner = armed_run(Tag(name="a"), ctx=ctx)
    with pytest.raises(KeyError):
        runner.run(Work(raises=KeyError("k")))
    assert ctx["ti"].store[("produce", "chaos_injections")][0]["outcome"] == "raised"


def test_an_engine_failure_status_is_error_in_the_enum():
    _, records = run(BrokenAfter(), execute=Work())
    assert InjectionStatus(records[0]["status"]) is InjectionStatus.ERROR


# ---------------------------------------------------------------------- arming twice, resuming, suspending
def test_arming_twice_adds_the_faults_and_the_newest_settings_win():
    from airflow_chaos.operators.chaos import ChaosArm

    first = ChaosArm.build([Tag(name="a")], probability=0.5, seed=1, dry_run=False, max_fraction=0.9)
    second = ChaosArm.build([Tag(name="b")], probability=0.2, seed=3, dry_run=True, max_fraction=0.5)
    assert first.plus(second) == ChaosArm((Tag(name="a"), Tag(name="b")), 0.2, 3, True, 0.5)


def test_disabled_chaos_hands_the_context_to_the_task(monkeypatch):
    from airflow_chaos.operators.chaos import ChaosArm, run_armed

    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "false")
    ctx = context()
    assert run_armed(None, lambda c: c, ctx, ChaosArm.build([Tag(name="a")])) is ctx  # type: ignore[arg-type]


def test_resuming_reuses_the_recorded_decisions_and_skips_served_delays():
    from airflow_chaos.operators.chaos import ChaosArm, run_armed
    from airflow_chaos.records import Injection

    delay = faults.Delay(seconds=30)
    recorded = [
        Injection.for_fault(Tag(name="a"), InjectionStatus.INJECTED, task_id="produce", fault_index=0).to_json(),
        Injection.for_fault(
            delay,
            InjectionStatus.INJECTED,
            task_id="produce",
            fault_index=1,
            changes={"deferred_seconds": 30.0, "served": "deferred"},
        ).to_json(),
    ]
    ctx = context()
    arm = ChaosArm.build([Tag(name="a"), delay], seed=1)
    result = run_armed(make_task(), Work(), ctx, arm, resumed=recorded)  # a 30 s delay not served again
    assert result == {**OUTPUT, "tags": ["a"]}
    records = ctx["ti"].store[("produce", "chaos_injections")]
    assert [r["id"] for r in records] == [r["id"] for r in recorded]
    assert records[1]["changes"]["served"] == "deferred" and records[1]["outcome"] == "success"


def test_a_record_lost_across_a_deferral_is_an_injection_error():
    from airflow_chaos.operators.chaos import ChaosArm, run_armed

    ctx = context()
    arm = ChaosArm.build([Tag(name="a"), Tag(name="b")])
    kept = run(Tag(name="a"), execute=Work())[1]
    result = run_armed(make_task(), Work(), ctx, arm, resumed=kept)
    assert result["tags"] == ["a"]
    records = ctx["ti"].store[("produce", "chaos_injections")]
    assert records[1]["status"] == "error" and records[1]["error"].startswith("injection record lost across the deferral")


def test_a_task_that_reschedules_itself_records_no_outcome():
    from datetime import datetime, timezone

    from airflow.sdk.exceptions import AirflowRescheduleException

    poke = AirflowRescheduleException(reschedule_date=datetime(2026, 1, 1, tzinfo=timezone.utc))
    result, records = run(Tag(name="a"), execute=Work(raises=poke))
    assert result is poke
    assert records[0]["status"] == "injected" and records[0]["outcome"] is None and records[0]["error"] is None


def test_an_around_fault_sees_the_tasks_exception():
    class Watch(Fault):
        kind = "test_unit_watch"
        signals = ("api",)
        phase = "around"

        @contextlib.contextmanager
        def around(self, ctx: FaultContext) -> Iterator[None]:
            try:
                yield
            except ValueError as exc:
                ctx.record(saw=type(exc).__name__, traceback=exc.__traceback__ is not None)
                raise

    result, records = run(Watch(), execute=Work(raises=ValueError("x")))
    assert isinstance(result, ValueError)
    assert records[0]["changes"] == {"saw": "ValueError", "traceback": True}
    assert records[0]["status"] == "injected" and records[0]["outcome"] == "raised"


def test_preflight_asks_only_about_this_dags_other_runs(monkeypatch, tmp_path):
    from airflow_chaos.experiment.journal import Journal

    monkeypatch.setenv("AIRFLOW__CHAOS__JOURNAL_PATH", str(tmp_path / "journal"))
    paths = {name: tmp_path / f"{name}.csv" for name in ("earlier", "this_run", "other_dag")}
    for path in paths.values():
        path.write_bytes(b"a\n1\n")
    journal = Journal(tmp_path / "journal")
    journal.rewrite(paths["earlier"], lambda _: b"", dag_id="dag", run_id="earlier")
    journal.rewrite(paths["this_run"], lambda _: b"", dag_id="dag", run_id="manual__2026-01-01")
    journal.rewrite(paths["other_dag"], lambda _: b"", dag_id="other_dag", run_id="old")
    asked: list[dict[str, Any]] = []

    class TI(FakeTaskInstance):
        def get_dr_count(self, **kw: Any) -> int:
            asked.append(kw)
            return 0

    run(Tag(name="x"), execute=Work(), ctx=context(TI()))
    assert asked == [{"dag_id": "dag", "run_ids": ["earlier"], "states": ["running", "queued"]}]
    assert paths["earlier"].read_bytes() == b"a\n1\n"
    assert paths["this_run"].read_bytes() == b"", "this run's own mutations are its teardown's to undo"
    assert paths["other_dag"].read_bytes() == b"", "another DAG's mutations are left alone"


# ---------------------------------------------------------------------- long delays go to the triggerer
def test_long_delays_defer_to_the_triggerer_with_the_records():
    from datetime import datetime, timedelta, timezone

    from airflow.sdk.exceptions import TaskDeferred

    work, ctx = Work(), context()
    runner = armed_run(faults.Delay(seconds=40, defer_above=30), faults.Delay(seconds=50, defer_above=30), Tag(name="a"), ctx=ctx)
    before = datetime.now(timezone.utc)
    with pytest.raises(TaskDeferred) as info:
        runner.run(work)
    deferred, records = info.value, ctx["ti"].store[("produce", "chaos_injections")]
    assert work.calls == 0, "the task defers before its work"
    assert deferred.method_name == "_chaos_resume"
    assert deferred.kwargs == {"chaos_records": records}
    moment = deferred.trigger.moment
    assert before + timedelta(seconds=90) <= moment <= datetime.now(timezone.utc) + timedelta(seconds=90)
    delays = [r for r in records if r["kind"] == "delay"]
    assert [r["changes"] for r in delays] == [
        {"deferred_seconds": 40.0, "served": "deferred"},
        {"deferred_seconds": 50.0, "served": "deferred"},
    ]
    assert all(r["outcome"] is None for r in records), "a deferral is not an outcome"
    assert records[2]["status"] == "injected" and records[2]["changes"] == {}


def test_short_delays_and_skipped_long_ones_do_not_defer():
    short, _ = run(faults.Delay(seconds=0.01, defer_above=30), execute=Work())
    assert short == OUTPUT
    skipped, records = run(faults.Delay(seconds=40, defer_above=30), execute=Work(), dry_run=True)
    assert skipped == OUTPUT and records[0]["status"] == "dry_run"
