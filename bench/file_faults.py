"""File faults: peak memory of ``CorruptBytes(n_bytes=1)`` on a large file, against the file's size.

A fault that flips one byte must not hold the file in memory: the floor is a few MiB (chunked reads
and writes), independent of the file's size. The fault runs in a fresh interpreter on a file of
SIZE_MIB (default 500) random bytes, through a real journal on the same disk, and reports the growth
of its peak resident set over its resident set just before the fault (Linux: the peak, ``VmHWM``,
is reset through ``/proc/self/clear_refs``, so import-time peaks do not hide the fault's), as MiB and
as a ratio to the file's size. Wall time is compared with a floor measured in the same run: the I/O
a journaled, atomic rewrite cannot avoid, two streamed copies of the file (1 MiB chunks, fsync):
one to the backup, one to the temporary file renamed over the target. The fault adds two SHA-256
passes and the patch. Goal: growth under 32 MiB (ratio under 0.07 at 500 MiB); time within 2x the floor.

Run: ``.venv/bin/python bench/file_faults.py`` (``SIZE_MIB=64`` for a quick run). Not part of the test suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE_MIB = int(os.environ.get("SIZE_MIB", "500"))
MIB = 1 << 20

CHILD = """
import json, re, sys, time
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.faults import CorruptBytes, FaultContext

def kib(field):
    return int(re.search(field + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1))

path, journal_root = sys.argv[1], sys.argv[2]
ctx = FaultContext(seed=7, journal=Journal(journal_root), labels={"dag_id": "bench", "run_id": "r"})
fault = CorruptBytes(path=path, n_bytes=1)
import numpy  # the fault's own import, loaded before the baseline
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak resident set (VmHWM) to the current one
before = kib("VmRSS")
start = time.perf_counter()
fault.apply(None, ctx)
seconds = time.perf_counter() - start
print(json.dumps({"growth_kib": kib("VmHWM") - before, "seconds": seconds, "changes": ctx.changes}))
"""


def make_file(path: Path, size_mib: int) -> None:
    with path.open("wb") as fh:
        for _ in range(size_mib):
            fh.write(os.urandom(MIB))


def measure(path: Path, journal_root: Path) -> dict[str, object]:
    """Run the fault in a fresh interpreter; sizes come back in KiB."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(journal_root)], check=True, capture_output=True, text=True
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def copy_floor(path: Path) -> float:
    """Seconds for two streamed copies of ``path`` (the backup and the rewritten file), each fsync'ed."""
    start = time.perf_counter()
    for name in ("floor.backup", "floor.copy"):
        with path.open("rb") as src, path.with_name(name).open("wb") as out:
            shutil.copyfileobj(src, out, MIB)
            out.flush()
            os.fsync(out.fileno())
    seconds = time.perf_counter() - start
    for name in ("floor.backup", "floor.copy"):
        path.with_name(name).unlink()
    return seconds


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="chaos-bench-files-"))
    try:
        path = root / "big.bin"
        make_file(path, SIZE_MIB)
        floor = copy_floor(path)
        result = measure(path, root / "journal")
        growth_mib = float(result["growth_kib"]) / 1024  # type: ignore[arg-type]
        seconds = float(result["seconds"])  # type: ignore[arg-type]
        changes = result["changes"]
        assert isinstance(changes, dict) and changes.get("bytes_corrupted") == 1, changes
        print(f"CorruptBytes(n_bytes=1) on a {SIZE_MIB} MiB file")
        print(f"  peak RSS growth  {growth_mib:8.1f} MiB   ratio to file size {growth_mib / SIZE_MIB:.3f}")
        print(
            f"  time             {seconds:8.2f} s     two streamed copies (floor) {floor:.2f} s, ratio {seconds / floor:.1f}x"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
