"""File faults without Airflow: journaled before mutation, restorable byte-identically, local and URL paths."""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid

import pandas as pd
import pytest
from upath import UPath

from airflow_chaos.exceptions import ChaosConfigError, ChaosInjectionError
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.faults import CorruptBytes, EmptyFile, Fault, FaultContext, HoldBackFile, SwapFormat, TruncateFile
from airflow_chaos.storage import format_of

CSV = b"order_id,price,qty\n1,9.5,1\n2,20.0,3\n3,3.25,2\n4,11.0,5\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "journal")


@pytest.fixture
def orders(tmp_path):
    path = tmp_path / "data" / "orders.csv"
    path.parent.mkdir()
    path.write_bytes(CSV)
    return path


def ctx_for(journal, seed=7, **labels):
    labels = {"injection_id": uuid.uuid4().hex, "dag_id": "d", "run_id": "r", **labels}
    return FaultContext(seed=seed, journal=journal, labels=labels)


def test_signals_phases_and_templating():
    assert HoldBackFile.signals == ("freshness", "volume") and HoldBackFile.phase == "around"
    assert SwapFormat.signals == CorruptBytes.signals == TruncateFile.signals == ("format",)
    assert EmptyFile.signals == ("volume", "format")
    for cls in (HoldBackFile, SwapFormat, TruncateFile, CorruptBytes, EmptyFile):
        assert cls.template_fields == ("path",)
    assert SwapFormat(path="/x.csv", to="json").target() == "/x.csv"


@pytest.mark.parametrize(
    "fault",
    [
        HoldBackFile(path="s3://b/{{ ds }}/x.csv", release_after=5),
        SwapFormat(path="/x.csv", to="parquet"),
        TruncateFile(path="/x.csv", keep_fraction=0.5),
        CorruptBytes(path="/x.csv", n_bytes=3),
        CorruptBytes(path="/x.csv", fraction=0.1),
        EmptyFile(path="/x.csv"),
    ],
)
def test_round_trip(fault):
    assert Fault.from_dict(fault.to_dict()) == fault


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (CorruptBytes, {"path": "/x"}, "exactly one"),
        (CorruptBytes, {"path": "/x", "fraction": 0.1, "n_bytes": 2}, "exactly one"),
        (SwapFormat, {"path": "/x", "to": "xml"}, "field 'to'"),
        (SwapFormat, {"path": "/x", "to": "csv", "source": "csv"}, "must differ"),
        (TruncateFile, {"path": "/x", "keep_fraction": 1.0}, "field 'keep_fraction'"),
        (HoldBackFile, {"path": ""}, "field 'path'"),
    ],
)
def test_invalid_parameters(cls, params, message):
    with pytest.raises(ChaosConfigError, match=message):
        cls(**params)


# ---------------------------------------------------------------------- rewriting faults
@pytest.mark.parametrize(
    "fault_factory",
    [
        lambda p: SwapFormat(path=p, to="json"),
        lambda p: TruncateFile(path=p, keep_fraction=0.5),
        lambda p: CorruptBytes(path=p, n_bytes=5),
        lambda p: EmptyFile(path=p),
    ],
)
def test_rewrite_is_journaled_recorded_and_restorable(fault_factory, orders, journal):
    fault = fault_factory(str(orders))
    ctx = ctx_for(journal)
    sentinel = object()
    assert fault.apply(sentinel, ctx) is sentinel  # the return value passes through
    faulted = orders.read_bytes()
    assert faulted != CSV
    assert ctx.changes["sha256_before"] == sha(CSV) and ctx.changes["sha256_after"] == sha(faulted)
    assert ctx.changes["bytes_before"] == len(CSV) and ctx.changes["bytes_after"] == len(faulted)
    [entry] = journal.pending(run_id="r")
    assert entry.id == ctx.changes["journal_entry"] and entry.checksum == sha(CSV)
    journal.restore(run_id="r")
    assert orders.read_bytes() == CSV
    assert journal.restore(run_id="r") == []  # idempotent


def test_swap_format_csv_to_json_keeps_the_name_and_the_rows(orders, journal):
    ctx = ctx_for(journal)
    SwapFormat(path=str(orders), to="json").apply(None, ctx)
    assert orders.name == "orders.csv"
    rows = json.loads(orders.read_bytes())
    assert rows[0] == {"order_id": 1, "price": 9.5, "qty": 1} and len(rows) == 4
    assert ctx.changes["format_before"] == "csv" and ctx.changes["format_after"] == "json"


