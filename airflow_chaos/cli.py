"""The ``airflow-chaos`` command."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from airflow_chaos.exceptions import ChaosConfigError

#: Where to look when Airflow's state is not found: the one hint every "wrong AIRFLOW_HOME" error gives.
HOME_HINT = (
    "set AIRFLOW_HOME to the Airflow home your DAGs ran in "
    "(`make demo` keeps its own under .airflow/ in the repository: AIRFLOW_HOME=$PWD/.airflow)"
)


def _fail(command: str, message: str) -> int:
    """Print one line on stderr and return exit code 2: the command could not do its work."""
    print(f"airflow-chaos {command}: {message}", file=sys.stderr)
    return 2


def _no_airflow_home(*also: str) -> bool:
    """True when ``AIRFLOW_HOME`` is unset, none of the variables ``also`` is set and ``~/airflow`` is absent.

    Checked before Airflow is imported: importing it without ``AIRFLOW_HOME`` creates ``~/airflow``.
    """
    if os.environ.get("AIRFLOW_HOME") or any(os.environ.get(name) for name in also):
        return False
    return not os.path.isdir(os.path.expanduser("~/airflow"))


def _cmd_faults(args: argparse.Namespace) -> int:
    from airflow_chaos.faults import Fault

    if args.markdown:
        from airflow_chaos.faults.catalogue import catalogue_markdown

        print(catalogue_markdown(), end="")
        return 0
    for kind, cls in Fault.kinds().items():
        params = ", ".join(cls.model_fields)
        print(f"{kind:<24} signals={','.join(cls.signals):<28} phase={cls.phase:<8} params: {params}")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from airflow_chaos.experiment.journal import Journal

    root = args.journal
    if root is None and _no_airflow_home("AIRFLOW__CHAOS__JOURNAL_PATH"):
        return _fail("restore", f"no journal: pass --journal PATH, or {HOME_HINT}")
    if root is None:
        from airflow_chaos import config

        root = config.journal_root()
    journal = Journal(root)
    results = journal.restore(dag_id=args.dag_id, run_id=args.run_id)
    for result in results:
        note = "  (written since the fault: left as it is, original kept)" if result.outcome == "superseded" else ""
        print(f"{result.outcome:<10} {result.entry.op:<8} {result.path}{note}")
    superseded = sum(r.outcome == "superseded" for r in results)
    print(f"{len(results) - superseded} mutation(s) restored, {superseded} superseded, from {root}")
    unreadable = journal.read().unreadable
    for name in unreadable:
        print(f"unreadable journal event skipped: {name}", file=sys.stderr)
    if args.prune is not None:
        pruned = journal.prune(args.prune)
        print(f"{len(pruned)} backup(s) older than {args.prune:g} day(s) pruned")
    return 0


def _cmd_kinds_json(args: argparse.Namespace) -> int:
    from airflow_chaos.faults import Fault

    print(json.dumps({k: c.model_json_schema() for k, c in Fault.kinds().items()}, indent=2))
    return 0


def _latest_report(dag_id: str, run_id: str | None) -> Any:
    """Read the newest ``chaos_report`` XCom of ``dag_id`` from the metadata DB (CLI side, not task code)."""
    from airflow.models.xcom import XComModel  # noqa: TID251 - the CLI runs beside Airflow's own CLI
    from airflow.sdk.serde import deserialize
    from airflow.utils.session import create_session  # noqa: TID251

    with create_session() as session:
        query = session.query(XComModel).filter_by(dag_id=dag_id, key="chaos_report")
        if run_id:
            query = query.filter_by(run_id=run_id)
        row = query.order_by(XComModel.timestamp.desc()).first()
        if row is None:
            return None
        value = XComModel.deserialize_value(row)
    try:
        return deserialize(value)
    except (TypeError, KeyError, ValueError):
        return value


class _NoReport(Exception):
    """No chaos report can be read; the message is the one line the user sees."""


def _run_id_at(dag_id: str, logical_date: datetime) -> str:
    """The run id of ``dag_id``'s run at ``logical_date`` (``airflow dags test DAG DATE`` makes one)."""
    from airflow.models.dagrun import DagRun  # noqa: TID251 - the CLI runs beside Airflow's own CLI
    from airflow.utils.session import create_session  # noqa: TID251

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, logical_date=logical_date).first()
        if run is None:
            raise _NoReport(
                f"dag {dag_id!r} has no run at logical date {logical_date.isoformat()}: the run never started"
            )
        return str(run.run_id)


