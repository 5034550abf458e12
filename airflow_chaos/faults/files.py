"""File and object faults: hold back, swap format, truncate, corrupt, empty.

Paths may be local (``/data/orders.csv``) or any fsspec / ``ObjectStoragePath`` URL
(``s3://bucket/orders.csv``, ``memory://x/orders.csv``); ``path`` is a template field, so
``{{ ds }}`` works. Every mutation goes through the :class:`~airflow_chaos.experiment.journal.Journal`:
the original bytes are backed up and an intent entry written *before* the file changes, so the
run's restore step (``ChaosRestoreOperator`` as a teardown, or ``airflow-chaos restore``) puts each
file back byte-identical, also when the task failed. What changed is recorded on the injection:
path, bytes and SHA-256 before and after, and the journal entry id.

Phases:

- :class:`HoldBackFile` is armed ``around`` a task: the file disappears before the task's work
  starts (on the task that reads it, or on a sensor waiting for it).
- :class:`SwapFormat`, :class:`TruncateFile`, :class:`CorruptBytes` and :class:`EmptyFile` act
  ``after`` a task on a file it wrote; the task's return value passes through unchanged. To fault a
  task's *input*, arm them on the task that writes that input: that is where the fault happens in life.

No Airflow imports; pandas and numpy are imported only when a fault needs them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import Field, model_validator

from airflow_chaos import storage
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.base import (
    ChunkPatch,
    Fault,
    FaultContext,
    JournalEntry,
    MutationJournal,
    Phase,
    journal_labels,
    journal_of,
    journaled_patch,
    journaled_rewrite,
    mutable_target,
)

log = logging.getLogger(__name__)


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


# ---------------------------------------------------------------------- rewriting faults (phase "after")
class FileFault(Fault):
    """A fault that rewrites a file, journaled first. The task's return value passes through.

    ``when="after"`` (default): the armed task wrote the file, which is faulted once the task
    succeeded. ``when="before"``: the armed task reads the file, which is faulted before it runs
    (an input dropped by someone outside the DAG).
    """

    phase = "after"
    template_fields = ("path",)
    path_fields = ("path",)

    path: str = Field(min_length=1, description="The file or object to fault: a local path or URL (templated).")
    when: Literal["before", "after"] = Field(
        default="after", description="Fault the file before the armed task runs (an input) or after it (an output)."
    )

    @property
    def active_phase(self) -> Phase:
        return self.when

    def before(self, ctx: FaultContext) -> None:
        self.mutate(ctx)

    def target(self) -> str:
        return self.path

    def transform(self, data: bytes, ctx: FaultContext) -> bytes:
        """The faulted bytes; record format-specific details on ``ctx``."""
        raise NotImplementedError

    def mutate(self, ctx: FaultContext) -> JournalEntry:
        """Journal the file, rewrite it atomically with :meth:`transform`, record sizes and checksums."""
        return journaled_rewrite(self, ctx, self.path, lambda data: self.transform(data, ctx))

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        self.mutate(ctx)
        return value


class SwapFormat(FileFault):
    """The upstream changed its export format: the file keeps its name but its content is in format ``to``.

    A CSV becomes JSON, a Parquet file becomes CSV, and so on. The source format is taken from
    ``source``, else the file's suffix, else its first bytes. Readers that trust the file name break
    or, worse, read garbage: a ``format`` check must notice.

    Examples:
        ``chaos(export, faults.SwapFormat(path="/data/{{ ds }}/orders.csv", to="json"))``
    """

    kind = "swap_format"
    signals = ("format",)

    to: storage.FileFormat = Field(description="The format to rewrite the file in.")
    source: storage.FileFormat | None = Field(default=None, description="The file's real format; default: detected.")

    @model_validator(mode="after")
    def _differs(self) -> SwapFormat:
        if self.source is not None and self.source == self.to:
            raise ValueError(f"'to' must differ from 'source' (both {self.to!r})")
        return self

    def transform(self, data: bytes, ctx: FaultContext) -> bytes:
        source = self.source or storage.format_of(self.path, data, owner=self.kind)
        if source == self.to:
            raise ChaosConfigError(f"{self.kind}: field 'to': {self.path} is already {self.to}")
        table = storage.read_table(data, source, kind="arrow")
        ctx.record(format_before=source, format_after=self.to, rows=table.num_rows)
        return storage.write_table(table, self.to)


class TruncateFile(FileFault):
    """A write cut short: keep only the first ``keep_fraction`` of the file's bytes.

    The blast-radius cap ``max_fraction`` bounds the fraction of bytes removed.
    """

    kind = "truncate_file"
    signals = ("format",)

    keep_fraction: float = Field(ge=0, lt=1, description="Fraction of the bytes to keep (the first ones).")

    def transform(self, data: bytes, ctx: FaultContext) -> bytes:
        removed = ctx.bounded_fraction(1.0 - self.keep_fraction)
        kept = math.floor(len(data) * (1.0 - removed))
        ctx.record(bytes_removed=len(data) - kept)
        return data[:kept]


class CorruptBytes(FileFault):
    """Bit rot or a bad transfer: flip ``n_bytes`` bytes, or a ``fraction`` of them, at seeded positions.

    Give exactly one of ``fraction`` and ``n_bytes``. Each chosen byte is XOR-ed with a non-zero
    value, so it always changes. The same seed gives byte-identical corrupted output. The blast-radius
    cap ``max_fraction`` bounds the fraction of bytes corrupted.
    """

    kind = "corrupt_bytes"
    signals = ("format",)

    fraction: float | None = Field(default=None, gt=0, le=1, description="Fraction of the bytes to corrupt.")
    n_bytes: int | None = Field(default=None, gt=0, description="Number of bytes to corrupt.")

    @model_validator(mode="after")
    def _exactly_one(self) -> CorruptBytes:
        if (self.fraction is None) == (self.n_bytes is None):
            raise ValueError("give exactly one of 'fraction' and 'n_bytes'")
        return self

    def count(self, size: int, ctx: FaultContext) -> int:
        """How many bytes to corrupt in a file of ``size`` bytes."""
        wanted = self.n_bytes if self.n_bytes is not None else math.ceil(size * (self.fraction or 0.0))
        return min(wanted, size, max(1, math.floor(size * ctx.max_fraction)))

    def mutate(self, ctx: FaultContext) -> JournalEntry:
        """Patch a streamed copy of the file (it is never held in memory), journaled first."""
        return journaled_patch(self, ctx, self.path, lambda size: self.plan(size, ctx))

    def plan(self, size: int, ctx: FaultContext) -> ChunkPatch:
        """Draw the positions and XOR masks for a file of ``size`` bytes; return the chunk editor.

        The draws are those of the in-memory algorithm (positions without replacement, then masks),
        so a seed corrupts the same bytes whatever the chunking.
        """
        if size == 0:
            raise ChaosConfigError(f"{self.kind}: field 'path': {self.path} is empty, there is nothing to corrupt")
        import numpy as np

        count = self.count(size, ctx)
        positions = ctx.rng.choice(size, size=count, replace=False)
        masks = ctx.rng.integers(1, 256, size=count, dtype=np.uint8)
        order = np.argsort(positions)
        positions, masks = positions[order], masks[order]
        ctx.record(bytes_corrupted=count)

        def edit(offset: int, chunk: bytes) -> bytes:
            first, last = np.searchsorted(positions, (offset, offset + len(chunk)))
            if first == last:
                return chunk
            buffer = np.frombuffer(chunk, dtype=np.uint8).copy()
            buffer[positions[first:last] - offset] ^= masks[first:last]
            return buffer.tobytes()

        return edit

    def transform(self, data: bytes, ctx: FaultContext) -> bytes:
        """The corrupted bytes of ``data`` in memory (the same bytes :meth:`mutate` writes)."""
        return self.plan(len(data), ctx)(0, data)


class EmptyFile(FileFault):
    """The file is there, with nothing in it: a zero-byte export."""

    kind = "empty_file"
    signals = ("volume", "format")

    def transform(self, data: bytes, ctx: FaultContext) -> bytes:
        return b""


# ---------------------------------------------------------------------- hold back (phase "around")
class _Release:
    """Puts a held-back file back at ``due`` (epoch seconds) from a timer thread, exactly once."""

    def __init__(self, journal: MutationJournal, entry: JournalEntry, due: float, ctx: FaultContext) -> None:
        self.journal, self.entry, self.due, self.ctx = journal, entry, due, ctx
        self.released_at: float | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, due - time.time()), self.release)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def release(self) -> None:
        with self._lock:
            if self.released_at is not None:
                return
            try:
                self.journal.restore(injection_id=self.entry.injection_id, dag_id=self.entry.dag_id)
                self.ctx.record(release_outcome=self.journal.state_of(self.entry.id))
            except Exception as exc:  # noqa: BLE001 - a failed release is recorded; restore will retry
                log.warning("hold_back_file: could not release %s: %s", self.entry.path, exc)
                self.ctx.record(release_error=f"{type(exc).__name__}: {exc}")
                return
            self.released_at = time.time()
            self.ctx.record(released_at=_iso(self.released_at))
            log.info("hold_back_file: released %s", self.entry.path)

    def finish(self) -> None:
        """At the task's end: stop the timer; release now if the file is due back."""
        self._timer.cancel()
        if self.released_at is None and time.time() >= self.due:
            self.release()


