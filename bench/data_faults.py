"""Table faults: speed against the bare pyarrow / pandas floor (10M rows) and against badgers and jenga (1M rows).

1. Every table fault of the catalogue on a BIG-row Arrow table and on a PANDAS_ROWS-row pandas
   DataFrame, each timed against the shortest hand-written pyarrow/numpy (resp. pandas/numpy) code
   producing the same output type (same row counts, a numpy random mask where the fault draws rows),
   runs interleaved. Goal: within GOAL (1.25x) of the floor; ratios over a floor under 1 ms are fixed
   costs and not counted. Best of REPEAT runs each.
2. For 1M rows, the missing-value, out-of-range and shift faults on a pandas DataFrame (and on Arrow)
   side by side with badgers and jenga on the same frame. Goal: >= 10x faster per row than the
   faster of the two. The peers run in their own virtualenv, in a subprocess, so they are never
   dependencies of this project:

       uv venv /tmp/peers && uv pip install --python /tmp/peers/bin/python badgers jenga numpy pandas "setuptools<81"

   (jenga imports ``pkg_resources``, hence setuptools; add ``"pandas==2.3.3"`` to compare on the
   pandas this project locks). Set PEERS_PYTHON to use another interpreter.

Run: ``.venv/bin/python bench/data_faults.py``. Not part of the test suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from airflow_chaos import faults
from airflow_chaos.faults import Fault, FaultContext

BIG = 10_000_000
PANDAS_ROWS = 2_000_000
GOAL = 1.25
SMALL = 1_000_000
REPEAT = 5
PEER_REPEAT = 15
FRACTION = 0.2
PEERS_PYTHON = os.environ.get("PEERS_PYTHON", "/tmp/peers/bin/python")


def best_of(work: Callable[[], Any], repeat: int = REPEAT) -> float:
    """Best wall time of ``repeat`` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def big_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(0)
    regions = pa.array(["eu", "us", "apac", "latam"])
    return pa.table(
        {
            "x": rng.normal(10.0, 2.0, rows),
            "f": rng.normal(0.0, 1.0, rows),
            "i": np.arange(rows, dtype=np.int64),
            "s": regions.take(pa.array(rng.integers(0, 4, rows))),
            "t": pa.array(np.arange(rows, dtype=np.int64) * 1_000_000_000, pa.timestamp("ns", tz="UTC")),
        }
    )


def apply(fault: Fault, table: Any, seed: int = 1) -> Any:
    return fault.apply(table, FaultContext(seed=seed))


# ---------------------------------------------------------------------- the floors: bare pyarrow / numpy
def np_mask(rows: int, fraction: float = FRACTION) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.random.default_rng(1).random(rows) < fraction


def mask(rows: int, fraction: float = FRACTION) -> pa.Array:
    return pa.array(np_mask(rows, fraction))


def floor_nulls(t: pa.Table) -> Any:
    return t.set_column(2, "i", pc.if_else(mask(t.num_rows), pa.scalar(None, pa.int64()), t.column("i")))


def floor_mnar(t: pa.Table) -> Any:
    order = pc.sort_indices(t.column("f")).to_numpy()
    k = int(FRACTION * t.num_rows)
    m = np.zeros(t.num_rows, dtype=bool)
    m[order[1000 : 1000 + k]] = True
    return t.set_column(1, "f", pc.if_else(pa.array(m), pa.scalar(None, pa.float64()), t.column("f")))


def floor_scale(t: pa.Table) -> Any:
    x = t.column("x")
    return t.set_column(0, "x", pc.if_else(mask(t.num_rows, 0.1), pc.multiply(x, 1000.0), x))


def floor_typos(t: pa.Table) -> Any:
    s = t.column("s")
    pc.unique(s)  # the set of seen categories: needed to promise the typos are unseen
    return t.set_column(3, "s", pc.if_else(mask(t.num_rows), pc.utf8_swapcase(s), s))


def floor_shift(t: pa.Table) -> Any:
    x = t.column("x")
    return t.set_column(0, "x", pc.add(x, pc.multiply(pc.stddev(x), 2.0)))


def floor_swap(t: pa.Table) -> Any:
    return t.set_column(0, "x", t.column("f")).set_column(1, "f", t.column("x"))


def floor_duplicate(t: pa.Table) -> Any:
    idx = np.flatnonzero(np_mask(t.num_rows, 0.1))
    return pa.concat_tables([t, t.take(idx)])