def _db_problem(exc: Exception) -> str:
    """One line for a metadata DB that cannot be read (no tables: not the Airflow home the DAG ran in)."""
    from airflow.configuration import conf
    from sqlalchemy.engine import make_url

    url = make_url(conf.get("database", "sql_alchemy_conn")).render_as_string(hide_password=True)
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    home = os.environ.get("AIRFLOW_HOME") or "unset"
    return f"cannot read chaos runs from the Airflow metadata DB {url} ({cause}; AIRFLOW_HOME={home}): {HOME_HINT}"


def _read_report(dag_id: str, run_id: str | None, logical_date: datetime | None) -> Any:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        if logical_date is not None:
            run_id = _run_id_at(dag_id, logical_date)
        payload = _latest_report(dag_id, run_id)
    except SQLAlchemyError as exc:
        raise _NoReport(_db_problem(exc)) from None
    if payload is None and run_id:
        raise _NoReport(f"run {run_id!r} of dag {dag_id!r} has no chaos_report: its AssertDetectedOperator did not run")
    if payload is None:
        raise _NoReport(f"no chaos_report found for dag {dag_id!r}: run it with chaos enabled, or {HOME_HINT}")
    return payload


def _cmd_report(args: argparse.Namespace) -> int:
    from airflow_chaos.experiment.verdicts import ExperimentReport
    from airflow_chaos.report.explain import explain, missed

    if _no_airflow_home("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        return _fail("report", f"no Airflow home: AIRFLOW_HOME is not set and ~/airflow does not exist; {HOME_HINT}")
    try:
        payload = _read_report(args.dag_id, args.run_id, args.logical_date)
    except _NoReport as exc:
        return _fail("report", str(exc))
    from airflow_chaos.operators.records import redacted

    report = ExperimentReport.model_validate(redacted(payload))  # printed and written: no secret (issue #8)
    if args.format != "table":
        _print_scorecard(report, args.format, args.output)
        return 1 if args.exit_code and missed(report) else 0
    print(f"chaos verdicts for {report.dag_id} / {report.run_id}")
    print(report.table())
    for line in explain(report):
        print(line)
    if args.output:
        from pathlib import Path

        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report.to_json(), indent=2))
        print(f"report written to {args.output}")
    return 1 if args.exit_code and missed(report) else 0


def _print_scorecard(report: Any, fmt: str, output: str | None) -> None:
    """The run's scorecard as JSON, Markdown or HTML (with the DAG's earlier scores from ``[chaos] reports_dir``)."""
    from pathlib import Path

    from airflow_chaos import config
    from airflow_chaos.report.scorecard import build_scorecard, read_history

    history = read_history(config.read_report_settings().reports_root, report.dag_id, before=report.run_id)
    card = build_scorecard(report, history)
    if fmt == "json":
        text = json.dumps(card.to_json(), indent=2) + "\n"
    elif fmt == "md":
        from airflow_chaos.report.markdown import render_markdown

        text = render_markdown(card)
    else:
        from airflow_chaos.report.html import render_html

        text = render_html(card)
    if not output:
        print(text, end="")
        return
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(text)
    print(f"{fmt} scorecard of {report.dag_id} / {report.run_id} written to {output}")


# ---------------------------------------------------------------------- plans: validate, schema, preview
def _load_plan(command: str, location: str) -> Any:
    """The validated plan at ``location``, or None after printing its problems (one line each)."""
    from airflow_chaos.plans import PlanError, read_plan

    try:
        return read_plan(location)
    except PlanError as exc:
        for problem in exc.problems:
            _fail(command, problem)
        return None


