"""The journal: a durable, append-only record of every mutating injection, written before the mutation.

Layout under the journal's root (a local directory or any fsspec/``ObjectStoragePath`` URL)::

    entries/<sortable-time>-<id>-<event>.json   one immutable object per event
    backups/<id>                                the original bytes of a rewritten or moved file

One object per event keeps the journal append-only on stores that cannot append (S3, GCS). Every
object is written atomically (a temporary file, fsync, ``os.replace``); a reader that meets an
unreadable event (a zero-byte or half-written file from a killed process) reports it and goes on.

Order of work for a mutation, each step durable before the next:

1. compute the faulted bytes and their SHA-256 (nothing on disk changes);
2. copy the original to ``backups/<id>`` (owner-only permissions, never more than the original's);
3. write the ``intent`` event: path (absolute, or a full URL), mode, SHA-256 before and after;
4. replace the target atomically (a symlink is written through and stays a symlink).

:meth:`Journal.patch` keeps that order for faults that change bytes in place (``CorruptBytes``) without
holding the file in memory: one streamed pass copies the original to its backup while hashing it and
its patched form, then the intent is written, then the patched copy is streamed from the backup.
Originals are read only once they are known to be regular files (never a FIFO or a device).

Restore is **compare-and-swap**: it puts the original back only while the target still holds
exactly what the fault left (the intent's ``checksum_after``, or nothing for a held-back file).
A target that already holds the original is closed as restored. A target that holds anything
else was written by someone since: the entry is closed as ``superseded``, nothing is
overwritten, the backup is kept. A verified restore deletes its backup; ``prune`` deletes backups
of superseded entries (and orphans of crashed writers) older than a number of days.
Restore is idempotent and can be re-run after a crash at any step.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

from airflow_chaos.exceptions import ChaosInjectionError, ChaosRestoreError
from airflow_chaos.faults.base import ChunkPatch, JournalEntry, StateResource, state_resource
from airflow_chaos.storage import (
    StoragePath,
    as_path,
    copy_atomic,
    file_mode,
    is_local,
    location_of,
    open_regular,
    read_chunks,
    real_path,
    remove,
    require_regular_file,
    sha256_bytes,
    sha256_file,
    temp_sibling,
    write_atomic,
)

log = logging.getLogger(__name__)

Outcome = Literal["restored", "unchanged", "superseded"]
_TERMINAL = {"restored", "superseded"}
_OWNER_ONLY = 0o600


@dataclass(frozen=True)
class RestoreResult:
    """What restoring one entry did: ``restored`` (original put back), ``unchanged`` (the target already
    held the original: the mutation never happened, or was undone already), or ``superseded``
    (someone wrote the target since the fault: it was left alone and the backup kept)."""

    entry: JournalEntry
    outcome: Outcome
    found_checksum: str | None = None

    @property
    def path(self) -> str:
        return self.entry.path

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.entry.id,
            "op": self.entry.op,
            "path": self.entry.path,
            "outcome": self.outcome,
            "sha256": self.entry.checksum,
            "found_sha256": self.found_checksum,
        }


@dataclass
class JournalState:
    """The journal as read: entries by id, their closing events, and the event files that could not be read."""

    entries: dict[str, JournalEntry] = field(default_factory=dict)
    closed: dict[str, str] = field(default_factory=dict)  # entry id -> "restored" | "superseded"
    unreadable: list[str] = field(default_factory=list)

    def pending(self) -> list[JournalEntry]:
        return [e for e in self.entries.values() if e.id not in self.closed]


class Journal:
    """Append-only journal of mutations, with idempotent, checksum-verified, compare-and-swap restore."""

    def __init__(self, root: str | os.PathLike[str] | StoragePath) -> None:
        self.root = as_path(root)
        self.entries_dir = self.root / "entries"
        self.backups_dir = self.root / "backups"

    def __repr__(self) -> str:
        return f"Journal({str(self.root)!r})"

    # ----------------------------------------------------------------- writing
    def _mkdirs(self) -> None:
        for directory in (self.root, self.entries_dir, self.backups_dir):
            if is_local(directory):
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            else:
                directory.mkdir(parents=True, exist_ok=True)

    def _write_event(self, entry_id: str, event: str, payload: dict[str, Any]) -> None:
        self._mkdirs()
        name = f"{time.time_ns():020d}-{entry_id}-{event}.json"
        data = json.dumps({"event": event, **payload}, sort_keys=True).encode()
        write_atomic(self.entries_dir / name, data, mode=_OWNER_ONLY)

    def _backup(self, entry_id: str, source: StoragePath, mode: int | None) -> None:
        self._mkdirs()
        copy_atomic(source, self.backups_dir / entry_id, mode=_backup_mode(mode))

    def _backup_patched(
        self, entry_id: str, source: StoragePath, mode: int | None, edit: ChunkPatch
    ) -> tuple[str, str]:
        """Copy ``source`` to its backup in one streamed pass, hashing it and its patched form on the way.

        Returns the SHA-256 of the original and of the patched file, so the intent can carry both.
        """
        digests: list[str] = []

        def pour(out: BinaryIO) -> None:  # a store's put may pour twice: start the hashes afresh each time
            before, after = hashlib.sha256(), hashlib.sha256()
            for offset, chunk in read_chunks(source, "journal: patch"):
                out.write(chunk)
                before.update(chunk)
                after.update(_patched(edit, offset, chunk))
            digests[:] = [before.hexdigest(), after.hexdigest()]

        self._mkdirs()
        write_atomic(self.backups_dir / entry_id, pour, mode=_backup_mode(mode))
        return digests[0], digests[1]

    def _new_entry(
        self, op: str, path: StoragePath, before: str | None, after: str | None, labels: dict[str, str | None]
    ) -> JournalEntry:
        return JournalEntry(
            id=uuid.uuid4().hex,
            op=op,
            path=location_of(path),
            checksum=before,
            checksum_after=after,
            mode=file_mode(real_path(path)),
            injection_id=labels.get("injection_id"),
            dag_id=labels.get("dag_id"),
            run_id=labels.get("run_id"),
            task_id=labels.get("task_id"),
            created=time.time(),
        )

    def _prepare(
        self, op: str, path: StoragePath, after: str | None, labels: dict[str, str | None]
    ) -> JournalEntry:
        """Steps 2 and 3: back up the original, then write the intent. Nothing has changed yet."""
        before = sha256_file(real_path(path))
        entry = self._new_entry(op, path, before, after, labels)
        if before is not None:
            self._backup(entry.id, real_path(path), entry.mode)
        self._write_event(entry.id, "intent", entry.to_json())
        return entry

    def rewrite(
        self, path: str | os.PathLike[str] | StoragePath, transform: Callable[[bytes], bytes], **labels: str | None
    ) -> JournalEntry:
        """Journal ``path``, then atomically replace its bytes with ``transform(original)``.

        ``transform`` runs before anything is written: if it raises, nothing changes and nothing is journaled.
        """
        path = as_path(path)
        target = real_path(path)
        original = _read_all(target) if target.exists() else b""
        faulted = transform(original)
        entry = self._prepare("rewrite", path, sha256_bytes(faulted), labels)
        write_atomic(target, faulted, mode=entry.mode, temp=_temp_of(entry, target))
        return entry

    def patch(
        self, path: str | os.PathLike[str] | StoragePath, plan: Callable[[int], ChunkPatch], **labels: str | None
    ) -> JournalEntry:
        """Journal ``path``, then atomically replace it with a patched copy, streamed: never held in memory.

        ``plan(size)`` runs first and returns ``edit(offset, chunk)``: the patched bytes of the chunk that
        starts at ``offset``, of the same length, the same on every call. Then, each step durable before
        the next: the original is copied to the backup while it and its patched form are hashed; the
        intent is written with both checksums; the patched copy is streamed from the backup into the
        target's temporary sibling and renamed over it. If ``plan`` or ``edit`` raises (or changes a
        chunk's length) before the intent, nothing changes and nothing is journaled.
        """
        path = as_path(path)
        target = real_path(path)
        require_regular_file(target, "journal: patch")
        edit = plan(int(target.stat().st_size))
        entry = self._new_entry("rewrite", path, None, None, labels)
        before, after = self._backup_patched(entry.id, target, entry.mode, edit)
        entry = dataclasses.replace(entry, checksum=before, checksum_after=after)
        self._write_event(entry.id, "intent", entry.to_json())
        pour = functools.partial(_pour_patched, self.backups_dir / entry.id, edit)
        write_atomic(target, pour, mode=entry.mode, temp=_temp_of(entry, target))
        return entry

    def move_aside(self, path: str | os.PathLike[str] | StoragePath, **labels: str | None) -> JournalEntry:
        """Journal ``path``, then remove it (its bytes are kept in the backup; a symlink stays, dangling)."""
        path = as_path(path)
        if not real_path(path).exists():
            raise ChaosRestoreError(f"cannot hold back {location_of(path)}: it does not exist")
        entry = self._prepare("move", path, None, labels)
        remove(path)
        return entry

    def change_state(
        self,
        resource: StateResource,
        key: str,
        context: dict[str, Any],
        transform: Callable[[Any], Any],
        **labels: str | None,
    ) -> JournalEntry:
        """Journal the outside state ``key`` of ``resource``, then set it to ``transform(current)``.

        The same order and rules as files: the new state is computed first, the old one is backed up
        (as JSON) and the intent written, then ``resource.write`` runs. Restore is compare-and-swap on
        the state's canonical JSON, through the resource registered under ``resource.name``.
        """
        before = resource.read(key, context)
        after = transform(before)
        entry = JournalEntry(
            id=uuid.uuid4().hex,
            op="state",
            path=f"{resource.name}:{key}",
            checksum=state_checksum(before),
            checksum_after=state_checksum(after),
            injection_id=labels.get("injection_id"),
            dag_id=labels.get("dag_id"),
            run_id=labels.get("run_id"),
            task_id=labels.get("task_id"),
            created=time.time(),
            resource=resource.name,
            context=dict(context),
        )
        self._mkdirs()
        if before is not None:
            write_atomic(self.backups_dir / entry.id, canonical_json(before), mode=_OWNER_ONLY)
        self._write_event(entry.id, "intent", entry.to_json())
        resource.write(key, context, after)
        return entry

    # ----------------------------------------------------------------- reading
    def _event_files(self) -> list[StoragePath]:
        if not self.entries_dir.exists():
            return []
        return sorted(
            (p for p in self.entries_dir.iterdir() if p.name.endswith(".json") and not p.name.startswith(".")),
            key=lambda p: p.name,
        )

    def read(self) -> JournalState:
        """Every readable event, in order. An unreadable event is logged, listed and skipped, never fatal."""
        state = JournalState()
        for event_file in self._event_files():
            event = _parse_event(event_file)
            if event is None:
                state.unreadable.append(location_of(event_file))
                log.warning("chaos journal: skipping unreadable event %s", event_file)
                continue
            kind = event.pop("event")
            if kind == "intent":
                state.entries[event["id"]] = JournalEntry.from_json(event)
            elif kind in _TERMINAL:
                state.closed.setdefault(event["id"], kind)
        return state

    def events(self) -> list[dict[str, Any]]:
        """Every readable event as a dict (unreadable ones skipped)."""
        return [ev for ev in (_parse_event(p) for p in self._event_files()) if ev is not None]

    def entries(self, **match: str | None) -> list[JournalEntry]:
        """Every entry (pending or closed), oldest first, filtered by any of the label fields."""
        return _matching(self.read().entries.values(), match)

    def pending(self, **match: str | None) -> list[JournalEntry]:
        """Entries with an intent and no restore, optionally filtered by injection_id, dag_id, run_id or path."""
        return _matching(self.read().pending(), match)

    def state_of(self, entry_id: str) -> str:
        """``pending``, ``restored`` or ``superseded``."""
        return self.read().closed.get(entry_id, "pending")

    # ----------------------------------------------------------------- restoring
    def restore(self, **match: str | None) -> list[RestoreResult]:
        """Undo every pending entry (newest first) by compare-and-swap; return what happened to each."""
        results = []
        for entry in sorted(self.pending(**match), key=lambda e: e.created, reverse=True):
            results.append(self._restore_one(entry))
        return results

    def _restore_one(self, entry: JournalEntry) -> RestoreResult:
        if entry.op == "state":
            return self._restore_state(entry)
        path = as_path(entry.path)
        target = real_path(path)
        found = sha256_file(target)
        self._remove_temp(entry, target)
        if found == entry.checksum:
            outcome: Outcome = "unchanged"
        elif found != entry.checksum_after:
            return self._supersede(entry, found)
        elif entry.checksum is None:
            remove(target)
            outcome = "restored"
        else:
            self._put_back(entry, target)
            outcome = "restored"
        return self._close(entry, outcome, found)

    def _restore_state(self, entry: JournalEntry) -> RestoreResult:
        resource = state_resource(entry.resource or "")
        key = entry.path.split(":", 1)[1] if ":" in entry.path else entry.path
        context = entry.context or {}
        found = state_checksum(resource.read(key, context))
        if found == entry.checksum:
            outcome: Outcome = "unchanged"
        elif found != entry.checksum_after:
            return self._supersede(entry, found)
        else:
            resource.write(key, context, self._state_backup(entry))
            if state_checksum(resource.read(key, context)) != entry.checksum:
                raise ChaosRestoreError(f"journal entry {entry.id}: restored state of {entry.path} does not match")
            outcome = "restored"
        return self._close(entry, outcome, found)

    def _state_backup(self, entry: JournalEntry) -> Any:
        if entry.checksum is None:
            return None
        backup = self.backups_dir / entry.id
        if not backup.exists():
            raise ChaosRestoreError(f"journal entry {entry.id}: backup of {entry.path} is missing under {backup}")
        data = backup.read_bytes()
        if sha256_bytes(data) != entry.checksum:
            raise ChaosRestoreError(f"journal entry {entry.id}: checksum of the backup of {entry.path} does not match")
        return json.loads(data)

    def _close(self, entry: JournalEntry, outcome: Outcome, found: str | None) -> RestoreResult:
        self._write_event(entry.id, "restored", {"id": entry.id, "path": entry.path, "outcome": outcome})
        self._drop_backup(entry.id)
        log.info("chaos journal: %s %s (%s)", outcome, entry.path, entry.op)
        return RestoreResult(entry, outcome, found)

    def _put_back(self, entry: JournalEntry, target: StoragePath) -> None:
        backup = self.backups_dir / entry.id
        if not backup.exists():
            raise ChaosRestoreError(f"journal entry {entry.id}: backup of {entry.path} is missing under {backup}")
        if sha256_file(backup) != entry.checksum:
            raise ChaosRestoreError(
                f"journal entry {entry.id}: checksum of the backup of {entry.path} does not match the original's; "
                f"the target was left as it is"
            )
        copy_atomic(backup, target, mode=entry.mode, temp=_temp_of(entry, target))
        if sha256_file(target) != entry.checksum:
            raise ChaosRestoreError(f"journal entry {entry.id}: checksum of restored {entry.path} does not match")

    def _supersede(self, entry: JournalEntry, found: str | None) -> RestoreResult:
        what = "is gone" if found is None else f"holds other bytes (sha256 {found[:12]})"
        log.warning(
            "chaos journal: %s %s since the fault: someone wrote it, so it was NOT restored (superseded); "
            "the original is kept in %s",
            entry.path,
            what,
            self.backups_dir / entry.id,
        )
        self._write_event(
            entry.id, "superseded", {"id": entry.id, "path": entry.path, "outcome": "superseded", "found": found}
        )
        return RestoreResult(entry, "superseded", found)

    def _remove_temp(self, entry: JournalEntry, target: StoragePath) -> None:
        """A writer (or restorer) killed before its rename leaves a temporary file beside the target."""
        tmp = _temp_of(entry, target)
        if tmp.exists():
            remove(tmp)

    def _drop_backup(self, entry_id: str) -> None:
        backup = self.backups_dir / entry_id
        if backup.exists():
            remove(backup)

    # ----------------------------------------------------------------- housekeeping
    def prune(self, days: float) -> list[str]:
        """Delete backups older than ``days`` that no pending entry needs: those of superseded or restored
        entries, and orphans a killed writer left before its intent. Pending entries are never touched."""
        if not self.backups_dir.exists():
            return []
        state = self.read()
        cutoff = time.time() - days * 86400
        pruned = []
        for backup in list(self.backups_dir.iterdir()):
            name = backup.name
            if name.startswith(".") or (name in state.entries and name not in state.closed):
                continue
            entry = state.entries.get(name)
            born = entry.created if entry is not None else _mtime(backup)
            if born is not None and born < cutoff:
                remove(backup)
                pruned.append(name)
        return pruned


def canonical_json(state: Any) -> bytes:
    """The one serialization a state's checksum is taken over (sorted keys, no spaces)."""
    return json.dumps(state, sort_keys=True, separators=(",", ":"), default=str).encode()


