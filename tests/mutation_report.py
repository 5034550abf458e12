"""Kill rate per module after ``make mutate`` (mutmut 3), read from ``mutants/**/*.py.meta``.

Kill rate = killed / (killed + survived + timeout + suspicious). Mutants no selected test reaches
("no tests") are listed apart: they say which code the fast test selection does not exercise.
Prints one line per module and the surviving mutants' names (inspect one with ``mutmut show NAME``).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout"}
STATUS.update({-24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", 37: "caught by type check"})


def main(root: str = "mutants") -> int:
    metas = sorted(Path(root).glob("**/*.py.meta"))
    if not metas:
        print(f"no mutmut results under {root}/: run `make mutate` first", file=sys.stderr)
        return 1
    survivors: list[str] = []
    total: Counter[str] = Counter()
    print(f"{'module':<42} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} {'kill rate':>9}")
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts = Counter(STATUS.get(code, "not checked" if code is None else "suspicious") for code in codes.values())
        total.update(counts)
        tested = counts["killed"] + counts["survived"] + counts["timeout"] + counts["suspicious"]
        rate = f"{counts['killed'] / tested:.0%}" if tested else "n/a"
        module = str(meta.relative_to(root)).removesuffix(".meta")
        print(f"{module:<42} {len(codes):>7} {counts['killed']:>7} {counts['survived']:>8} {counts['no tests']:>8} {rate:>9}")
        survivors += [name for name, code in codes.items() if code == 0]
    tested = total["killed"] + total["survived"] + total["timeout"] + total["suspicious"]
    rate = f"{total['killed'] / tested:.0%}" if tested else "n/a"
    print(f"{'total':<42} {sum(total.values()):>7} {total['killed']:>7} {total['survived']:>8} {total['no tests']:>8} {rate:>9}")
    if total["not checked"]:
        print(f"{total['not checked']} mutant(s) not checked yet (run interrupted?)")
    if survivors:
        print("\nsurviving mutants (mutmut show NAME):")
        print("\n".join(f"  {name}" for name in survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
