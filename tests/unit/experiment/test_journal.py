"""The journal: written before mutation, idempotent checksum-verified restore, crash-safe, any fsspec URL."""

from __future__ import annotations

import hashlib

import pytest

from airflow_chaos.exceptions import ChaosRestoreError
from airflow_chaos.experiment.journal import Journal


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rewrite_then_restore_is_byte_identical(tmp_path):
    target = tmp_path / "data.csv"
    target.write_bytes(b"a,b\n1,2\n3,4\n")
    before = _sha(target)
    journal = Journal(tmp_path / "journal")
    entry = journal.rewrite(target, lambda b: b[:5], run_id="r1", dag_id="d")
    assert target.read_bytes() == b"a,b\n1"
    assert entry.checksum == before
    assert [e.id for e in journal.pending()] == [entry.id]

    assert [e.id for e in journal.restore(run_id="r1")] == [entry.id]
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
    journal.restore()
    assert target.read_bytes() == b"PAR1....PAR1"


def test_intent_is_written_before_the_mutation(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"original")
    journal = Journal(tmp_path / "journal")

    def crash(_data):
        # The intent must already be durable when the mutation starts.
        assert len(journal.pending()) == 1
        raise RuntimeError("worker killed mid-write")

    with pytest.raises(RuntimeError):
        journal.rewrite(target, crash)
    # The file was never changed; restore recognises that and just closes the entry.
    restored = journal.restore()
    assert len(restored) == 1 and target.read_bytes() == b"original"


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


def test_works_on_an_fsspec_url():
    from upath import UPath

    target = UPath("memory://bucket/data/file.json")
    target.write_bytes(b'{"a": 1}')
    journal = Journal("memory://bucket/journal")
    journal.rewrite(target, lambda _: b"")
    assert target.read_bytes() == b""
    journal.restore()
    assert target.read_bytes() == b'{"a": 1}'