def floor_out_of_order(t: pa.Table) -> Any:
    rng = np.random.default_rng(1)
    positions = np.flatnonzero(rng.random(t.num_rows) < FRACTION)
    sources = rng.permutation(positions)
    m = np.zeros(t.num_rows, dtype=bool)
    m[positions] = True
    col = t.column("t")
    return t.set_column(4, "t", pc.replace_with_mask(col, pa.array(m), col.take(sources).combine_chunks()))


def floor_backdate(t: pa.Table) -> Any:
    return t.set_column(4, "t", pc.subtract(t.column("t"), pa.scalar(172800 * 10**9, pa.duration("ns"))))


def floor_flip(t: pa.Table) -> Any:
    # every row's class index, then the masked rows move to another class (a random non-zero offset)
    s = t.column("s")
    classes = pc.unique(s)
    index = pc.index_in(s, value_set=classes).to_numpy()
    m = np_mask(t.num_rows)
    offset = np.random.default_rng(1).integers(1, len(classes), t.num_rows)
    return t.set_column(3, "s", classes.take(np.where(m, (index + offset) % len(classes), index)))


# ---------------------------------------------------------------------- the floors: bare pandas / numpy
def pd_nulls(p: pd.DataFrame) -> Any:
    return p.assign(i=pd.arrays.IntegerArray(p["i"].to_numpy(), np_mask(len(p))))


def pd_mnar(p: pd.DataFrame) -> Any:
    order = np.argsort(p["f"].to_numpy())
    k = int(FRACTION * len(p))
    m = np.zeros(len(p), dtype=bool)
    m[order[1000 : 1000 + k]] = True
    return p.assign(f=np.where(m, np.nan, p["f"].to_numpy()))


def pd_scale(p: pd.DataFrame) -> Any:
    x = p["x"].to_numpy()
    return p.assign(x=np.where(np_mask(len(p), 0.1), x * 1000.0, x))


def pd_typos(p: pd.DataFrame) -> Any:
    s = p["s"]
    s.unique()  # the set of seen categories: needed to promise the typos are unseen
    m = np_mask(len(p))
    new = s.to_numpy(copy=True)
    new[m] = s[m].str.swapcase().to_numpy()
    return p.assign(s=new)


def pd_out_of_order(p: pd.DataFrame) -> Any:
    rng = np.random.default_rng(1)
    positions = np.flatnonzero(rng.random(len(p)) < FRACTION)
    sources = rng.permutation(positions)
    t = p["t"].array.copy()
    t[positions] = t[sources]
    return p.assign(t=t)


def pd_flip(p: pd.DataFrame) -> Any:
    s = p["s"]
    classes = s.unique()
    m = np_mask(len(p))
    picked = pd.Index(classes).get_indexer(s.to_numpy()[m])
    offset = np.random.default_rng(1).integers(1, len(classes), len(picked))
    new = s.to_numpy(copy=True)
    new[m] = classes[(picked + offset) % len(classes)]
    return p.assign(s=new)


Floor = Callable[[Any], Any]
CASES: list[tuple[Fault, Floor, Floor]] = [
    (faults.DropColumn(column="x"), lambda t: t.drop_columns(["x"]), lambda p: p.drop(columns=["x"])),
    (
        faults.RenameColumn(column="x", to="price"),
        lambda t: t.rename_columns(["price", "f", "i", "s", "t"]),
        lambda p: p.rename(columns={"x": "price"}),
    ),
    (
        faults.CastColumn(column="i", to_type="float64"),
        lambda t: t.set_column(2, "i", pc.cast(t.column("i"), pa.float64())),
        lambda p: p.assign(i=p["i"].astype("float64")),
    ),
    (
        faults.AddColumn(column="extra", value=1),
        lambda t: t.append_column("extra", pa.repeat(pa.scalar(1), t.num_rows)),
        lambda p: p.assign(extra=1),
    ),
    (
        faults.ReorderColumns(order=["t", "s", "i", "f", "x"]),
        lambda t: t.select(["t", "s", "i", "f", "x"]),
        lambda p: p[["t", "s", "i", "f", "x"]],
    ),
    (faults.InjectNulls(column="i", fraction=FRACTION), floor_nulls, pd_nulls),
    (faults.InjectNulls(column="f", fraction=FRACTION, mechanism="MNAR"), floor_mnar, pd_mnar),
    (faults.OutOfRange(column="x", fraction=0.1, scale=1000), floor_scale, pd_scale),
    (faults.CorruptCategories(column="s", fraction=FRACTION), floor_typos, pd_typos),
    (
        faults.ShiftDistribution(column="x", mean_shift=2.0),
        floor_shift,
        lambda p: p.assign(x=p["x"] + 2.0 * p["x"].std(ddof=0)),
    ),
    (faults.SwapColumns(a="x", b="f"), floor_swap, lambda p: p.assign(x=p["f"], f=p["x"])),
    (
        faults.TruncateRows(keep_fraction=0.8),
        lambda t: t.slice(0, int(0.8 * t.num_rows)),
        lambda p: p.head(int(0.8 * len(p))),
    ),
    (
        faults.DropPartition(column="s", value="us"),
        lambda t: t.filter(pc.not_equal(t.column("s"), "us")),
        lambda p: p[p["s"] != "us"],
    ),
    (
        faults.DuplicateRows(fraction=0.1),
        floor_duplicate,
        lambda p: pd.concat([p, p.take(np.flatnonzero(np_mask(len(p), 0.1)))]),
    ),
    (
        faults.ShuffleRows(),
        lambda t: t.take(np.random.default_rng(1).permutation(t.num_rows)),
        lambda p: p.take(np.random.default_rng(1).permutation(len(p))),
    ),
    (
        faults.BackdateTimestamps(column="t", by="2d"),
        floor_backdate,
        lambda p: p.assign(t=p["t"] - pd.Timedelta(days=2)),
    ),
    (faults.OutOfOrderTimestamps(column="t", fraction=FRACTION), floor_out_of_order, pd_out_of_order),
    (faults.FlipLabels(column="s", fraction=FRACTION), floor_flip, pd_flip),
]