def test_swap_format_parquet_to_csv(tmp_path, journal):
    path = tmp_path / "orders.parquet"
    pd.read_csv(io.BytesIO(CSV)).to_parquet(path, index=False)
    original = path.read_bytes()
    SwapFormat(path=str(path), to="csv").apply(None, ctx_for(journal))
    assert path.read_bytes().startswith(b"order_id,price,qty\n")
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises, it cannot read it any more
        pd.read_parquet(path)
    journal.restore()
    assert path.read_bytes() == original


def test_swap_format_to_the_same_format_is_refused(orders, journal):
    with pytest.raises(ChaosConfigError, match="already csv"):
        SwapFormat(path=str(orders), to="csv").apply(None, ctx_for(journal))
    assert orders.read_bytes() == CSV


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("a.csv", b"", "csv"),
        ("a.PARQUET", b"", "parquet"),
        ("blob", b"PAR1xx", "parquet"),
        ("blob", b' [{"a":1}]', "json"),
    ],
)
def test_swap_format_detects_the_source_format(name, data, fmt):
    assert format_of(f"s3://b/{name}", data) == fmt


def test_truncate_keeps_the_first_bytes(orders, journal):
    ctx = ctx_for(journal)
    TruncateFile(path=str(orders), keep_fraction=0.25).apply(None, ctx)
    assert orders.read_bytes() == CSV[: len(CSV) // 4]
    assert ctx.changes["bytes_removed"] == len(CSV) - len(CSV) // 4


def test_corrupt_bytes_is_seeded(tmp_path, journal):
    outputs = []
    for seed in (11, 11, 12):
        path = tmp_path / f"f{len(outputs)}.bin"
        path.write_bytes(bytes(range(256)) * 4)
        ctx = ctx_for(journal, seed=seed)
        CorruptBytes(path=str(path), fraction=0.05).apply(None, ctx)
        data = path.read_bytes()
        assert sum(a != b for a, b in zip(data, bytes(range(256)) * 4, strict=True)) == ctx.changes["bytes_corrupted"]
        assert ctx.changes["bytes_corrupted"] == 52
        outputs.append(data)
    assert outputs[0] == outputs[1] != outputs[2]


def test_corrupt_bytes_respects_the_blast_radius(orders, journal):
    ctx = FaultContext(seed=1, journal=journal, max_fraction=0.1, labels={"injection_id": "i"})
    CorruptBytes(path=str(orders), fraction=1.0).apply(None, ctx)
    assert ctx.changes["bytes_corrupted"] == len(CSV) // 10


def test_missing_file_and_missing_journal_are_refused(tmp_path, orders):
    with pytest.raises(ChaosConfigError, match="does not exist"):
        EmptyFile(path=str(tmp_path / "nope.csv")).apply(None, ctx_for(Journal(tmp_path / "j")))
    with pytest.raises(ChaosInjectionError, match="journal"):
        EmptyFile(path=str(orders)).apply(None, FaultContext(seed=0))
    assert orders.read_bytes() == CSV


def test_object_store_url_is_faulted_and_restored(tmp_path):
    root = f"memory://files-{uuid.uuid4().hex}"
    target = UPath(f"{root}/data/orders.csv")
    target.write_bytes(CSV)
    journal = Journal(f"{root}/journal")
    ctx = ctx_for(journal)
    TruncateFile(path=f"{root}/data/orders.csv", keep_fraction=0.1).apply(None, ctx)
    assert len(target.read_bytes()) < len(CSV)
    journal.restore(run_id="r")
    assert target.read_bytes() == CSV


# ---------------------------------------------------------------------- hold back
def test_hold_back_until_restore(orders, journal):
    ctx = ctx_for(journal)
    with HoldBackFile(path=str(orders)).around(ctx):
        assert not orders.exists()
    assert not orders.exists()  # still held back after the task: restore brings it back
    assert ctx.changes["sha256_before"] == sha(CSV) and ctx.changes["bytes_before"] == len(CSV)
    journal.restore(dag_id="d", run_id="r")
    assert orders.read_bytes() == CSV


def test_hold_back_releases_after_n_seconds_while_the_task_runs(orders, journal):
    ctx = ctx_for(journal)
    with HoldBackFile(path=str(orders), release_after=0.3).around(ctx):
        assert not orders.exists()
        deadline = time.monotonic() + 5
        while not orders.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert orders.read_bytes() == CSV
    assert ctx.changes["released_at"] is not None
    assert journal.pending() == []


def test_release_not_yet_due_when_the_task_ends_waits_for_the_next_start(orders, journal):
    fault = HoldBackFile(path=str(orders), release_after=0.4)
    first = ctx_for(journal)
    with fault.around(first):
        pass
    assert first.changes["released_at"] is None and not orders.exists()
    time.sleep(0.5)  # the timer was cancelled: nothing comes back on its own
    assert not orders.exists()
    second = ctx_for(journal)  # e.g. the next poke of a reschedule-mode sensor, same run
    with fault.around(second):
        assert orders.read_bytes() == CSV  # already due: released at once
    assert second.changes["resumed"] is True and second.changes["journal_entry"] == first.changes["journal_entry"]
    third = ctx_for(journal)
    with fault.around(third):
        assert orders.exists()  # released earlier in this run: not held back again
    assert third.changes["already_released"] is True


def test_hold_back_is_restored_when_the_task_fails(orders, journal):
    with pytest.raises(RuntimeError), HoldBackFile(path=str(orders)).around(ctx_for(journal)):
        raise RuntimeError("input missing")
    journal.restore(run_id="r")
    assert sha(orders.read_bytes()) == sha(CSV)


def test_hold_back_of_a_missing_file_is_an_engine_error(tmp_path, journal):
    from airflow_chaos.exceptions import ChaosConfigError

    with (
        pytest.raises(ChaosConfigError, match="field 'path': .* does not exist"),
        HoldBackFile(path=str(tmp_path / "x")).around(ctx_for(journal)),
    ):
        pass


def test_hold_back_on_an_object_store_url():
    root = f"memory://hold-{uuid.uuid4().hex}"
    target = UPath(f"{root}/in/orders.csv")
    target.write_bytes(CSV)
    journal = Journal(f"{root}/journal")
    with HoldBackFile(path=str(target), release_after=0.2).around(ctx_for(journal)):
        assert not target.exists()
        deadline = time.monotonic() + 5
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert target.read_bytes() == CSV and journal.pending() == []


# ---------------------------------------------------------------------- only regular files; confinement; memory
def _mutating_faults():
    """Every fault that mutates a file (the crash test's list, which fails when a new one is missing there)."""
    from tests.unit.experiment.test_journal_crash import FILE_PARAMS, TABLE_PARAMS

    return [(k, p, "orders.csv") for k, p in FILE_PARAMS.items()] + [
        (k, p, "orders.parquet") for k, p in TABLE_PARAMS.items()
    ]


def _special_node(tmp_path, node, name):
    """A FIFO (``os.mkfifo``), a directory, or the null device (a copy of ``/dev/null``'s node when we
    may create one, so a faulty fault could never remove the real ``/dev/null``)."""
    import os
    import stat
    from pathlib import Path

    path = tmp_path / "data" / name
    path.parent.mkdir(exist_ok=True)
    if node == "fifo":
        os.mkfifo(path)
    elif node == "directory":
        path.mkdir()
    else:
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            return Path("/dev/null")
    return path


@pytest.mark.parametrize("node", ["fifo", "directory", "device"])
@pytest.mark.parametrize(("kind", "params", "name"), _mutating_faults(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_mutating_fault_refuses_a_fifo_a_directory_and_a_device(tmp_path, journal, node, kind, params, name):
    import os
    import threading

    path = _special_node(tmp_path, node, name)
    kind_before = os.stat(path).st_mode
    fault = Fault.from_dict({"kind": kind, "path": str(path), **params})
    ctx = ctx_for(journal)
    errors = []

    def inject():
        try:
            if fault.active_phase == "around":
                with fault.around(ctx):
                    pass
            else:
                fault.apply(None, ctx)
        except ChaosConfigError as exc:
            errors.append(exc)

    worker = threading.Thread(target=inject, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive() and node == "fifo":  # unblock the reader stuck in open() before failing
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    assert not worker.is_alive(), f"{kind} blocked on a {node}"
    assert len(errors) == 1 and "field 'path'" in str(errors[0]), errors
    assert os.stat(path).st_mode == kind_before and journal.entries() == []


def test_a_fault_rechecks_its_confinement_just_before_mutating(tmp_path, journal):
    """The wrapper checks a rendered path at once; the fault checks again when it acts, since a
    directory may have been swapped for a symlink while the task ran."""
    from airflow_chaos.storage import Confinement

    exports, secrets = tmp_path / "exports", tmp_path / "secrets"
    (exports / "2026-01-01").mkdir(parents=True)
    secrets.mkdir()
    (secrets / "x.csv").write_bytes(CSV)
    template = f"{exports}/{{{{ ds }}}}/x.csv"
    rendered = f"{exports}/2026-01-01/x.csv"
    Confinement(template=template).check(rendered, "f")  # fine when rendered
    (exports / "2026-01-01").rmdir()
    (exports / "2026-01-01").symlink_to(secrets)  # ... then swapped while the task ran
    for fault in (CorruptBytes(path=rendered, n_bytes=1), EmptyFile(path=rendered), HoldBackFile(path=rendered)):
        ctx = FaultContext(seed=1, journal=journal, labels={"run_id": "r"}, confinement=Confinement(template=template))
        with pytest.raises(ChaosConfigError, match=f"field 'path'.*outside {exports}/"):
            if fault.active_phase == "around":
                fault.around(ctx).__enter__()
            else:
                fault.apply(None, ctx)
    assert (secrets / "x.csv").read_bytes() == CSV and journal.entries() == []


def test_corrupt_bytes_streams_the_same_bytes_the_in_memory_algorithm_gives(tmp_path, journal):
    """Positions and masks are drawn as before (same seed, same bytes); only the copy is streamed."""
    import os

    import numpy as np

    original = os.urandom(5 * (1 << 20) + 3)
    for params in ({"n_bytes": 1}, {"n_bytes": 1000}, {"fraction": 0.01}):
        path = tmp_path / "big.bin"
        path.write_bytes(original)
        ctx = ctx_for(journal, seed=5)
        CorruptBytes(path=str(path), **params).apply(None, ctx)
        rng = np.random.default_rng(5)
        count = ctx.changes["bytes_corrupted"]
        positions = rng.choice(len(original), size=count, replace=False)
        masks = rng.integers(1, 256, size=count, dtype=np.uint8)
        expected = np.frombuffer(original, dtype=np.uint8).copy()
        expected[positions] ^= masks
        assert path.read_bytes() == expected.tobytes(), params
        assert ctx.changes["bytes_before"] == ctx.changes["bytes_after"] == len(original)
        assert ctx.changes["sha256_before"] == sha(original) != ctx.changes["sha256_after"]
        journal.restore()
        assert path.read_bytes() == original


MEMORY_PROBE = """
import json, re, sys
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.faults import CorruptBytes, FaultContext

def kib(field):
    return int(re.search(field + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1))

path, journal_root = sys.argv[1], sys.argv[2]
ctx = FaultContext(seed=7, journal=Journal(journal_root), labels={"run_id": "r"})
fault = CorruptBytes(path=path, n_bytes=1)
import numpy  # the fault's own import, loaded before the baseline
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak (VmHWM) to the current resident set
before = kib("VmRSS")
fault.apply(None, ctx)
print(json.dumps({"growth_kib": kib("VmHWM") - before, "corrupted": ctx.changes["bytes_corrupted"]}))
"""


def test_corrupt_bytes_on_a_64_mib_file_does_not_hold_it_in_memory(tmp_path):
    """Peak RSS growth of CorruptBytes(n_bytes=1) on 64 MiB stays under 32 MiB (it held the file three times).

    A fresh interpreter whose peak resident set (VmHWM) is reset just before the fault, so the peak
    is the fault's own (Linux ``/proc``). bench/file_faults.py measures 500 MiB."""
    import os
    import subprocess
    import sys

    path = tmp_path / "big.bin"
    with path.open("wb") as fh:
        for _ in range(64):
            fh.write(os.urandom(1 << 20))
    before = sha(path.read_bytes())
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(path), str(tmp_path / "journal")],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["corrupted"] == 1 and sha(path.read_bytes()) != before
    assert result["growth_kib"] / 1024 < 32, f"peak RSS grew by {result['growth_kib'] / 1024:.0f} MiB"
