"""A deployment's own ``airflow_local_settings.task_policy`` and the plan policy both run.

Airflow loads entry-point policies first and ``airflow_local_settings`` after (pluggy calls the last
registered first): for ``task_policy``, which returns nothing, both are called. Checked in a fresh
interpreter, where Airflow loads both itself.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

LOCAL_SETTINGS = '''
def task_policy(task):
    task.owner = "local-settings:" + getattr(task, "_chaos_arm", None).__class__.__name__
'''

DAG = '''
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("local_settings_dag", schedule=None, start_date=datetime(2026, 1, 1)):
    BashOperator(task_id="work", bash_command="echo 1")
'''

PLAN = """\
version: 1
experiments:
  - name: e
    select: {dag_id: local_settings_dag}
    faults: [{kind: delay, seconds: 1}]
"""

PROBE = """
from airflow.dag_processing.dagbag import DagBag
task = DagBag(dag_folder={dags!r}).dags["local_settings_dag"].get_task("work")
print("OWNER", task.owner)
print("SOURCES", task._chaos_arm.sources)
"""


def test_a_local_settings_task_policy_and_the_plan_policy_both_run(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "airflow_local_settings.py").write_text(LOCAL_SETTINGS)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "d.py").write_text(DAG)
    (tmp_path / "plan.yaml").write_text(PLAN)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),  # Airflow puts $AIRFLOW_HOME/config on sys.path for local settings
        "AIRFLOW__CHAOS__ENABLED": "true",
        "AIRFLOW__CHAOS__PLAN": str(tmp_path / "plan.yaml"),
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(dags=str(tmp_path / "dags"))],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if line.startswith(("OWNER", "SOURCES")))
    # local settings ran first (nothing armed yet when it looked), then the plan policy armed the task
    assert lines["OWNER"] == "local-settings:NoneType"
    assert lines["SOURCES"] == "('plan:plan.yaml#e',)"