def interleaved(ours: Callable[[], Any], floor: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, float]:
    """Best times of ``ours`` and ``floor``, runs alternating so background load hits both alike."""
    best_ours = best_floor = float("inf")
    for _ in range(repeat):
        best_ours = min(best_ours, best_of(ours, 1))
        best_floor = min(best_floor, best_of(floor, 1))
    return best_ours, best_floor


def against_floor(table: Any, backend: str, floor_of: Callable[[tuple[Fault, Floor, Floor]], Floor]) -> float:
    """Print every fault on ``table`` against its bare floor; return the worst counted ratio."""
    rows = table.num_rows if backend == "Arrow" else len(table)
    print(
        f"\n== table faults on a {rows:,}-row {backend} table: ours vs the bare {backend}/numpy floor (goal <= {GOAL}x)"
    )
    print(f"{'fault':<58}{'ours ms':>10}{'floor ms':>10}{'ratio':>8}")
    worst = 0.0
    for case in CASES:
        fault, floor = case[0], floor_of(case)
        ours, bare = interleaved(lambda f=fault: apply(f, table), lambda fl=floor: fl(table))
        ratio = ours / bare
        # sub-millisecond metadata-only work is dominated by fixed costs; the goal is for real work
        counted = bare >= 0.001
        worst = max(worst, ratio if counted else 0.0)
        note = " (sub-ms floor, fixed cost: not counted)" if not counted else "  OVER" if ratio > GOAL else ""
        print(f"{fault.describe():<58}{ours * 1e3:>10.2f}{bare * 1e3:>10.2f}{ratio:>7.2f}x{note}")
    print(f"worst {backend} ratio on faults whose floor does >= 1 ms of work: {worst:.2f}x")
    return worst


def against_floors() -> None:
    table = big_table(BIG)
    arrow = against_floor(table, "Arrow", lambda case: case[1])
    frame = big_table(PANDAS_ROWS).to_pandas()
    del table
    frame_worst = against_floor(frame, "pandas", lambda case: case[2])
    print(f"\nworst ratios: Arrow {arrow:.2f}x ({BIG:,} rows), pandas {frame_worst:.2f}x ({PANDAS_ROWS:,} rows)")


# ---------------------------------------------------------------------- peers
PEER_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
rows, fraction, repeat = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
frame = pd.DataFrame({"x": np.random.default_rng(0).normal(10.0, 2.0, rows)})

def best(work):
    out = float("inf")
    for _ in range(repeat):
        data = frame.copy()  # badgers writes into its input: give each run a fresh frame, untimed
        start = time.perf_counter(); work(data); out = min(out, time.perf_counter() - start)
    return out