def state_checksum(state: Any) -> str | None:
    """SHA-256 of a state's canonical JSON; None for an absent state."""
    return None if state is None else sha256_bytes(canonical_json(state))


def _backup_mode(mode: int | None) -> int:
    """A backup is owner-only, and never more permissive than the original."""
    return (mode & _OWNER_ONLY) | 0o400 if mode is not None else _OWNER_ONLY


def _read_all(target: StoragePath) -> bytes:
    with open_regular(target, "journal: rewrite") as fh:
        return fh.read()


def _patched(edit: ChunkPatch, offset: int, chunk: bytes) -> bytes:
    out = edit(offset, chunk)
    if len(out) != len(chunk):
        raise ChaosInjectionError(
            f"journal: a patch must keep each chunk's length ({len(chunk)} bytes at offset {offset}, got {len(out)})"
        )
    return out


def _pour_patched(source: StoragePath, edit: ChunkPatch, out: BinaryIO) -> None:
    for offset, chunk in read_chunks(source, "journal: patch"):
        out.write(_patched(edit, offset, chunk))


def _temp_of(entry: JournalEntry, target: StoragePath) -> StoragePath:
    """The one temporary name beside ``target`` that the entry's rewrite and restore use."""
    return temp_sibling(target, f"chaos-{entry.id[:12]}")


def _mtime(path: StoragePath) -> float | None:
    try:
        return float(path.stat().st_mtime)
    except (OSError, AttributeError):
        return None


def _parse_event(path: StoragePath) -> dict[str, Any] | None:
    """The event in ``path``, or None when it is empty, half-written or not an event."""
    try:
        event = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str) or not isinstance(event.get("id"), str):
        return None
    if event["event"] == "intent" and not JournalEntry.valid_json(event):
        return None
    return event


def _matching(entries: Iterable[JournalEntry], match: dict[str, str | None]) -> list[JournalEntry]:
    wanted = {k: v for k, v in match.items() if v is not None}
    if "path" in wanted:
        wanted["path"] = location_of(as_path(wanted["path"]))
    return sorted(
        (e for e in entries if all(getattr(e, k) == v for k, v in wanted.items())), key=lambda e: e.created
    )

