"""Golden values: seeded output must not change across versions unless someone means it to (DESIGN §6).

With an explicit seed every run corrupts the same rows, so an experiment can be replayed. That
holds across releases only if the seed hash and each table fault's seeded choices stay put. Two
guards:

- the seed hash itself (``stable_seed``, ``injection_seed``, the probability gate's draw), pinned
  below as literals: changing them re-rolls every seeded experiment;
- one fixed-seed corruption per table fault, on a small deterministic Arrow table and pandas
  frame, hashed (SHA-256 of a canonical serialization) and stored in ``golden_table_faults.json``
  beside this file.

A deliberate change of seeded output regenerates the file::

    CHAOS_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/unit/faults/test_golden.py

and the diff of the JSON file goes in the same commit, with the reason in its message.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from airflow_chaos import faults
from airflow_chaos.experiment.safety import gate_draw
from airflow_chaos.faults import Fault, FaultContext
from airflow_chaos.faults.base import injection_seed, stable_seed
from airflow_chaos.faults.data import TableFault

GOLDEN = Path(__file__).with_name("golden_table_faults.json")
REGENERATE = os.environ.get("CHAOS_REGENERATE_GOLDEN") == "1"
HOW_TO_REGENERATE = (
    "Seeded output changed. If that is deliberate, regenerate with "
    "CHAOS_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/unit/faults/test_golden.py "
    "and commit the JSON diff with the reason; otherwise a change broke replay of seeded experiments."
)
SEED = 12345


# ---------------------------------------------------------------------- the seed hash
def test_stable_seed_golden_values():
    assert stable_seed() == 4090036724241674979
    assert stable_seed(7) == 6505069400919185552
    assert stable_seed(7, "dag", "task", 0) == 6113092753238295201
    assert stable_seed(12345, "gate") == 8218252980599827493
    assert stable_seed(1, "http", 1) == 8569375034254663436


def test_injection_seed_golden_values():
    assert injection_seed(7, "dag", "run_a", "task", 0) == 6113092753238295201
    assert injection_seed(7, "dag", "run_b", "task", 0) == 6113092753238295201, "an explicit seed ignores the run"
    assert injection_seed(None, "dag", "run_a", "task", 0) == 5408817651410941736
    assert injection_seed(7, "dag", "run_a", "task", 1) == 3469044023568336496
    assert injection_seed(7, "dag", "run_a", "task", 0, map_index=2) == 5222667165936821383


def test_gate_draw_golden_values():
    assert gate_draw(7) == 0.7986424443687599
    assert gate_draw(12345) == 0.8910247735601805


def test_stable_seed_is_63_bits():
    values = [stable_seed(i) for i in range(2000)]
    assert all(0 <= v < 2**63 for v in values)
    assert max(values) > 2**62, "the top bit of the 63 is used"


# ---------------------------------------------------------------------- one corruption per table fault
def base_table() -> pa.Table:
    """24 rows with every column a table fault needs; a few nulls, two partitions."""
    n = 24
    return pa.table(
        {
            "i": pa.array([(k * 37) % 101 - 50 for k in range(n)], pa.int64()),
            "x": pa.array([None if k % 7 == 3 else round(10 + ((k * 13) % 17) * 0.75, 2) for k in range(n)]),
            "s": pa.array([None if k % 9 == 5 else ["red", "green", "blue", "amber"][k % 4] for k in range(n)]),
            "t": pa.array([1_767_225_600_000_000_000 + k * 60_000_000_000 for k in range(n)], pa.timestamp("ns", "UTC")),
            "part": pa.array(["2026-01-01" if k < 10 else "2026-01-02" for k in range(n)]),
        }
    )


GOLDEN_FAULTS: dict[str, Fault] = {
    "add_column": faults.AddColumn(column="added", value=7),
    "backdate_timestamps": faults.BackdateTimestamps(column="t", by="2d"),
    "cast_column": faults.CastColumn(column="i", to_type="string"),
    "corrupt_categories": faults.CorruptCategories(column="s", fraction=0.3),
    "drop_column": faults.DropColumn(column="x"),
    "drop_partition": faults.DropPartition(column="part", value="2026-01-01"),
    "flip_labels": faults.FlipLabels(column="s", fraction=0.3),
    "duplicate_rows": faults.DuplicateRows(fraction=0.25),
    "inject_nulls": faults.InjectNulls(column="x", fraction=0.3),
    "out_of_order_timestamps": faults.OutOfOrderTimestamps(column="t", fraction=0.5),
    "out_of_range": faults.OutOfRange(column="x", fraction=0.2, scale=1000),
    "partial_output": faults.PartialOutput(fraction=0.5),
    "rename_column": faults.RenameColumn(column="s", to="segment"),
    "reorder_columns": faults.ReorderColumns(),
    "shift_distribution": faults.ShiftDistribution(column="x", mean_shift=2, std_scale=1.5),
    "shuffle_rows": faults.ShuffleRows(),
    "swap_columns": faults.SwapColumns(a="i", b="x"),
    "truncate_rows": faults.TruncateRows(keep_fraction=0.6),
}
# Extra seeded variants whose choices differ from the default ones.
GOLDEN_VARIANTS: dict[str, Fault] = {
    "inject_nulls:MNAR": faults.InjectNulls(column="i", fraction=0.25, mechanism="MNAR"),
    "inject_nulls:MAR": faults.InjectNulls(column="x", fraction=0.25, mechanism="MAR"),
    "out_of_range:value": faults.OutOfRange(column="i", fraction=0.2, value=-1),
    "corrupt_categories:values": faults.CorruptCategories(column="s", fraction=0.5, values=["??", "N/A"]),
}
# Replay: the seed an armed task's fault gets (experiment seed 7, dag "dag", task "task", fault 0),
# so the whole chain from the experiment seed to the corrupted rows is pinned.
REPLAY_SEED = injection_seed(7, "dag", "any_run", "task", 0)
GOLDEN_REPLAY: dict[str, Fault] = {
    "replay:inject_nulls": faults.InjectNulls(column="x", fraction=0.3),
    "replay:shuffle_rows": faults.ShuffleRows(),
}


def table_kinds() -> set[str]:
    """Every registered fault kind of this package that works on a table."""
    return {
        kind
        for kind, cls in Fault.kinds().items()
        if cls.__module__.startswith("airflow_chaos.") and (issubclass(cls, TableFault) or kind == "partial_output")
    }


def apply(fault: Fault, table: Any, seed: int = SEED) -> Any:
    ctx = FaultContext(seed=seed)
    if fault.phase == "instead":
        return fault.instead(lambda: table, ctx)
    return fault.apply(table, ctx)


def canonical(table: Any) -> bytes:
    """A serialization that changes only when the data, the column order or the types change."""
    if isinstance(table, pa.Table):
        doc = {
            "schema": [[f.name, str(f.type)] for f in table.schema],
            "columns": [[repr(v) for v in column.to_pylist()] for column in table.columns],
        }
        return json.dumps(doc, separators=(",", ":")).encode()
    dtypes = ",".join(f"{name}:{dtype}" for name, dtype in table.dtypes.items())
    return (dtypes + "\n" + table.to_csv(lineterminator="\n")).encode()


def checksums() -> dict[str, dict[str, str]]:
    out = {}
    cases = [(n, f, SEED) for n, f in {**GOLDEN_FAULTS, **GOLDEN_VARIANTS}.items()]
    cases += [(n, f, REPLAY_SEED) for n, f in GOLDEN_REPLAY.items()]
    for name, fault, seed in cases:
        arrow = apply(fault, base_table(), seed)
        frame = apply(fault, base_table().to_pandas(), seed)
        assert isinstance(arrow, pa.Table) and isinstance(frame, pd.DataFrame), name
        out[name] = {
            "fault": json.dumps(fault.to_dict(), sort_keys=True),
            "arrow": hashlib.sha256(canonical(arrow)).hexdigest(),
            "pandas": hashlib.sha256(canonical(frame)).hexdigest(),
        }
    return out


def test_every_table_fault_has_a_golden_corruption():
    missing = table_kinds() - set(GOLDEN_FAULTS)
    assert not missing, f"add a fixed-seed case to GOLDEN_FAULTS for {sorted(missing)}, then regenerate. {HOW_TO_REGENERATE}"
    assert set(GOLDEN_FAULTS) == table_kinds()


def test_the_base_table_is_itself_stable():
    if REGENERATE:
        pytest.skip("regenerating")
    assert hashlib.sha256(canonical(base_table())).hexdigest() == json.loads(GOLDEN.read_text())["base_table"]


def test_seeded_corruption_of_every_table_fault_matches_the_golden_checksums():
    current = checksums()
    if REGENERATE:
        doc = {
            "_about": "tests/unit/faults/test_golden.py: SHA-256 of each table fault's output at seed 12345. "
            "Regenerate only deliberately: CHAOS_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/unit/faults/test_golden.py",
            "seed": SEED,
            "base_table": hashlib.sha256(canonical(base_table())).hexdigest(),
            "faults": current,
        }
        GOLDEN.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        pytest.skip(f"regenerated {GOLDEN.name}; review and commit its diff")
    stored = json.loads(GOLDEN.read_text())
    assert stored["seed"] == SEED
    changed = {
        name: [part for part in ("arrow", "pandas") if stored["faults"].get(name, {}).get(part) != value[part]]
        for name, value in current.items()
    }
    changed = {name: parts for name, parts in changed.items() if parts}
    assert not changed, f"{changed}. {HOW_TO_REGENERATE}"
    assert set(stored["faults"]) == set(current), HOW_TO_REGENERATE


def test_the_golden_corruptions_change_the_table():
    """A golden checksum of a no-op would pin nothing: every case must change its input."""
    before = hashlib.sha256(canonical(base_table())).hexdigest()
    for name, value in checksums().items():
        assert value["arrow"] != before, f"{name} left the table as it was"
