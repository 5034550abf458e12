"""The ``airflow-chaos`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

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
    p.add_argument("--output", help="also write the report as JSON to this path")
    p.add_argument(
        "--exit-code", action="store_true", help="exit 1 when a fault went SILENT or hit INJECTION_ERROR"
    )
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