def _cmd_plan_validate(args: argparse.Namespace) -> int:
    loaded = _load_plan("plan validate", args.file)
    if loaded is None:
        return 2
    print(f"{args.file}: valid plan: {len(loaded.experiments)} experiment(s), {loaded.fault_count} fault(s)")
    return 0


def _cmd_plan_schema(args: argparse.Namespace) -> int:
    from airflow_chaos.plans import plan_json_schema

    print(json.dumps(plan_json_schema(), indent=2))
    return 0


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join("{:<%d}" % w for w in widths)
    out = [line.format(*header), line.format(*("-" * w for w in widths))]
    return [o.rstrip() for o in out + [line.format(*row) for row in rows]]


def _preview_rows(loaded: Any, dags: Sequence[Any], environment: str) -> tuple[list[list[str]], list[str]]:
    """The preview table's rows (one per armed task and experiment) and notes on what is not armed."""
    from airflow_chaos.policy import armable, operator_names, select

    rows, notes = [], []
    live = [e for e in loaded.experiments if e.applies_in(environment)]
    for dag in dags:
        for task_id, experiments in sorted(select(loaded, dag, environment).items()):
            operator = dag.get_task(task_id).operator_name
            for e in experiments:
                faults = ", ".join(f.describe() for f in e.faults)
                rows.append([dag.dag_id, task_id, operator, e.experiment.name, faults, e.experiment.conditions()])
        for task in (t for t in dag.tasks if not armable(t)):
            names, tags = operator_names(task), dag.tags or ()
            if any(e.selects_dag(dag.dag_id, tags) and e.selects_task(task.task_id, names) for e in live):
                notes.append(f"{dag.dag_id}.{task.task_id}: a mapped task is not armed by a plan (use @task.chaos)")
    for e in loaded.experiments:
        if not e.experiment.enabled:
            notes.append(f"experiment {e.experiment.name!r} is disabled (enabled: false): it arms nothing")
        elif not e.applies_in(environment):
            notes.append(
                f"experiment {e.experiment.name!r} arms nothing in environment {environment!r} "
                f"(environments: {e.experiment.environments})"
            )
        elif not any(r[3] == e.experiment.name for r in rows):
            notes.append(f"experiment {e.experiment.name!r} selects no task of these DAGs")
    return rows, notes


def _bag(command: str, folder: str | None) -> Any:
    """A DagBag of ``folder`` (default: ``[core] dags_folder``), or None after one line on stderr."""
    if folder is not None and not os.path.isdir(folder):
        _fail(command, f"--dags-folder {folder!r} is not a directory")
        return None
    if folder is None and _no_airflow_home("AIRFLOW__CORE__DAGS_FOLDER"):
        _fail(command, f"no DAGs folder: pass --dags-folder DIR, or {HOME_HINT}")
        return None
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=folder) if folder is not None else DagBag()
    for path, error in sorted(bag.import_errors.items()):
        first = (str(error).strip().splitlines() or ["?"])[-1]
        print(f"airflow-chaos {command}: warning: {path} did not import: {first}", file=sys.stderr)
    return bag


def _switches_note(location: str) -> list[str]:
    """Why the policy would not apply ``location`` under the current settings (empty: it would)."""
    from airflow_chaos import config

    notes = []
    if not config.chaos_enabled():
        notes.append("[chaos] enabled is False here: the policy arms nothing until it is True")
    configured = config.plan_location()
    if os.path.abspath(configured or "") != os.path.abspath(location) and configured != location:
        notes.append(f"[chaos] plan is {configured or 'not set'}: set it to this file to apply it when DAGs are parsed")
    return notes


