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

    Restore is compare-and-swap: a file someone wrote since the fault is left as it is and its entry
    reported ``superseded``. It is idempotent (entries already closed are skipped) and verified: when
    a backup's or a restored file's SHA-256 differs from the journaled original, or a backup is missing,
    the task fails with
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
        results = journal.restore(dag_id=ti.dag_id, run_id=ti.run_id)
        for result in results:
            entry = result.entry
            if result.outcome == "superseded":
                self.log.warning(
                    "NOT restored %s (%s, journal entry %s): it was written since the fault (superseded); "
                    "the newer bytes were kept, the original stays in the journal's backups",
                    entry.path,
                    entry.op,
                    entry.id,
                )
            else:
                self.log.info(
                    "%s %s (%s, journal entry %s, sha256 %s)", result.outcome, entry.path, entry.op, entry.id, entry.checksum
                )
        self.log.info("chaos restore: %d journaled change(s) of %s closed", len(results), ti.run_id)
        return [r.to_json() for r in results]