result = {"pandas": pd.__version__, "numpy": np.__version__}
try:
    from numpy.random import default_rng
    from badgers.generators.tabular_data.missingness import MissingCompletelyAtRandom
    from badgers.generators.tabular_data.drift import FixedShiftGenerator
    from badgers.generators.tabular_data.outliers.distribution_sampling import ZScoreSamplingGenerator
    result["badgers"] = {
        "nulls": best(lambda d: MissingCompletelyAtRandom(default_rng(1)).generate(d, None, percentage_missing=fraction)),
        "out_of_range": best(lambda d: ZScoreSamplingGenerator(default_rng(1)).generate(d, None, n_outliers=int(rows * fraction / 2))),
        "shift": best(lambda d: FixedShiftGenerator().generate(d, None, shift_std=2.0)),
    }
except Exception as exc:
    result["badgers_error"] = repr(exc)
try:
    import jenga  # noqa: F401
    from jenga.corruptions.generic import MissingValues
    from jenga.corruptions.numerical import Scaling
    np.random.seed(1)
    result["jenga"] = {
        "nulls": best(lambda d: MissingValues(column="x", fraction=fraction, missingness="MCAR").transform(d)),
        "out_of_range": best(lambda d: Scaling(column="x", fraction=fraction / 2).transform(d)),
    }
except Exception as exc:
    result["jenga_error"] = repr(exc)
print(json.dumps(result))
"""

PEER_CASES: list[tuple[str, Fault]] = [
    ("nulls", faults.InjectNulls(column="x", fraction=FRACTION)),
    ("out_of_range", faults.OutOfRange(column="x", fraction=FRACTION / 2, scale=1000)),
    ("shift", faults.ShiftDistribution(column="x", mean_shift=2.0)),
]


def peer_timings() -> dict[str, Any] | None:
    if not os.path.exists(PEERS_PYTHON):
        return None
    done = subprocess.run(
        [PEERS_PYTHON, "-c", PEER_SCRIPT, str(SMALL), str(FRACTION), str(PEER_REPEAT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        print(f"peer run failed: {done.stderr.strip()[-500:]}")
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def against_peers() -> None:
    frame = pd.DataFrame({"x": np.random.default_rng(0).normal(10.0, 2.0, SMALL)})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    print(f"\n== {SMALL:,} rows, one float column: ours vs badgers and jenga (goal >= 10x faster per row)")
    peers = peer_timings()
    if peers is None:
        print(
            f"peer comparison skipped: no interpreter at {PEERS_PYTHON}. Enable it with\n"
            "  uv venv /tmp/peers && uv pip install --python /tmp/peers/bin/python "
            'badgers jenga numpy pandas "setuptools<81"\n'
            "or point PEERS_PYTHON at a Python that has badgers and jenga."
        )
    if peers:
        print(f"peers ran on pandas {peers.get('pandas')}, numpy {peers.get('numpy')}; ours on pandas {pd.__version__}")
    for name in ("badgers", "jenga"):
        if peers and f"{name}_error" in peers:
            print(f"{name} could not run: {peers[name + '_error']}")
    header = f"{'fault':<18}{'ours pandas ns/row':>20}{'ours arrow ns/row':>19}{'badgers ns/row':>16}{'jenga ns/row':>14}{'speed-up':>10}"
    print(header)
    for key, fault in PEER_CASES:
        ours_pd = best_of(lambda f=fault: apply(f, frame), PEER_REPEAT) / SMALL * 1e9
        ours_pa = best_of(lambda f=fault: apply(f, table), PEER_REPEAT) / SMALL * 1e9
        theirs = [peers.get(p, {}).get(key) for p in ("badgers", "jenga")] if peers else [None, None]
        per_row = [t / SMALL * 1e9 if t is not None else None for t in theirs]
        known = [t for t in per_row if t is not None]
        speedup = f"{min(known) / ours_pd:>9.1f}x" if known else f"{'n/a':>10}"
        cells = "".join(f"{t:>16.1f}" if t is not None else f"{'n/a':>16}" for t in per_row[:1])
        cells += f"{per_row[1]:>14.1f}" if per_row[1] is not None else f"{'n/a':>14}"
        print(f"{key:<18}{ours_pd:>20.1f}{ours_pa:>19.1f}{cells}{speedup}")
    print(
        "speed-up: the faster peer's time over ours on the same pandas frame. Peers' equivalents: "
        "nulls = badgers MissingCompletelyAtRandom / jenga MissingValues(MCAR); out_of_range = badgers "
        "ZScoreSamplingGenerator (appends outliers) / jenga Scaling; shift = badgers FixedShiftGenerator "
        "(jenga has no numeric shift)."
    )


def main() -> None:
    against_floors()
    against_peers()


if __name__ == "__main__":
    main()
