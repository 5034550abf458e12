"""Issue #8 item 8: a templated path rendered from run conf must stay under its template's fixed directory.

``/data/exports/{{ dag_run.conf['day'] }}/x.csv`` with run conf ``{"day": "../../secrets/x"}`` used to
corrupt ``/secrets/x/x.csv``. Now the rendered path must resolve (symlinks and ``..`` included) under
``/data/exports/`` and, when ``[chaos] allowed_paths`` is set, under one of its roots; otherwise the
fault is an INJECTION_ERROR naming the field and the allowed root, nothing changes on disk, and the
user's task runs untouched. Real DAG runs through ``dag.test(run_conf=...)``.
"""

from __future__ import annotations

import hashlib

import pytest

pytestmark = pytest.mark.integration

SOURCE = """
from datetime import datetime

from airflow.sdk import dag, task

from airflow_chaos import chaos, faults

EXPORTS = {exports!r}


@dag(dag_id="path_confinement", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def export():
        return "exported"

    chaos(export(), faults.CorruptBytes(path=EXPORTS + "/{{{{ dag_run.conf['day'] }}}}/x.csv", n_bytes=1), seed=3)


build()
"""

ORIGINAL = b"id,amount\n1,9.5\n2,20.0\n"


@pytest.fixture
def layout(tmp_path):
    """``data/exports/2026-01-01/x.csv``, a secret at ``secrets/x/x.csv``, ``exports/linked`` -> ``secrets/x``."""
    exports, secrets = tmp_path / "data" / "exports", tmp_path / "secrets" / "x"
    (exports / "2026-01-01").mkdir(parents=True)
    (exports / "2026-01-01" / "x.csv").write_bytes(ORIGINAL)
    secrets.mkdir(parents=True)
    (secrets / "x.csv").write_bytes(ORIGINAL)
    (exports / "linked").symlink_to(secrets)
    return tmp_path


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(dag_runner, layout, day):
    dag_file = dag_runner.write("path_confinement", SOURCE.format(exports=str(layout / "data" / "exports")))
    result = dag_runner.run(dag_file, "path_confinement", run_conf={"day": day})
    assert result.state == "success" and result.xcom("export") == "exported"  # the user's task, untouched
    (rec,) = result.xcom("export", "chaos_injections")
    return result, rec


def _nothing_journaled(result):
    from airflow_chaos import config
    from airflow_chaos.experiment.journal import Journal

    return Journal(config.journal_root()).entries(run_id=result.run_id) == []


@pytest.mark.parametrize("day", ["../../secrets/x", "linked"], ids=["dot-dot", "symlink"])
def test_run_conf_cannot_send_a_templated_path_out_of_the_data_directory(dag_runner, chaos_on, layout, day):
    secret = layout / "secrets" / "x" / "x.csv"
    before = _sha(secret)

    result, rec = _run(dag_runner, layout, day)

    assert rec["status"] == "error"
    assert "corrupt_bytes: field 'path'" in rec["error"]
    assert f"outside {layout / 'data' / 'exports'}/" in rec["error"]  # the allowed root
    assert _sha(secret) == before and _nothing_journaled(result)


def test_allowed_paths_set_and_violated_refuses_then_a_root_admits(dag_runner, chaos_on, layout, monkeypatch):
    target = layout / "data" / "exports" / "2026-01-01" / "x.csv"
    monkeypatch.setenv("AIRFLOW__CHAOS__ALLOWED_PATHS", str(layout / "elsewhere"))

    result, rec = _run(dag_runner, layout, "2026-01-01")

    assert rec["status"] == "error" and "field 'path'" in rec["error"] and "allowed_paths" in rec["error"]
    assert str(layout / "elsewhere") in rec["error"]
    assert target.read_bytes() == ORIGINAL and _nothing_journaled(result)

    monkeypatch.setenv("AIRFLOW__CHAOS__ALLOWED_PATHS", str(layout / "data"))
    result, rec = _run(dag_runner, layout, "2026-01-01")
    assert rec["status"] == "injected" and rec["changes"]["path"] == str(target)
    assert target.read_bytes() != ORIGINAL
    from airflow_chaos import config
    from airflow_chaos.experiment.journal import Journal

    Journal(config.journal_root()).restore(run_id=result.run_id)
    assert target.read_bytes() == ORIGINAL