def _cmd_plan_preview(args: argparse.Namespace) -> int:
    loaded = _load_plan("plan preview", args.file)
    if loaded is None:
        return 2
    bag = _bag("plan preview", args.dags_folder)
    if bag is None:
        return 2
    from airflow_chaos import config

    try:
        environment = config.read_environment().environment
    except ChaosConfigError as exc:
        return _fail("plan preview", str(exc))
    dags = sorted(bag.dags.values(), key=lambda d: d.dag_id)
    rows, notes = _preview_rows(loaded, dags, environment)
    print(f"plan {args.file}: {len(loaded.experiments)} experiment(s); {len(dags)} DAG(s) parsed; environment {environment!r}")
    if rows:
        print("\n".join(_table(("dag", "task", "operator", "experiment", "faults", "conditions"), rows)))
    armed_dags = len({r[0] for r in rows})
    print(f"{len({(r[0], r[1]) for r in rows})} task(s) in {armed_dags} DAG(s) would be armed; nothing was run.")
    for note in notes + _switches_note(args.file):
        print(f"note: {note}")
    return 0


# ---------------------------------------------------------------------- run: one DAG run under chaos
class _ProgressLog(logging.Handler):
    """Follows ``dag.test()``'s "[DAG TEST] ... task_id=..." log records to drive the progress display."""

    def __init__(self, total: int, on_start: Any, on_end: Any) -> None:
        super().__init__(logging.INFO)
        self.total, self.on_start, self.on_end = total, on_start, on_end

    def emit(self, record: logging.LogRecord) -> None:
        text = str(record.msg)
        if text.startswith("[DAG TEST] starting task_id") and record.args:
            self.on_start(str(record.args[0]))  # type: ignore[index]
        elif text.startswith("[DAG TEST] end task task_id") and record.args:
            self.on_end(str(record.args[0]))  # type: ignore[index]


