"""The chaos wrapper's run (``ArmedRun``) on a stand-in runtime: phases, engine failures, records.

DESIGN §5.6: a bug inside the chaos engine at run time never corrupts the user's task. Whatever
phase a fault's code fails in (``before``, ``around``, ``after``, ``instead``, or rendering its
templates), the task runs untouched, exactly once, and the injection is recorded with status
``error``. The same rules through real Airflow: tests/integration/test_engine_failures.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
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


@pytest.fixture(autouse=True)
def no_long_sleep(monkeypatch):
    """A delay these tests arm long is deferred or already served: sleeping it in the worker is a bug, failed at once."""
    from airflow_chaos.faults import timing

    sleep = timing._sleep

    def guarded(seconds: float, ctx: FaultContext) -> None:
        if seconds > 1:
            pytest.fail(f"a {seconds} s delay was slept in the worker instead of deferred or skipped as served")
        sleep(seconds, ctx)

    monkeypatch.setattr(timing, "_sleep", guarded)


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


def emptied_files(monkeypatch, tmp_path, **left_by: tuple[str, str]) -> dict[str, Path]:
    """Under a journal at ``[chaos] journal_path``: one file per name (``a\n1\n``), emptied by a
    journaled fault that ``(dag_id, run_id)`` left behind."""
    from airflow_chaos.experiment.journal import Journal

    monkeypatch.setenv("AIRFLOW__CHAOS__JOURNAL_PATH", str(tmp_path / "journal"))
    journal, paths = Journal(tmp_path / "journal"), {}
    for name, (dag_id, run_id) in left_by.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_bytes(b"a\n1\n")
        journal.rewrite(paths[name], lambda _: b"", dag_id=dag_id, run_id=run_id)
    return paths


def test_preflight_restores_only_finished_runs_of_this_dag(monkeypatch, tmp_path):
    paths = emptied_files(monkeypatch, tmp_path, finished=("dag", "earlier"), running=("dag", "concurrent"))
    finished, running = paths["finished"], paths["running"]

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
    assert records[1]["status"] == "error" and records[1]["error"].startswith(
        "injection record lost across the deferral"
    )


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
    paths = emptied_files(
        monkeypatch,
        tmp_path,
        earlier=("dag", "earlier"),
        this_run=("dag", "manual__2026-01-01"),
        other_dag=("other_dag", "old"),
    )
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
    runner = armed_run(
        faults.Delay(seconds=40, defer_above=30), faults.Delay(seconds=50, defer_above=30), Tag(name="a"), ctx=ctx
    )
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


# ---------------------------------------------------------------------- what each fault is handed, and the log
class Probe(Fault):
    """Records what the wrapper handed it: its context's seed, labels, blast radius and confinement."""

    kind = "test_unit_probe"
    signals = ("schema",)
    phase = "after"

    seen: ClassVar[list[FaultContext]] = []

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        Probe.seen.append(ctx)
        return value


class PathProbe(Fault):
    """A fault with a templated file location, confined like the file faults' ``path``."""

    kind = "test_unit_path_probe"
    signals = ("freshness",)
    phase = "after"
    template_fields: ClassVar[tuple[str, ...]] = ("path",)
    path_fields: ClassVar[tuple[str, ...]] = ("path",)

    path: str

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        ctx.record(path=self.path)
        return value


class NamedPath(Fault):
    """Has a ``path`` attribute that is not a location (not in ``path_fields``): nothing to confine."""

    kind = "test_unit_named_path"
    signals = ("schema",)
    phase = "after"

    path: str = "/etc/not-a-location"


