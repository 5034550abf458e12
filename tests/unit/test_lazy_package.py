"""The package's top level is lazy (issue #15): provider discovery imports ``airflow_chaos`` in every Airflow
process, so importing it builds no pydantic fault model and loads nothing but two tiny modules; ``chaos``,
``faults`` and every fault class load on first use, and the fault registry still sees every kind.

Each check runs in a fresh interpreter: what a process has imported is the thing under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (from the repo root) and return its stdout."""
    done = subprocess.run([sys.executable, "-c", code], check=True, cwd=str(ROOT), capture_output=True, text=True)
    return done.stdout


def test_importing_the_package_builds_no_fault_model_and_loads_next_to_nothing():
    out = fresh(
        "import sys, time, json\n"
        "before = set(sys.modules)\n"
        "cpu = time.process_time()\n"
        "import airflow_chaos\n"
        "cpu = time.process_time() - cpu\n"
        "print(json.dumps({'new': sorted(set(sys.modules) - before), 'cpu': cpu}))\n"
    )
    found = json.loads(out)
    assert found["new"] == ["__future__", "airflow_chaos", "airflow_chaos.exceptions", "airflow_chaos.lazy"]
    assert found["cpu"] < 0.025  # about 2 ms compiled; it was 350 ms of pydantic models (a loose regression guard)


def test_provider_discovery_builds_no_fault_model():
    out = fresh(
        "import sys\n"
        "from airflow_chaos.get_provider_info import get_provider_info\n"
        "info = get_provider_info()\n"
        "print(info['package-name'], 'pydantic' in sys.modules, 'airflow_chaos.faults.base' in sys.modules)\n"
    )
    assert out.split() == ["airflow-chaos", "False", "False"]


def test_the_public_names_still_work_and_load_on_first_use():
    out = fresh(
        "import sys\n"
        "from airflow_chaos import faults\n"
        "assert 'airflow_chaos.faults.data' not in sys.modules and 'pydantic' not in sys.modules\n"
        "fault = faults.DropColumn(column='price')\n"
        "assert 'airflow_chaos.faults.data' in sys.modules and 'airflow_chaos.faults.http' not in sys.modules\n"
        "from airflow_chaos import chaos, ChaosConfigError\n"
        "from airflow_chaos.faults import *  # noqa: F403\n"
        "import airflow_chaos.faults as catalogue\n"
        "assert catalogue.data.DropColumn is faults.DropColumn and HttpError is faults.HttpError  # noqa: F405\n"
        "print(fault.to_dict(), callable(chaos), issubclass(ChaosConfigError, ValueError))\n"
    )
    assert out.strip() == "{'kind': 'drop_column', 'path': None, 'column': 'price'} True True"


def test_unknown_names_are_attribute_errors():
    out = fresh(
        "import airflow_chaos, airflow_chaos.faults as f\n"
        "for owner, name in ((airflow_chaos, 'nothing'), (f, 'NoSuchFault'), (f, 'no_such_module')):\n"
        "    try:\n"
        "        getattr(owner, name)\n"
        "    except AttributeError as exc:\n"
        "        print(exc)\n"
    )
    assert out.splitlines() == [
        "module 'airflow_chaos' has no attribute 'nothing'",
        "module 'airflow_chaos.faults' has no attribute 'NoSuchFault'",
        "module 'airflow_chaos.faults' has no attribute 'no_such_module'",
    ]


def test_the_registry_sees_every_kind_when_first_asked():
    every = fresh("import airflow_chaos.faults as f\nf.import_fault_modules()\nprint(len(f.Fault._registry))\n")
    out = fresh(
        "from airflow_chaos.faults.base import Fault\n"  # only the base: no fault module imported yet
        "kinds = Fault.kinds()\n"
        "fault = Fault.from_dict({'kind': 'http_error', 'status': 503})\n"
        "print(len(kinds), type(fault).__name__, 'stale_features' in kinds, 'registry_outage' in kinds)\n"
    )
    assert int(every) >= 40
    assert out.split() == [every.strip(), "HttpError", "True", "True"]
