"""ChaosRestoreOperator: undo every journaled mutation of this DAG run, verified by checksum."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_chaos import config
from airflow_chaos.experiment.journal import Journal

if TYPE_CHECKING:
    from airflow.sdk import Context


class ChaosRestoreOperator(BaseOperator):
    """Restore every pending journal entry of this DAG run: held-back files come back, rewritten files
    get their original bytes. Meant as the run's teardown, so it runs whatever happened upstream::

        restore = ChaosRestoreOperator(task_id="chaos_restore").as_teardown()
        [load, validate] >> restore

    Restore is idempotent (entries already restored are skipped) and verified: when a restored file's
    SHA-256 differs from the journaled original, or a backup is missing, the task fails with
    :class:`~airflow_chaos.exceptions.ChaosRestoreError`. It runs whether chaos is enabled or not,
    so switching chaos off mid-experiment still cleans up. Returns what it restored (JSON).

    :param journal_path: the journal's root (local path or URL); default ``[chaos] journal_path``.
    """

    template_fields = ("journal_path",)
    ui_color = "#d6d8d9"

    def __init__(self, *, journal_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.journal_path = journal_path

    def execute(self, context: Context) -> list[dict[str, Any]]:
        ti = context["ti"]
        journal = Journal(self.journal_path or config.journal_root())
        restored = journal.restore(dag_id=ti.dag_id, run_id=ti.run_id)
        for entry in restored:
            self.log.info(
                "restored %s (%s, journal entry %s, sha256 %s)", entry.path, entry.op, entry.id, entry.checksum
            )
        self.log.info("chaos restore: %d journaled change(s) of %s undone", len(restored), ti.run_id)
        return [{"id": e.id, "op": e.op, "path": e.path, "sha256": e.checksum} for e in restored]