@contextlib.contextmanager
def _progress(dag: Any) -> Iterator[None]:
    """A progress display on stderr while ``dag.test()`` runs: a live bar on a terminal, else one line per task."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    total, done = len(dag.tasks), []
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )
    bar = progress.add_task(f"{dag.dag_id}: starting", total=total)

    def started(task_id: str) -> None:
        progress.update(bar, description=f"{dag.dag_id}: {task_id}")

    def ended(task_id: str) -> None:
        done.append(task_id)
        progress.advance(bar)
        if not console.is_terminal:
            print(f"[{len(done)}/{total}] {task_id} done", file=sys.stderr)

    logger = logging.getLogger("airflow.sdk.definitions.dag")
    handler, level, propagate = _ProgressLog(total, started, ended), logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the records drive the bar; they are not printed
    try:
        with progress:
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _run_records(dag: Any, run_id: str) -> tuple[dict[str, str], list[Any], list[Any]]:
    """Task states, injections and detections of one run, from the metadata DB (CLI side, not task code)."""
    from airflow.models.taskinstance import TaskInstance  # noqa: TID251 - the CLI runs beside Airflow's own CLI
    from airflow.models.xcom import XComModel  # noqa: TID251
    from airflow.sdk.serde import deserialize
    from airflow.utils.session import create_session  # noqa: TID251

    from airflow_chaos.operators.records import DETECTIONS_KEY, INJECTIONS_KEY
    from airflow_chaos.records import Detection, Injection

    states: dict[str, str] = {}
    found: dict[str, list[dict[str, Any]]] = {INJECTIONS_KEY: [], DETECTIONS_KEY: []}
    with create_session() as session:
        for ti in session.query(TaskInstance).filter_by(dag_id=dag.dag_id, run_id=run_id):
            if states.get(ti.task_id) != "failed":  # a mapped task failed when any of its instances did
                states[ti.task_id] = str(ti.state)
        rows = session.query(XComModel).filter(
            XComModel.dag_id == dag.dag_id, XComModel.run_id == run_id, XComModel.key.in_(list(found))
        )
        for row in rows:
            value = XComModel.deserialize_value(row)
            with contextlib.suppress(TypeError, KeyError, ValueError):
                value = deserialize(value)
            found[row.key].extend(value if isinstance(value, list) else [value])
    injections = [Injection.model_validate(r) for r in found[INJECTIONS_KEY]]
    detections = [Detection.model_validate(r) for r in found[DETECTIONS_KEY]]
    return states, injections, detections


def _run_report(dag: Any, run_id: str) -> tuple[Any, list[Any]]:
    """The verdicts of one run, judged like ``AssertDetectedOperator`` does (its own tasks left out)."""
    from airflow_chaos.experiment.verdicts import build_report
    from airflow_chaos.operators.assertion import AssertDetectedOperator

    states, injections, detections = _run_records(dag, run_id)
    judges = {t.task_id for t in dag.tasks if isinstance(t, AssertDetectedOperator)}
    ids = [t for t in dag.task_ids if t not in judges]
    downstream = {t: set(dag.get_task(t).get_flat_relative_ids(upstream=False)) - judges for t in ids}
    states = {t: s for t, s in states.items() if t not in judges}
    report = build_report(injections, detections, states, downstream, dag_id=dag.dag_id, run_id=run_id)
    return report, injections


def _run_env(args: argparse.Namespace) -> None:
    """``[chaos]`` for this run, set before any DAG is parsed: enabled, ``--plan``, ``--seed``, ``--dags-folder``."""
    os.environ["AIRFLOW__CHAOS__ENABLED"] = "True"
    if args.plan is not None:
        os.environ["AIRFLOW__CHAOS__PLAN"] = os.path.abspath(args.plan)
    if args.seed is not None:
        os.environ["AIRFLOW__CHAOS__SEED"] = str(args.seed)
    if args.dags_folder is not None and os.path.isdir(args.dags_folder):
        # dag.test() runs DAGs of the configured bundles only: this folder is the dags-folder bundle for the run
        os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.abspath(args.dags_folder)
        settings = sys.modules.get("airflow.settings")  # already read when Airflow was imported before this
        if settings is not None:
            settings.DAGS_FOLDER = os.path.abspath(args.dags_folder)  # type: ignore[attr-defined]


def _print_run(report: Any, injections: list[Any], state: str) -> None:
    from airflow_chaos.report.explain import explain

    print(f"chaos verdicts for {report.dag_id} / {report.run_id} (run {state})")
    print(report.table())
    for line in explain(report):
        print(line)
    planned = {i.id: i.source for i in injections if i.source != "code"}
    for r in report.results:
        if r.injection_id in planned:
            print(f"{r.task_id}: {r.kind} armed by {planned[r.injection_id]}")


def _cmd_run(args: argparse.Namespace) -> int:
    if args.plan is not None and _load_plan("run", args.plan) is None:
        return 2
    if _no_airflow_home("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        return _fail("run", f"no Airflow home: AIRFLOW_HOME is not set and ~/airflow does not exist; {HOME_HINT}")
    _run_env(args)
    bag = _bag("run", args.dags_folder)
    if bag is None:
        return 2
    dag = bag.dags.get(args.dag_id)
    if dag is None:
        known = ", ".join(sorted(bag.dags)[:10]) or "none"
        return _fail("run", f"no DAG {args.dag_id!r} in {bag.dag_folder} (DAGs found: {known})")
    from sqlalchemy.exc import SQLAlchemyError

    from airflow_chaos.report.explain import missed

    try:
        with _progress(dag):
            dag_run = dag.test()
        report, injections = _run_report(dag, dag_run.run_id)
    except SQLAlchemyError as exc:
        return _fail("run", _db_problem(exc) + "; a new Airflow home needs `airflow db migrate` first")
    _print_run(report, injections, str(dag_run.state))
    return 1 if missed(report) else 0


def _logical_date(value: str) -> datetime:
    """``--logical-date``: ISO 8601, as ``airflow dags test DAG DATE`` takes it; no offset means UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-chaos", description="Chaos engineering for ML pipelines.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("faults", help="list the fault kinds, their signals and parameters")
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print the catalogue as Markdown tables: every field with its type and default (the README's catalogue)",
    )
    p.set_defaults(func=_cmd_faults)
    p = sub.add_parser("schema", help="print the JSON schema of every fault kind")
    p.set_defaults(func=_cmd_kinds_json)
    p = sub.add_parser("restore", help="undo every journaled mutation not yet restored")
    p.add_argument("--journal", help="journal root (default: [chaos] journal_path)")
    p.add_argument("--dag-id")
    p.add_argument("--run-id")
    p.add_argument(
        "--prune",
        type=float,
        metavar="DAYS",
        help="also delete backups older than DAYS that no pending entry needs (superseded, orphaned)",
    )
    p.set_defaults(func=_cmd_restore)
    p = sub.add_parser(
        "report",
        help="print the verdict table of a DAG's newest chaos run",
        description=(
            "Print a chaos run's verdict table, with one line on each verdict to act on. Exit codes: 0 the report "
            "was printed (with --exit-code: no SILENT or INJECTION_ERROR verdict); 1 (only with --exit-code) a fault "
            "went SILENT or hit INJECTION_ERROR: the pipeline missed it; 2 no report could be read (no Airflow "
            "home, no such run, or the run's AssertDetectedOperator never ran)."
        ),
    )
    p.add_argument("dag_id")
    run = p.add_mutually_exclusive_group()
    run.add_argument("--run-id", help="the run to report (default: the newest run with a report)")
    run.add_argument(
        "--logical-date",
        type=_logical_date,
        metavar="ISO_DATE",
        help="the run at this logical date, as given to `airflow dags test DAG ISO_DATE`",
    )
    p.add_argument(
        "--format",
        choices=("table", "json", "md", "html"),
        default="table",
        help="table (default): the verdict table; json, md, html: the run's scorecard (schema-versioned JSON, "
        "Markdown for CI logs and pull requests, a self-contained HTML page with plots)",
    )
    p.add_argument(
        "--output", help="write to this path instead: the report as JSON (with --format table), else the scorecard"
    )
    p.add_argument(
        "--exit-code", action="store_true", help="exit 1 when a fault went SILENT or hit INJECTION_ERROR"
    )
    p.set_defaults(func=_cmd_report)
    _plan_parsers(sub)
    return parser


