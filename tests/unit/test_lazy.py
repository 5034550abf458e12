"""Optional dependencies (issue #8 item 12): mlflow and feast are extras, and a fault that needs a
missing one says which extra to install.

Simulated here, and why: this machine has every extra installed (``make`` installs ``--extra all``),
so a missing package is simulated the way Python itself spells it: ``sys.modules[name] = None``
makes ``import name`` raise ``ImportError`` exactly as it does where the package is absent.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import tomllib

from airflow_chaos.exceptions import ChaosError, ChaosMissingExtra
from airflow_chaos.lazy import EXTRAS, require_extra

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("module", "extra"), [("mlflow", "mlflow"), ("feast", "feast"), ("mlflow.tracking", "mlflow")])
def test_issue8_item12_a_missing_extra_names_the_pip_install(monkeypatch, module, extra):
    top = module.split(".")[0]
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")] + [top, module]:
        monkeypatch.setitem(sys.modules, name, None)  # simulated: the package is not installed (nor imported before)

    with pytest.raises(ChaosMissingExtra, match=re.escape(f"pip install 'airflow-chaos[{extra}]'")) as info:
        require_extra(module, extra, needed_by="the registry_alias fault")

    message = str(info.value)
    assert message.startswith(f"{module!r} is not installed (the registry_alias fault needs it): pip install")
    assert "'airflow-chaos[all]'" in message
    assert isinstance(info.value, ImportError) and isinstance(info.value, ChaosError)


def test_require_extra_refuses_an_extra_the_package_does_not_have():
    with pytest.raises(ValueError, match=r"unknown extra 'mlfow'; allowed: mlflow, feast, report, all"):
        require_extra("mlflow", "mlfow")


def test_issue8_item12_pyproject_declares_the_extras_and_no_runtime_mlflow_or_feast():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = [re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0].lower() for d in project["dependencies"]]
    assert "mlflow" not in runtime and "feast" not in runtime
    extras = project["optional-dependencies"]
    assert set(EXTRAS) <= set(extras)
    assert any(d.startswith("mlflow") for d in extras["mlflow"])
    assert any(d.startswith("feast") for d in extras["feast"])
    assert extras["all"] == ["airflow-chaos[mlflow,feast,report]"]
    assert any(d.startswith("matplotlib") for d in extras["report"])
    assert "--extra all --extra dev" in (ROOT / "Makefile").read_text()


@pytest.mark.integration
def test_installed_extras_import_through_require_extra():
    assert require_extra("mlflow", "mlflow").__name__ == "mlflow"
    assert require_extra("feast", "feast").__name__ == "feast"