class Lines:
    """A task logger recording the lines the wrapper logs, after ``RedactedLog`` formatted them."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, fmt: str, *args: Any) -> None:
        self.lines.append(("info", fmt % args))

    def warning(self, fmt: str, *args: Any) -> None:
        self.lines.append(("warning", fmt % args))


@pytest.fixture
def task_log(monkeypatch) -> Lines:
    from airflow_chaos.operators.chaos import ArmedRun
    from airflow_chaos.operators.records import RedactedLog

    lines = Lines()
    monkeypatch.setattr(ArmedRun, "log", property(lambda self: RedactedLog(lines)))
    return lines


def test_each_fault_gets_its_injections_seed_labels_journal_and_blast_radius():
    Probe.seen.clear()
    ti = FakeTaskInstance(try_number=3)
    runner = armed_run(Probe(), ctx=context(ti), seed=4, max_fraction=0.25)
    runner.run(Work())
    (ctx,) = Probe.seen
    rec = ti.store[("produce", "chaos_injections")][0]
    assert ctx.seed == rec["seed"] == injection_seed(4, "dag", "manual__2026-01-01", "produce", 0)
    assert ctx.labels == {
        "injection_id": rec["id"],
        "dag_id": "dag",
        "run_id": "manual__2026-01-01",
        "task_id": "produce",
        "try_number": 3,
    }
    assert ctx.journal is runner.journal and ctx.max_fraction == 0.25
    assert ctx.confinement is None, "a fault without a path field has nothing to confine"


def test_an_injected_path_fault_is_confined_to_its_templates_directory(tmp_path):
    from airflow_chaos.storage import Confinement

    template = str(tmp_path / "drop" / "{{ ds }}.csv")
    runner = armed_run(PathProbe(path=template), NamedPath(), faults.Delay(seconds=1), dry_run=False)
    runner._decide()
    path_item, named_item, _ = runner.items
    assert path_item.injection.status is InjectionStatus.INJECTED
    assert path_item.fault.path == str(tmp_path / "drop" / "2026-01-01.csv"), "rendered against the context"
    assert path_item.ctx.confinement == Confinement(template=template, roots=())
    assert named_item.ctx.confinement is None, "an attribute named path is not a location unless in path_fields"


def test_a_fault_that_is_not_injected_gets_no_confinement(tmp_path):
    runner = armed_run(PathProbe(path=str(tmp_path / "{{ ds }}.csv")), Tag(name="a"), dry_run=True)
    runner._decide()
    assert [i.injection.status for i in runner.items] == [InjectionStatus.DRY_RUN] * 2
    assert [i.ctx.confinement for i in runner.items] == [None, None]


def test_allowed_paths_confine_every_path_fault(monkeypatch, tmp_path):
    from airflow_chaos.storage import Confinement

    monkeypatch.setenv("AIRFLOW__CHAOS__ALLOWED_PATHS", str(tmp_path / "allowed"))
    inside = PathProbe(path=str(tmp_path / "allowed" / "{{ ds }}.csv"))
    outside = PathProbe(path=str(tmp_path / "elsewhere" / "{{ ds }}.csv"))
    runner = armed_run(inside, outside)
    runner._decide()
    ok, refused = runner.items
    assert ok.injection.status is InjectionStatus.INJECTED
    assert ok.ctx.confinement == Confinement(template=inside.path, roots=(str(tmp_path / "allowed"),))
    assert refused.injection.status is InjectionStatus.ERROR
    assert refused.injection.error.startswith("test_unit_path_probe: field 'path': ")
    assert "outside every root of [chaos] allowed_paths" in refused.injection.error
    assert str(tmp_path / "elsewhere" / "2026-01-01.csv") in refused.injection.error


def test_a_rendered_path_that_leaves_its_templates_directory_is_an_injection_error(tmp_path):
    work = Work()
    escape = str(tmp_path / "drop" / "{{ ds }}" / ".." / ".." / ".." / "etc" / "passwd")
    result, records = run(PathProbe(path=escape), Tag(name="ok"), execute=work)
    assert result == {**OUTPUT, "tags": ["ok"]} and work.calls == 1
    rec = records[0]
    assert rec["status"] == "error" and rec["fault"]["path"] == escape, "recorded as armed, not rendered"
    assert rec["error"].startswith("test_unit_path_probe: field 'path': ")
    assert f"outside {tmp_path / 'drop'}/" in rec["error"]
    assert records[1]["status"] == "injected"


def test_a_path_within_its_templates_directory_is_rendered_and_injected(tmp_path):
    result, records = run(PathProbe(path=str(tmp_path / "drop" / "{{ ds }}.csv")), execute=Work())
    assert result == OUTPUT
    assert records[0]["status"] == "injected"
    assert records[0]["changes"] == {"path": str(tmp_path / "drop" / "2026-01-01.csv")}


def test_the_settings_are_read_once_with_the_allowed_paths(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "allowed_paths", lambda: pytest.fail("[chaos] allowed_paths read a second time"))
    _, records = run(PathProbe(path=str(tmp_path / "{{ ds }}.csv")), execute=Work())
    assert records[0]["status"] == "injected"


def test_a_template_error_names_the_exception():
    _, records = run(Templated(label="{{ 1 // 0 }}"), execute=Work())
    assert records[0]["error"].startswith("rendering ['label'] failed: ZeroDivisionError")


def test_each_decision_is_logged_with_its_status_fault_and_reason(monkeypatch, task_log):
    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "1")
    run(Tag(name="a"), Tag(name="b"), Templated(label="{{ 1 // 0 }}"), execute=Work())
    decisions = [line for line in task_log.lines if line[1].startswith("chaos: ") and "(" in line[1]]
    assert decisions[:3] == [
        ("info", "chaos: injected test_unit_tag(name='a') (armed)"),
        ("info", "chaos: skipped test_unit_tag(name='b') (max_injections_per_run=1 reached)"),
        (
            "info",
            "chaos: error test_unit_templated(label='{{ 1 // 0 }}') "
            "(rendering ['label'] failed: ZeroDivisionError: integer division or modulo by zero)",
        ),
    ]


def test_an_engine_failure_is_logged_as_a_warning_naming_the_fault_and_error(task_log):
    run(BrokenAfter(), execute=Work())
    assert (
        "warning",
        "chaos: test_unit_broken_after() failed inside the chaos engine; the task runs untouched: "
        "EngineBug: after: bug inside the chaos engine",
    ) in task_log.lines


# ---------------------------------------------------------------------- settings and decisions
def test_the_configured_seed_seeds_arms_that_give_none(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__SEED", "11")
    _, records = run(Tag(name="a"), execute=Work())
    assert records[0]["seed"] == injection_seed(11, "dag", "manual__2026-01-01", "produce", 0)
    _, records = run(Tag(name="a"), execute=Work(), seed=12)
    assert records[0]["seed"] == injection_seed(12, "dag", "manual__2026-01-01", "produce", 0), "the arm's own wins"


def test_without_a_seed_each_run_draws_its_own_seeds():
    _, first = run(Tag(name="a"), execute=Work())
    _, other = run(Tag(name="a"), execute=Work(), ctx=context(FakeTaskInstance(run_id="manual__2026-01-02")))
    assert first[0]["seed"] == injection_seed(None, "dag", "manual__2026-01-01", "produce", 0)
    assert other[0]["seed"] == injection_seed(None, "dag", "manual__2026-01-02", "produce", 0)
    assert first[0]["seed"] != other[0]["seed"]


def test_max_injections_counts_every_fault_this_task_injected(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "2")
    result, records = run(Tag(name="a"), Tag(name="b"), Tag(name="c"), execute=Work())
    assert result["tags"] == ["a", "b"]
    assert [r["status"] for r in records] == ["injected", "injected", "skipped"]


def test_max_injections_does_not_count_this_tasks_earlier_records(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "1")
    ti = FakeTaskInstance(try_number=2)
    ti.store[("produce", "chaos_injections")] = [
        {"kind": "test_unit_tag", "fault": {}, "signals": [], "status": "injected", "task_id": "produce"}
    ]
    result, records = run(Tag(name="a"), execute=Work(), ctx=context(ti, ["upstream", "produce"]))
    assert result["tags"] == ["a"] and records[0]["status"] == "injected"


def test_an_invalid_setting_is_an_error_of_every_fault_and_the_task_runs_untouched(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "many")
    work = Work()
    result, records = run(Tag(name="a"), Templated(label="day {{ ds }}"), execute=work, seed=5)
    assert result == OUTPUT and work.calls == 1
    assert [r["status"] for r in records] == ["error", "error"]
    for index, rec in enumerate(records):
        assert rec["error"].startswith("invalid chaos settings") and "max_injections_per_run" in rec["error"]
        assert rec["seed"] == injection_seed(5, "dag", "manual__2026-01-01", "produce", index)
    assert records[1]["fault"]["label"] == "day {{ ds }}", "nothing rendered under an invalid setting"


def test_an_environment_not_allowed_skips_every_fault_naming_it(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__ENVIRONMENT", "prod")
    monkeypatch.setenv("AIRFLOW__CHAOS__ALLOWED_ENVIRONMENTS", "dev,staging")
    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "many")  # not validated outside allowed envs
    result, records = run(Tag(name="a"), execute=Work())
    assert result == OUTPUT
    assert records[0]["status"] == "skipped"
    assert records[0]["reason"] == "environment 'prod' not in allowed_environments ['dev', 'staging']"


def test_an_unset_try_number_is_the_first_try():
    _, records = run(Tag(name="a"), execute=Work(), ctx=context(FakeTaskInstance(try_number=None)))  # type: ignore[arg-type]
    assert records[0]["try_number"] == 1


def test_a_plan_experiments_conditions_apply_to_its_faults_only():
    from airflow_chaos.operators.chaos import ChaosArm, run_armed
    from airflow_chaos.plans import ExperimentGate

    code = ChaosArm.build([Tag(name="code")])
    plan = ChaosArm(
        (Tag(name="plan"),),
        source="plan:p.yaml#nightly",
        gate=ExperimentGate("plan:p.yaml#nightly", run_types=("scheduled",)),
    )
    ctx = context()
    result = run_armed(make_task(), Work(), ctx, code.plus(plan))
    assert result["tags"] == ["code"]
    records = ctx["ti"].store[("produce", "chaos_injections")]
    assert [(r["status"], r["source"]) for r in records] == [("injected", "code"), ("skipped", "plan:p.yaml#nightly")]
    assert records[1]["reason"].startswith("run type None not selected by the plan")


def test_a_plan_fault_goes_in_when_its_conditions_hold():
    from airflow_chaos.operators.chaos import ChaosArm, run_armed
    from airflow_chaos.plans import ExperimentGate

    plan = ChaosArm(
        (Tag(name="plan"),), source="plan:p.yaml#e", gate=ExperimentGate("plan:p.yaml#e", run_types=("manual",))
    )
    ctx = context()
    ctx["dag_run"] = type("DagRun", (), {"run_type": "manual"})()
    assert run_armed(make_task(), Work(), ctx, plan)["tags"] == ["plan"]
    assert ctx["ti"].store[("produce", "chaos_injections")][0]["source"] == "plan:p.yaml#e"


def test_an_invalid_setting_is_an_error_also_for_a_plan_fault(monkeypatch):
    from airflow_chaos.operators.chaos import ChaosArm, run_armed
    from airflow_chaos.plans import ExperimentGate

    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "many")
    plan = ChaosArm(
        (Tag(name="plan"),), source="plan:p.yaml#e", gate=ExperimentGate("plan:p.yaml#e", run_types=("manual",))
    )
    ctx = context()
    assert run_armed(make_task(), Work(), ctx, plan) == OUTPUT
    rec = ctx["ti"].store[("produce", "chaos_injections")][0]
    assert rec["status"] == "error" and "max_injections_per_run" in rec["error"]


# ---------------------------------------------------------------------- arming: building and adding arms
def test_build_names_the_default_owner_in_its_errors():
    from airflow_chaos.exceptions import ChaosConfigError
    from airflow_chaos.operators.chaos import ChaosArm

    with pytest.raises(ChaosConfigError, match=r"^chaos: field 'faults': give at least one fault"):
        ChaosArm.build([])


@pytest.mark.parametrize("bad", [0, 1.5, 2, -0.1, "half", None, True])
def test_max_fraction_must_be_a_number_in_the_half_open_unit_interval(bad):
    from airflow_chaos.exceptions import ChaosConfigError
    from airflow_chaos.operators.chaos import ChaosArm

    with pytest.raises(ChaosConfigError, match=r"field 'max_fraction' must be a number in \(0, 1\]"):
        ChaosArm.build([Tag(name="a")], max_fraction=bad)
    assert ChaosArm.build([Tag(name="a")], max_fraction=1).max_fraction == 1.0


def test_arms_from_different_sources_keep_their_own_settings():
    from airflow_chaos.operators.chaos import ChaosArm

    code = ChaosArm.build([Tag(name="a")], probability=0.5, seed=1)
    plan = ChaosArm((Tag(name="b"),), probability=0.2, seed=3, source="plan:p.yaml#e")
    both = code.plus(plan)
    assert both.faults == (Tag(name="a"),) and (both.probability, both.seed) == (0.5, 1)
    assert both.also == (plan,)
    assert both.members() == ((Tag(name="a"), both), (Tag(name="b"), plan))
    assert both.plus(ChaosArm((Tag(name="c"),), source="plan:q.yaml#f")).also[0] is plan, "added, not replaced"


@pytest.mark.parametrize("gated", ["new", "existing"])
def test_an_arm_with_conditions_is_never_merged_into_another(gated):
    from airflow_chaos.operators.chaos import ChaosArm
    from airflow_chaos.plans import ExperimentGate

    gate = ExperimentGate("code", run_types=("manual",))
    first = ChaosArm((Tag(name="a"),), gate=gate if gated == "existing" else None)
    second = ChaosArm((Tag(name="b"),), probability=0.3, gate=gate if gated == "new" else None)
    both = first.plus(second)
    assert both.faults == (Tag(name="a"),) and both.probability == 1.0 and both.gate is first.gate
    assert both.also == (second,)


# ---------------------------------------------------------------------- phases get the context
def test_the_before_phase_gets_the_faults_context():
    class Mark(Fault):
        kind = "test_unit_mark_before"
        signals = ("freshness",)
        phase = "before"

        def before(self, ctx: FaultContext) -> None:
            ctx.record(marked=True)

    _, records = run(Mark(), execute=Work())
    assert records[0]["status"] == "injected" and records[0]["changes"] == {"marked": True}


def test_the_task_gets_its_context_under_an_instead_fault():
    ctx = context()
    result, records = run(faults.PartialOutput(fraction=0.5), execute=lambda c: [c["ds"]] * 4, ctx=ctx)
    assert result == ["2026-01-01"] * 2 and records[0]["status"] == "injected"
    result, records = run(Tag(name="x"), execute=lambda c: {"ds": c["ds"]})
    assert result == {"ds": "2026-01-01", "tags": ["x"]}


def test_the_task_gets_its_context_when_an_instead_fault_fails_before_the_work():
    result, records = run(BrokenInstead(), execute=lambda c: c["ds"])
    assert result == "2026-01-01" and records[0]["status"] == "error"


def test_an_around_fault_gets_the_tasks_exception_and_traceback_as_raised():
    seen: list[tuple[Any, ...]] = []

    class Exit:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc_info: Any) -> bool:
            seen.append(exc_info)
            return False

    class Raw(Fault):
        kind = "test_unit_raw_around"
        signals = ("api",)
        phase = "around"

        def around(self, ctx: FaultContext) -> Any:
            return Exit()

    boom = ValueError("x")
    result, _ = run(Raw(), execute=Work(raises=boom))
    assert result is boom
    ((exc_type, exc, tb),) = seen
    assert exc_type is ValueError and exc is boom and tb is not None


# ---------------------------------------------------------------------- a fault that changed nothing
class NoOp(Fault):
    kind = "test_unit_noop"
    signals = ("schema",)
    phase = "after"

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        ctx.ineffective("no rows to corrupt: the table is empty")
        return value


def test_an_injected_fault_that_changed_nothing_is_recorded_ineffective_with_its_reason():
    _, records = run(NoOp(), Tag(name="a"), execute=Work())
    assert (records[0]["status"], records[0]["effective"]) == ("injected", False)
    assert records[0]["reason"] == "no rows to corrupt: the table is empty"
    assert (records[1]["effective"], records[1]["reason"]) == (True, None), "a fault that changed something"


def test_a_fault_not_injected_is_not_marked_ineffective():
    runner = armed_run(NoOp(), dry_run=True)
    runner._decide()
    runner.items[0].ctx.ineffective("set by a fault that never ran")
    runner._finish("success")
    inj = runner.items[0].injection
    assert inj.status is InjectionStatus.DRY_RUN and inj.effective is True
    assert inj.reason == "dry run: recorded, nothing changed"


# ---------------------------------------------------------------------- preflight, deferral, resume logging
def test_preflight_logs_what_it_restored_and_what_was_written_since(monkeypatch, tmp_path, task_log):
    paths = emptied_files(monkeypatch, tmp_path, restored=("dag", "earlier"), rewritten=("dag", "earlier"))
    restored, rewritten = paths["restored"], paths["rewritten"]
    rewritten.write_bytes(b"a\n2\n")  # someone wrote it since the fault
    run(Tag(name="x"), execute=Work())
    warnings = sorted(line for level, line in task_log.lines if level == "warning" and "preflight" in line)
    assert warnings == [
        f"chaos preflight: restored {restored}, left by run earlier",
        f"chaos preflight: superseded {rewritten}, left by run earlier (written since the fault: kept as it is)",
    ]
    assert rewritten.read_bytes() == b"a\n2\n"


def test_preflight_restores_only_this_dags_entries_of_a_finished_run(monkeypatch, tmp_path):
    paths = emptied_files(monkeypatch, tmp_path, mine=("dag", "scheduled__1"), theirs=("other_dag", "scheduled__1"))
    mine, theirs = paths["mine"], paths["theirs"]  # same run id, other DAG
    run(Tag(name="x"), execute=Work())
    assert mine.read_bytes() == b"a\n1\n"
    assert theirs.read_bytes() == b"", "another DAG's run with the same id is not this DAG's to restore"


def test_a_failing_preflight_logs_why(monkeypatch, task_log):
    from airflow_chaos.experiment import journal

    def unreachable(self: Any, **_: Any) -> Any:
        raise OSError("journal store unreachable")

    monkeypatch.setattr(journal.Journal, "pending", unreachable)
    run(Tag(name="x"), execute=Work())
    assert (
        "warning",
        "chaos preflight: could not restore earlier runs' mutations: journal store unreachable",
    ) in task_log.lines


def test_deferring_logs_the_total_delay(task_log):
    from airflow.sdk.exceptions import TaskDeferred

    runner = armed_run(faults.Delay(seconds=40, defer_above=30), faults.Delay(seconds=50.25, defer_above=30))
    with pytest.raises(TaskDeferred):
        runner.run(Work())
    assert ("info", "chaos: deferring 90.2 s of delay to the triggerer") in task_log.lines


def test_a_path_that_left_its_directory_during_the_deferral_is_an_error_after_resuming(monkeypatch, tmp_path):
    from airflow_chaos.operators.chaos import ChaosArm, run_armed

    probe = PathProbe(path=str(tmp_path / "drop" / "{{ ds }}.csv"))
    _, recorded = run(probe, execute=Work())
    assert recorded[0]["status"] == "injected"
    monkeypatch.setenv("AIRFLOW__CHAOS__ALLOWED_PATHS", str(tmp_path / "other"))  # changed while deferred
    ctx, work = context(), Work()
    assert run_armed(make_task(), work, ctx, ChaosArm.build([probe]), resumed=recorded) == OUTPUT
    assert work.calls == 1
    rec = ctx["ti"].store[("produce", "chaos_injections")][0]
    assert rec["status"] == "error" and rec["id"] == recorded[0]["id"]
    assert rec["error"].startswith("ChaosConfigError: test_unit_path_probe: field 'path': ")
    assert "outside every root of [chaos] allowed_paths" in rec["error"]


def test_a_path_fault_resumed_within_its_directory_is_confined_and_applied(tmp_path):
    from airflow_chaos.operators.chaos import ChaosArm, run_armed

    probe = PathProbe(path=str(tmp_path / "drop" / "{{ ds }}.csv"))
    _, recorded = run(probe, execute=Work())
    ctx = context()
    run_armed(make_task(), Work(), ctx, ChaosArm.build([probe]), resumed=recorded)
    rec = ctx["ti"].store[("produce", "chaos_injections")][0]
    assert rec["status"] == "injected" and rec["changes"] == {"path": str(tmp_path / "drop" / "2026-01-01.csv")}


def test_an_invalid_allowed_paths_after_a_deferral_is_an_error_of_the_path_fault_only(monkeypatch, tmp_path):
    from airflow_chaos.operators.chaos import ChaosArm, run_armed

    probe = PathProbe(path=str(tmp_path / "drop" / "{{ ds }}.csv"))
    _, recorded = run(probe, Tag(name="a"), execute=Work())
    monkeypatch.setenv("AIRFLOW__CHAOS__ALLOWED_PATHS", "relative/dir")  # became invalid while deferred
    ctx, work = context(), Work()
    result = run_armed(make_task(), work, ctx, ChaosArm.build([probe, Tag(name="a")]), resumed=recorded)
    assert result == {**OUTPUT, "tags": ["a"]} and work.calls == 1
    first, second = ctx["ti"].store[("produce", "chaos_injections")]
    assert first["status"] == "error" and "allowed_paths" in first["error"] and "relative/dir" in first["error"]
    assert second["status"] == "injected"
