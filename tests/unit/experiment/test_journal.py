"""The journal: written before mutation, compare-and-swap restore, crash-safe, any fsspec URL.

The tests named ``test_defect_N_...`` reproduce the defects of issue #7 in its own words.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time

import pytest

from airflow_chaos.exceptions import ChaosRestoreError
from airflow_chaos.experiment.journal import Journal


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_rewrite_then_restore_is_byte_identical(tmp_path):
    target = tmp_path / "data.csv"
    target.write_bytes(b"a,b\n1,2\n3,4\n")
    before = _sha(target)
    journal = Journal(tmp_path / "journal")
    entry = journal.rewrite(target, lambda b: b[:5], run_id="r1", dag_id="d")
    assert target.read_bytes() == b"a,b\n1"
    assert entry.checksum == before and entry.checksum_after == hashlib.sha256(b"a,b\n1").hexdigest()
    assert [e.id for e in journal.pending()] == [entry.id]

    [result] = journal.restore(run_id="r1")
    assert (result.entry.id, result.outcome) == (entry.id, "restored")
    assert _sha(target) == before
    assert journal.pending() == []
    assert journal.restore() == []  # idempotent


def test_move_aside_and_restore(tmp_path):
    target = tmp_path / "in" / "orders.parquet"
    target.parent.mkdir()
    target.write_bytes(b"PAR1....PAR1")
    journal = Journal(tmp_path / "journal")
    journal.move_aside(target)
    assert not target.exists()
    [result] = journal.restore()
    assert result.outcome == "restored" and target.read_bytes() == b"PAR1....PAR1"


def test_a_transform_that_raises_changes_and_journals_nothing(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"original")
    journal = Journal(tmp_path / "journal")

    def broken(_data):
        raise RuntimeError("bug in the fault")

    with pytest.raises(RuntimeError):
        journal.rewrite(target, broken)
    assert target.read_bytes() == b"original" and journal.pending() == []


def test_intent_is_durable_before_the_target_changes(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    target.write_bytes(b"original")
    journal = Journal(tmp_path / "journal")
    real_replace = os.replace

    def killed_at_rename(src, dst):
        if os.fspath(dst) == str(target):
            assert len(journal.pending()) == 1  # the intent is already on disk
            raise KeyboardInterrupt("worker killed at the rename")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed_at_rename)
    with pytest.raises(KeyboardInterrupt):
        journal.rewrite(target, lambda _: b"faulted")
    monkeypatch.undo()
    assert target.read_bytes() == b"original"
    [result] = journal.restore()  # the target still holds the original: the entry is just closed
    assert result.outcome == "unchanged" and target.read_bytes() == b"original"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_restore_filters_by_run(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"A")
    b.write_bytes(b"B")
    journal = Journal(tmp_path / "journal")
    journal.rewrite(a, lambda _: b"x", run_id="r1")
    journal.rewrite(b, lambda _: b"y", run_id="r2")
    journal.restore(run_id="r1")
    assert a.read_bytes() == b"A" and b.read_bytes() == b"y"
    assert len(journal.pending()) == 1


def test_missing_backup_is_a_restore_error(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"one")
    journal = Journal(tmp_path / "journal")
    entry = journal.rewrite(target, lambda _: b"two")
    (tmp_path / "journal" / "backups" / entry.id).unlink()
    with pytest.raises(ChaosRestoreError, match="backup"):
        journal.restore()


def test_a_tampered_backup_is_never_written_to_the_target(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"one")
    journal = Journal(tmp_path / "journal")
    entry = journal.rewrite(target, lambda _: b"two")
    (tmp_path / "journal" / "backups" / entry.id).write_bytes(b"tampered")
    with pytest.raises(ChaosRestoreError, match="checksum"):
        journal.restore()
    assert target.read_bytes() == b"two"


def test_works_on_an_fsspec_url():
    from upath import UPath

    target = UPath("memory://bucket/data/file.json")
    target.write_bytes(b'{"a": 1}')
    journal = Journal("memory://bucket/journal")
    entry = journal.rewrite(target, lambda _: b"")
    assert entry.path == "memory://bucket/data/file.json"
    assert target.read_bytes() == b""
    [result] = journal.restore()
    assert result.outcome == "restored" and target.read_bytes() == b'{"a": 1}'
    target.write_bytes(b"newer")
    journal.rewrite(target, lambda _: b"x")
    target.write_bytes(b"newest")
    assert [r.outcome for r in journal.restore()] == ["superseded"]
    assert target.read_bytes() == b"newest"


# ---------------------------------------------------------------------- defect 1: compare-and-swap restore
def test_defect_1_restore_never_overwrites_fresh_data(tmp_path):
    target = tmp_path / "in.csv"
    target.write_bytes(b"id\n1\n")
    journal = Journal(tmp_path / "journal")
    entry = journal.rewrite(target, lambda _: b"", dag_id="d", run_id="r1")
    target.write_bytes(b"id\n1\n2\n3\n")  # upstream delivers fresh rows after the fault

    [result] = journal.restore(dag_id="d")
    assert result.outcome == "superseded"
    assert target.read_bytes() == b"id\n1\n2\n3\n"  # the fresh rows survive
    assert journal.state_of(entry.id) == "superseded" and journal.pending() == []
    assert (tmp_path / "journal" / "backups" / entry.id).read_bytes() == b"id\n1\n"  # original kept
    assert journal.restore() == []


def test_defect_1_a_held_back_file_delivered_again_is_superseded(tmp_path):
    target = tmp_path / "in.csv"
    target.write_bytes(b"old")
    journal = Journal(tmp_path / "journal")
    journal.move_aside(target)
    target.write_bytes(b"fresh delivery")
    assert [r.outcome for r in journal.restore()] == ["superseded"]
    assert target.read_bytes() == b"fresh delivery"


def test_defect_1_a_target_already_back_to_the_original_is_closed_unchanged(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"one")
    journal = Journal(tmp_path / "journal")
    journal.rewrite(target, lambda _: b"two")
    target.write_bytes(b"one")
    assert [r.outcome for r in journal.restore()] == ["unchanged"]


def test_defect_1_cli_restore_reports_superseded(tmp_path, capsys):
    from airflow_chaos import cli

    target = tmp_path / "in.csv"
    target.write_bytes(b"old")
    journal = Journal(tmp_path / "journal")
    journal.rewrite(target, lambda _: b"")
    target.write_bytes(b"new")
    assert cli.main(["restore", "--journal", str(tmp_path / "journal")]) == 0
    out = capsys.readouterr().out
    assert "superseded" in out and str(target) in out and "0 mutation(s) restored, 1 superseded" in out
    assert target.read_bytes() == b"new"


# ---------------------------------------------------------------------- defect 2: unreadable events
@pytest.mark.parametrize("garbage", [b"", b'{"event": "intent", "id": "abc", "op": "rew', b"\x00\x00", b"[1, 2]"])
def test_defect_2_an_unreadable_event_is_skipped_and_reported(tmp_path, garbage):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_bytes(b"A")
    b.write_bytes(b"B")
    journal = Journal(tmp_path / "journal")
    journal.rewrite(a, lambda _: b"x")
    broken = journal.entries_dir / f"{time.time_ns():020d}-deadbeef-intent.json"
    broken.write_bytes(garbage)  # a process killed while writing its event
    journal.rewrite(b, lambda _: b"y")

    state = journal.read()
    assert state.unreadable == [str(broken)]
    assert len(state.pending()) == 2
    assert [r.outcome for r in journal.restore()] == ["restored", "restored"]
    assert a.read_bytes() == b"A" and b.read_bytes() == b"B"


def test_defect_2_events_are_written_atomically(tmp_path, monkeypatch):
    target = tmp_path / "a.csv"
    target.write_bytes(b"A")
    journal = Journal(tmp_path / "journal")
    journal.rewrite(target, lambda _: b"x")
    real_fsync = os.fsync

    def killed_before_fsync(fd):
        raise KeyboardInterrupt("killed while writing an event")

    monkeypatch.setattr(os, "fsync", killed_before_fsync)
    with pytest.raises(KeyboardInterrupt):
        journal._write_event("feed", "restored", {"id": "feed", "path": "x"})
    monkeypatch.setattr(os, "fsync", real_fsync)
    names = [p.name for p in journal.entries_dir.iterdir()]
    assert len(names) == 1 and not any("feed" in n for n in names)  # no half event under a real name
    assert journal.read().unreadable == []


# ---------------------------------------------------------------------- defect 3: modes and symlinks
def test_defect_3_restore_keeps_the_mode_and_backups_are_private(tmp_path):
    target = tmp_path / "secret.csv"
    target.write_bytes(b"token,1\n")
    os.chmod(target, 0o600)
    journal = Journal(tmp_path / "journal")
    entry = journal.rewrite(target, lambda _: b"")
    assert _mode(target) == 0o600  # the faulted file keeps it too
    backup = tmp_path / "journal" / "backups" / entry.id
    assert _mode(backup) & 0o077 == 0  # not group- or world-readable
    journal.restore()
    assert _mode(target) == 0o600 and target.read_bytes() == b"token,1\n"

    public = tmp_path / "public.csv"
    public.write_bytes(b"x")
    os.chmod(public, 0o644)
    entry = journal.rewrite(public, lambda _: b"")
    assert _mode(tmp_path / "journal" / "backups" / entry.id) == 0o600
    journal.restore()
    assert _mode(public) == 0o644


def test_defect_3_restore_goes_through_a_symlink(tmp_path):
    real = tmp_path / "store" / "orders.csv"
    real.parent.mkdir()
    real.write_bytes(b"id\n1\n")
    link = tmp_path / "orders.csv"
    link.symlink_to(real)
    journal = Journal(tmp_path / "journal")
    journal.rewrite(link, lambda _: b"")
    assert link.is_symlink() and real.read_bytes() == b""
    journal.restore()
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"id\n1\n"

    journal.move_aside(link)
    assert link.is_symlink() and not real.exists()
    journal.restore()
    assert link.is_symlink() and real.read_bytes() == b"id\n1\n"


# ---------------------------------------------------------------------- defect 4: relative paths
def test_defect_4_relative_paths_are_journaled_absolute(tmp_path, monkeypatch):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(here)
    (here / "rel.csv").write_bytes(b"a\n1\n")
    journal = Journal(tmp_path / "journal")
    entry = journal.rewrite("rel.csv", lambda _: b"")
    assert entry.path == str(here / "rel.csv")

    monkeypatch.chdir(elsewhere)
    [result] = journal.restore()
    assert result.outcome == "restored" and (here / "rel.csv").read_bytes() == b"a\n1\n"
    assert list(elsewhere.iterdir()) == []


def test_defect_4_a_relative_journal_root_is_absolute_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Journal("j").root == tmp_path / "j"


# ---------------------------------------------------------------------- defect 5: backups
def test_defect_5_a_verified_restore_deletes_its_backup(tmp_path):
    target = tmp_path / "big.bin"
    target.write_bytes(os.urandom(1 << 16))
    journal = Journal(tmp_path / "journal")
    entry = journal.rewrite(target, lambda _: b"")
    backup = tmp_path / "journal" / "backups" / entry.id
    assert backup.exists()
    journal.restore()
    assert not backup.exists()


def test_defect_5_prune_deletes_old_unneeded_backups_only(tmp_path):
    journal = Journal(tmp_path / "journal")
    files = {name: tmp_path / name for name in ("pending", "superseded", "fresh")}
    for path in files.values():
        path.write_bytes(b"original " + path.name.encode())
    pending = journal.rewrite(files["pending"], lambda _: b"")
    superseded = journal.rewrite(files["superseded"], lambda _: b"")
    files["superseded"].write_bytes(b"newer")
    journal.restore(path=str(files["superseded"]))
    orphan = journal.backups_dir / "orphan-of-a-killed-writer"
    orphan.write_bytes(b"x")
    old = time.time() - 10 * 86400
    os.utime(orphan, (old, old))

    assert journal.prune(30) == []  # nothing is 30 days old
    later = time.time() + 40 * 86400
    monkey_time = pytest.MonkeyPatch()
    monkey_time.setattr(time, "time", lambda: later)
    try:
        pruned = journal.prune(30)
    finally:
        monkey_time.undo()
    assert sorted(pruned) == sorted([superseded.id, orphan.name])
    assert (journal.backups_dir / pending.id).exists()  # a pending entry's backup is never pruned
    journal.restore()
    assert files["pending"].read_bytes() == b"original pending"


def test_defect_5_cli_prune(tmp_path, capsys):
    from airflow_chaos import cli

    journal = Journal(tmp_path / "journal")
    journal.backups_dir.mkdir(parents=True)
    orphan = journal.backups_dir / "orphan"
    orphan.write_bytes(b"x")
    old = time.time() - 3 * 86400
    os.utime(orphan, (old, old))
    assert cli.main(["restore", "--journal", str(journal.root), "--prune", "2"]) == 0
    assert "1 backup(s) older than 2 day(s) pruned" in capsys.readouterr().out
    assert not orphan.exists()


# ---------------------------------------------------------------------- defect 6: atomic rewrite and restore
def test_defect_6_a_crash_during_restore_leaves_no_half_file(tmp_path, monkeypatch):
    target = tmp_path / "data.csv"
    original = b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(5000))
    target.write_bytes(original)
    journal = Journal(tmp_path / "journal")
    journal.rewrite(target, lambda data: data[: len(data) // 3])
    faulted = target.read_bytes()
    real_replace = os.replace

    def killed(src, dst):
        if os.fspath(dst) == str(target):
            raise KeyboardInterrupt("killed mid-restore")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        journal.restore()
    monkeypatch.undo()
    assert target.read_bytes() == faulted  # whole faulted bytes, never half of the original
    assert len(journal.pending()) == 1
    [result] = journal.restore()
    assert result.outcome == "restored" and target.read_bytes() == original
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------- outside state (aliases, online rows)
class _AliasFile:
    """A tiny real state resource: aliases kept in a JSON file (``context["file"]``), one key per alias."""

    name = "test.alias"

    def read(self, key, context):
        import json
        from pathlib import Path

        path = Path(context["file"])
        return json.loads(path.read_text()).get(key) if path.exists() else None

    def write(self, key, context, state):
        import json
        from pathlib import Path

        path = Path(context["file"])
        data = json.loads(path.read_text()) if path.exists() else {}
        if state is None:
            data.pop(key, None)
        else:
            data[key] = state
        path.write_text(json.dumps(data))


@pytest.fixture
def alias_file(tmp_path):
    from airflow_chaos.faults.base import register_state_resource

    register_state_resource(_AliasFile.name, _AliasFile)
    path = tmp_path / "aliases.json"
    path.write_text('{"champion": {"version": 3}}')
    return path


def test_state_change_is_journaled_and_restored(tmp_path, alias_file):
    journal = Journal(tmp_path / "journal")
    context = {"file": str(alias_file)}
    entry = journal.change_state(_AliasFile(), "champion", context, lambda s: {"version": 1}, run_id="r")
    assert entry.op == "state" and entry.path == "test.alias:champion" and entry.context == context
    assert _AliasFile().read("champion", context) == {"version": 1}
    [result] = Journal(tmp_path / "journal").restore()  # a fresh journal object: found by name, not instance
    assert result.outcome == "restored"
    assert _AliasFile().read("champion", context) == {"version": 3}
    assert not (tmp_path / "journal" / "backups" / entry.id).exists()


def test_state_moved_by_someone_else_since_is_superseded(tmp_path, alias_file):
    journal = Journal(tmp_path / "journal")
    context = {"file": str(alias_file)}
    journal.change_state(_AliasFile(), "champion", context, lambda s: {"version": 1})
    _AliasFile().write("champion", context, {"version": 4})  # a deployment moved the alias since
    assert [r.outcome for r in journal.restore()] == ["superseded"]
    assert _AliasFile().read("champion", context) == {"version": 4}


def test_state_created_by_a_fault_is_removed_on_restore(tmp_path, alias_file):
    journal = Journal(tmp_path / "journal")
    context = {"file": str(alias_file)}
    journal.change_state(_AliasFile(), "challenger", context, lambda s: {"version": 9})
    journal.restore()
    assert _AliasFile().read("challenger", context) is None


def test_an_unknown_state_resource_is_a_clear_error(tmp_path):
    from airflow_chaos.exceptions import ChaosInjectionError
    from airflow_chaos.faults.base import state_resource

    with pytest.raises(ChaosInjectionError, match="no state resource 'nope.x'"):
        state_resource("nope.x")


# ---------------------------------------------------------------------- streamed patches (large files)
def _xor_at(positions):
    """A plan flipping the bytes at ``positions``: what CorruptBytes hands the journal."""

    def plan(size):
        assert all(p < size for p in positions)

        def edit(offset, chunk):
            out = bytearray(chunk)
            for p in positions:
                if offset <= p < offset + len(chunk):
                    out[p - offset] ^= 0xFF
            return bytes(out)

        return edit

    return plan


def test_patch_streams_a_copy_journals_both_checksums_and_restores(tmp_path):
    target = tmp_path / "big.bin"
    original = os.urandom(3 * (1 << 20) + 17)  # more than one 1 MiB chunk, with a ragged end
    target.write_bytes(original)
    os.chmod(target, 0o640)
    positions = [0, (1 << 20) - 1, 1 << 20, len(original) - 1]
    expected = bytearray(original)
    for p in positions:
        expected[p] ^= 0xFF
    journal = Journal(tmp_path / "journal")

    entry = journal.patch(target, _xor_at(positions), dag_id="d", run_id="r")

    assert target.read_bytes() == bytes(expected) and _mode(target) == 0o640
    assert entry.op == "rewrite" and entry.checksum == hashlib.sha256(original).hexdigest()
    assert entry.checksum_after == hashlib.sha256(bytes(expected)).hexdigest()
    assert [e.id for e in journal.pending(run_id="r")] == [entry.id]
    assert (tmp_path / "journal" / "backups" / entry.id).read_bytes() == original
    [result] = journal.restore()
    assert result.outcome == "restored" and target.read_bytes() == original
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_plan_that_raises_or_changes_a_length_changes_nothing(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"0123456789")
    journal = Journal(tmp_path / "journal")

    def refuse(size):
        raise ValueError(f"nothing to do in {size} bytes")

    with pytest.raises(ValueError, match="nothing to do in 10 bytes"):
        journal.patch(target, refuse)
    with pytest.raises(Exception, match="length"):
        journal.patch(target, lambda size: lambda offset, chunk: chunk + b"!")
    assert target.read_bytes() == b"0123456789"
    assert journal.pending() == []


@pytest.mark.parametrize("method", ["rewrite", "patch", "move_aside"])
def test_the_journal_refuses_a_fifo_without_blocking_on_it(tmp_path, method):
    """The journal's own guard, below the faults' check: a FIFO is never opened for a blocking read."""
    import threading

    from airflow_chaos.exceptions import ChaosConfigError

    fifo = tmp_path / "orders.csv"
    os.mkfifo(fifo)
    journal = Journal(tmp_path / "journal")
    calls = {
        "rewrite": lambda: journal.rewrite(fifo, lambda data: data[:1]),
        "patch": lambda: journal.patch(fifo, _xor_at([0])),
        "move_aside": lambda: journal.move_aside(fifo),
    }
    errors = []

    def call():
        try:
            calls[method]()
        except ChaosConfigError as exc:
            errors.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader stuck in open() before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not worker.is_alive(), f"{method} blocked on a FIFO"
    assert len(errors) == 1 and "not a regular file" in str(errors[0])
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and journal.pending() == []
