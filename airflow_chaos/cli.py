"""The ``airflow-chaos`` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any


def _cmd_faults(args: argparse.Namespace) -> int:
    from airflow_chaos.faults import Fault

    for kind, cls in Fault.kinds().items():
        params = ", ".join(cls.model_fields)
        print(f"{kind:<24} signals={','.join(cls.signals):<28} phase={cls.phase:<8} params: {params}")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from airflow_chaos.experiment.journal import Journal

    root = args.journal
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


def _cmd_report(args: argparse.Namespace) -> int:
    from airflow_chaos.experiment.verdicts import ExperimentReport

    payload = _latest_report(args.dag_id, args.run_id)
    if payload is None:
        print(f"no chaos_report found for dag {args.dag_id!r}", file=sys.stderr)
        return 1
    report = ExperimentReport.model_validate(payload)
    print(f"chaos verdicts for {report.dag_id} / {report.run_id}")
    print(report.table())
    if args.output:
        from pathlib import Path

        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report.to_json(), indent=2))
        print(f"report written to {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-chaos", description="Chaos engineering for ML pipelines.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("faults", help="list the fault kinds, their signals and parameters")
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
    p = sub.add_parser("report", help="print the verdict table of a DAG's newest chaos run")
    p.add_argument("dag_id")
    p.add_argument("--run-id")
    p.add_argument("--output", help="also write the report as JSON to this path")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
