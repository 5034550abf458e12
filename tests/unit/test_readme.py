"""The README says what the code does (issue #8 item 11).

The README's fault catalogue omitted fields (``HttpTimeout(seconds)``, ``SwapFormat(source)``,
``CorruptCategories(values)``; ``MalformedBody(malformation)`` was written ``kind=``) and the
quickstart it showed "in full" differed from the file. The catalogue is now generated from the fault
models (``airflow-chaos faults --markdown``) and these tests fail whenever README and code disagree.
"""

from __future__ import annotations

import re
from pathlib import Path

from airflow_chaos import cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"


def _between_markers(text: str) -> str:
    assert BEGIN in text and END in text, f"README.md has no {BEGIN} ... {END} block"
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def test_issue8_item11_readme_fault_catalogue_is_generated_from_the_models(capsys):
    assert cli.main(["faults", "--markdown"]) == 0
    generated = capsys.readouterr().out.strip()

    assert _between_markers(README.read_text()) == generated, (
        "README.md's fault catalogue disagrees with the fault models: run `airflow-chaos faults --markdown` "
        f"and paste its output between {BEGIN} and {END}"
    )


def test_issue8_item11_readme_catalogue_names_the_fields_it_used_to_omit():
    block = _between_markers(README.read_text())
    for field in ("`seconds: float = 30.0`", "`source: ", "`values: list[str] \\| None = None`", "`malformation: "):
        assert field in block, field
    assert "kind=" not in block


def test_issue8_item11_readme_quickstart_in_full_is_the_file():
    text = README.read_text()
    match = re.search(r"`example_dags/quickstart\.py`, in full:\n\n```python\n(.*?)```\n", text, re.DOTALL)
    assert match, "README.md has no '`example_dags/quickstart.py`, in full:' python block"
    assert match.group(1) == (ROOT / "example_dags" / "quickstart.py").read_text(), (
        "the README's quickstart 'in full' differs from example_dags/quickstart.py: paste the file"
    )


def test_issue8_item11_readme_states_the_make_test_duration():
    match = re.search(r"`make test` takes <!-- make-test-duration -->about ([\d.]+) minutes \(([\d,]+) tests in (\d+) s", README.read_text())
    assert match, "README.md: state make test's measured duration after the make-test-duration marker"
    minutes, seconds = float(match.group(1)), int(match.group(3))
    assert abs(minutes * 60 - seconds) <= 30, "the minutes and the seconds stated disagree"
