"""The journal: a durable, append-only record of every mutating injection, written before the mutation.

Layout under the journal's root (a local directory or any fsspec/``ObjectStoragePath`` URL)::

    entries/<sortable-time>-<id>-<event>.json   one immutable object per event (intent, restored)
    backups/<id>                                the original bytes of a rewritten or moved file

One object per event keeps the journal append-only on stores that cannot append (S3, GCS).
Order of work for a mutation: back up the original bytes, write the *intent* entry, then mutate.
``restore`` puts every unrestored entry back, verifies the SHA-256 of the result, then writes a
*restored* entry. It is idempotent and can be re-run after a crash at any step.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_chaos.exceptions import ChaosRestoreError

log = logging.getLogger(__name__)

PathLike = Any  # pathlib.Path, upath.UPath or airflow.sdk.ObjectStoragePath


def as_path(location: str | os.PathLike[str] | PathLike) -> PathLike:
    """A local ``Path`` for plain paths, a ``UPath`` for URLs; path objects pass through."""
    if not isinstance(location, (str, os.PathLike)) or isinstance(location, Path):
        return location
    text = os.fspath(location)
    if "://" in text and not text.startswith("file://"):
        from upath import UPath

        return UPath(text)
    return Path(text.removeprefix("file://"))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: PathLike) -> str | None:
    return sha256(path.read_bytes()) if path.exists() else None


@dataclass(frozen=True)
class JournalEntry:
    """One mutation: what was changed, how to undo it, and the checksum the undo must reproduce."""

    id: str
    op: str  # "rewrite" | "move" | "delete"
    path: str
    checksum: str | None
    injection_id: str | None
    dag_id: str | None
    run_id: str | None
    created: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Journal:
    """Append-only journal of mutations, with idempotent, checksum-verified restore."""

    def __init__(self, root: str | os.PathLike[str] | PathLike) -> None:
        self.root = as_path(root)
        self.entries_dir = self.root / "entries"
        self.backups_dir = self.root / "backups"

    def __repr__(self) -> str:
        return f"Journal({str(self.root)!r})"

    # ----------------------------------------------------------------- writing
    def _write_event(self, entry_id: str, event: str, payload: dict[str, Any]) -> None:
        self.entries_dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{entry_id}-{event}.json"
        target = self.entries_dir / name
        data = json.dumps({"event": event, **payload}, sort_keys=True).encode()
        if isinstance(target, Path):
            with open(target, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            target.write_bytes(data)

    def _intent(self, op: str, path: PathLike, labels: dict[str, str | None]) -> JournalEntry:
        entry = JournalEntry(
            id=uuid.uuid4().hex,
            op=op,
            path=str(path),
            checksum=_file_sha(path),
            injection_id=labels.get("injection_id"),
            dag_id=labels.get("dag_id"),
            run_id=labels.get("run_id"),
            created=time.time(),
        )
        if entry.checksum is not None:
            self.backups_dir.mkdir(parents=True, exist_ok=True)
            (self.backups_dir / entry.id).write_bytes(path.read_bytes())
        self._write_event(entry.id, "intent", entry.to_json())
        return entry

    def rewrite(self, path: PathLike, transform: Callable[[bytes], bytes], **labels: str | None) -> JournalEntry:
        """Journal ``path``, then replace its bytes with ``transform(original)``."""
        path = as_path(path)
        entry = self._intent("rewrite", path, labels)
        path.write_bytes(transform((self.backups_dir / entry.id).read_bytes() if entry.checksum else b""))
        return entry

    def move_aside(self, path: PathLike, **labels: str | None) -> JournalEntry:
        """Journal ``path``, then remove it (its bytes are kept in the backup)."""
        path = as_path(path)
        if not path.exists():
            raise ChaosRestoreError(f"cannot hold back {path}: it does not exist")
        entry = self._intent("move", path, labels)
        path.unlink()
        return entry

    # ----------------------------------------------------------------- reading
    def events(self) -> list[dict[str, Any]]:
        if not self.entries_dir.exists():
            return []
        files = sorted(self.entries_dir.iterdir(), key=lambda p: p.name)
        return [json.loads(p.read_bytes()) for p in files if p.name.endswith(".json")]

    def pending(self, **match: str | None) -> list[JournalEntry]:
        """Entries with an intent and no restore, optionally filtered by injection_id, dag_id or run_id."""
        intents: dict[str, JournalEntry] = {}
        done: set[str] = set()
        for ev in self.events():
            kind = ev.pop("event")
            if kind == "intent":
                intents[ev["id"]] = JournalEntry(**ev)
            elif kind == "restored":
                done.add(ev["id"])
        return [
            e
            for e in intents.values()
            if e.id not in done and all(getattr(e, k) == v for k, v in match.items() if v is not None)
        ]

    # ----------------------------------------------------------------- restoring
    def restore(self, **match: str | None) -> list[JournalEntry]:
        """Undo every pending entry (newest first), verify checksums, return what was restored."""
        restored = []
        for entry in sorted(self.pending(**match), key=lambda e: e.created, reverse=True):
            self._restore_one(entry)
            restored.append(entry)
        return restored

    def _restore_one(self, entry: JournalEntry) -> None:
        path = as_path(entry.path)
        if entry.checksum is None:
            if path.exists():
                path.unlink()
        elif _file_sha(path) != entry.checksum:
            backup = self.backups_dir / entry.id
            if not backup.exists():
                raise ChaosRestoreError(f"journal entry {entry.id}: backup of {entry.path} is missing under {backup}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(backup.read_bytes())
            if _file_sha(path) != entry.checksum:
                raise ChaosRestoreError(f"journal entry {entry.id}: checksum of restored {entry.path} does not match")
        self._write_event(entry.id, "restored", {"id": entry.id, "path": entry.path})
        log.info("chaos journal: restored %s (%s)", entry.path, entry.op)