class HoldBackFile(Fault):
    """Late or missing data: the file disappears before the task's work starts.

    The file is moved aside through the journal (its bytes are kept) when the armed task starts, and
    stays away until the run's restore step (``ChaosRestoreOperator`` as a teardown, or
    ``airflow-chaos restore``). With ``release_after`` it comes back that many seconds after it was
    held back: late, not lost.

    **Where to arm it, and how ``release_after`` works.** In Airflow 3 each task runs in its own
    process, so a timer started by the *producer* would die with it. Arm HoldBackFile on the
    *consumer*: the task that reads the file, or the sensor that waits for it. The fault is armed
    ``around`` that task: it holds the file back on entry and, with ``release_after``, starts a
    background thread in the task's own process that puts the file back while the sensor keeps
    poking. The release time is also derivable from the journal: the intent entry's creation time
    plus ``release_after``. When the task starts again in the same DAG run (a sensor in
    ``reschedule`` mode, or a retry), the fault finds its pending entry instead of holding the file
    back twice, and releases it at once if it is already due, otherwise re-arms the timer for the
    remaining time. When the task ends before the release is due (timeout, failure, or deferral to
    the triggerer), the timer is cancelled: the file comes back at the next start of the armed task
    or at the run's restore, never from a thread that outlived its task. A file already released in
    this run is not held back again.

    Examples:
        ``chaos(FileArrivalSensor(task_id="wait", path=p, timeout=30), faults.HoldBackFile(path=p, release_after=10))``
    """

    kind = "hold_back_file"
    signals = ("freshness", "volume")
    phase = "around"
    template_fields = ("path",)
    path_fields = ("path",)

    path: str = Field(min_length=1, description="The file or object to hold back: a local path or URL (templated).")
    release_after: float | None = Field(
        default=None, gt=0, le=24 * 3600, description="Seconds until the file comes back; None: at restore."
    )

    def target(self) -> str:
        return self.path

    def around(self, ctx: FaultContext) -> contextlib.AbstractContextManager[None]:
        return self._held(ctx)

    @contextlib.contextmanager
    def _held(self, ctx: FaultContext) -> Iterator[None]:
        journal = journal_of(ctx, self)
        entry = self._hold(journal, ctx)
        release = self._arm_release(journal, entry, ctx) if entry is not None else None
        try:
            yield
        finally:
            if release is not None:
                release.finish()
            if entry is not None and self.release_after is not None and not ctx.changes.get("released_at"):
                ctx.record(released_at=None)

    def _hold(self, journal: MutationJournal, ctx: FaultContext) -> JournalEntry | None:
        """Hold the file back, or find it already held back in this run; None when already released."""
        path = storage.as_path(self.path)
        location = storage.location_of(path)
        labels = journal_labels(ctx)
        intents = journal.entries(path=location, dag_id=labels["dag_id"], run_id=labels["run_id"])
        intents = [e for e in intents if e.op == "move"]
        pending = [e for e in intents if journal.state_of(e.id) == "pending"]
        if pending:
            entry = pending[-1]
            ctx.record(path=location, journal_entry=entry.id, held_back_at=_iso(entry.created), resumed=True)
            return entry
        if intents:
            last = intents[-1]
            ctx.record(path=location, journal_entry=last.id, held_back_at=_iso(last.created), already_released=True)
            return None
        size = int(storage.real_path(mutable_target(self, ctx, self.path)).stat().st_size)
        entry = journal.move_aside(path, **labels)
        ctx.record(
            path=location,
            journal_entry=entry.id,
            held_back_at=_iso(entry.created),
            bytes_before=size,
            bytes_after=0,
            sha256_before=entry.checksum,
            sha256_after=None,
        )
        return entry

    def _arm_release(self, journal: MutationJournal, entry: JournalEntry, ctx: FaultContext) -> _Release | None:
        if self.release_after is None:
            return None
        due = entry.created + self.release_after
        ctx.record(release_after=self.release_after, release_due=_iso(due))
        release = _Release(journal, entry, due, ctx)
        if time.time() >= due:
            release.release()
        else:
            release.start()
        return release