def _plan_parsers(sub: Any) -> None:
    """``plan validate|preview|schema`` and ``run``."""
    plan = sub.add_parser(
        "plan",
        help="check and preview chaos plans (YAML files that arm existing DAGs)",
        description="Exit codes: 0 the plan is valid (and previewed); 2 bad input: each problem on one line "
        "as FILE:LINE: field 'PATH': MESSAGE.",
    )
    plan_sub = plan.add_subparsers(dest="plan_command", required=True)
    p = plan_sub.add_parser("validate", help="validate a plan: one line per problem naming file, line and field")
    p.add_argument("file")
    p.set_defaults(func=_cmd_plan_validate)
    p = plan_sub.add_parser("preview", help="which tasks a plan would arm, with what (nothing is run)")
    p.add_argument("file")
    p.add_argument("--dags-folder", help="the DAGs to parse (default: [core] dags_folder)")
    p.set_defaults(func=_cmd_plan_preview)
    p = plan_sub.add_parser("schema", help="print the JSON Schema of plan files (for editors)")
    p.set_defaults(func=_cmd_plan_schema)
    p = sub.add_parser(
        "run",
        help="run one DAG locally under chaos (dag.test) and print its verdict table",
        description="Run a DAG once in this process with chaos enabled (dag.test on the Airflow home's metadata DB), "
        "with a progress display on stderr, then print its verdict table. Exit codes: 0 no verdict failed; "
        "1 a fault went SILENT or hit INJECTION_ERROR; 2 bad input (an invalid plan, no such DAG, no Airflow home "
        "or metadata DB).",
    )
    p.add_argument("dag_id")
    p.add_argument("--plan", help="apply this plan file while the DAG is parsed ([chaos] plan for this run)")
    p.add_argument("--seed", type=int, help="experiment seed of every fault armed without one ([chaos] seed)")
    p.add_argument("--dags-folder", help="where to find the DAG (default: [core] dags_folder)")
    p.set_defaults(func=_cmd_run)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
