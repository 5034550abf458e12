"""Table faults on pyarrow Tables and pandas DataFrames.

Every fault returns a new object of the caller's type and never mutates its input. Work is
vectorised on Arrow or numpy; what changed is recorded on the injection through ``ctx.record``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.base import Fault, FaultContext


def table_kind(value: Any) -> str:
    """``"arrow"`` or ``"pandas"``; raises ChaosConfigError for anything else."""
    module = type(value).__module__
    if module.startswith("pyarrow") and type(value).__name__ == "Table":
        return "arrow"
    if module.startswith("pandas") and type(value).__name__ == "DataFrame":
        return "pandas"
    raise ChaosConfigError(
        f"table faults need a pandas DataFrame or pyarrow Table, got {type(value).__module__}.{type(value).__name__}"
    )


def column_names(value: Any) -> list[str]:
    if table_kind(value) == "arrow":
        return list(value.column_names)
    return [str(c) for c in value.columns]


def require_column(value: Any, column: str, fault: Fault) -> None:
    names = column_names(value)
    if column not in names:
        raise ChaosConfigError(f"{fault.kind}: field 'column': {column!r} not in the table; columns: {names}")


class TableFault(Fault):
    """A fault on a task's returned table."""

    phase = "after"

    def target(self) -> str:
        return "return_value"


class DropColumn(TableFault):
    """Schema drift: a column disappears from the output."""

    kind = "drop_column"
    signals = ("schema",)

    column: str = Field(min_length=1, description="The column to drop.")

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        require_column(value, self.column, self)
        if table_kind(value) == "arrow":
            out = value.drop_columns([self.column])
            rows = value.num_rows
        else:
            out = value.drop(columns=[self.column])
            rows = len(value)
        ctx.record(columns_dropped=[self.column], rows_affected=int(rows))
        return out
