"""Model-registry faults: inject and detect times per fault, and how long an outage takes to be noticed.

A real MLflow registry (SQLite, local artifacts) in a temporary directory, one registered model per
fault (two versions, the second behind ``champion``). For each fault: the time to inject it
(journal included), the time the check that catches it takes to fail, and the time to restore.
Detection runs the operators' ``execute`` on a stand-in task instance (no scheduler), so the times
are the checks' own. FlipLabels and ShiftDistribution act on tables: their detection includes
training a model (FlipLabels) or scoring a batch (the predictions check).

Then the outage: a registry that refuses connections (a closed port on 127.0.0.1), reached with
``CheckModelRegistryOperator``'s settings (0 retries, 3 s timeout) and with MLflow's defaults (7
retries, backoff factor 2, 120 s timeout), the latter measured once and capped at 300 s
(``SKIP_DEFAULTS=1`` skips it). The computed budgets (``checks.registry.retry_budget``) are printed
beside the measurements.

Run: ``.venv/bin/python bench/registry_faults.py``. Not part of the test suite.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-registry-airflow-"))
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")  # the checks' own log lines would drown the table
CAP_S = 300.0


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    try:
        out = call()
    except Exception as exc:  # a check that fails raises: that is the detection
        out = exc
    return time.perf_counter() - started, out


def fault_ctx(journal: Any) -> Any:
    from airflow_chaos.faults.base import FaultContext

    return FaultContext(seed=7, journal=journal, labels={"injection_id": uuid.uuid4().hex, "run_id": "bench", "task_id": "t", "try_number": 1})


def execute(op: Any) -> list[dict[str, Any]]:
    """Run an operator's execute on a stand-in task instance; return the detections it pushed."""
    from tests.unit.operators.runtime import FakeTaskInstance, context  # the test suite's stand-in runtime

    ctx = context(FakeTaskInstance(task_id=op.task_id))
    timed(lambda: op.execute(ctx))
    return list(ctx["ti"].store.get((op.task_id, "chaos_detections"), []))


def registry_rows(registry: Any, journal: Any) -> list[tuple[str, float, float, float, str]]:
    from airflow_chaos import faults
    from airflow_chaos.operators.registry import CheckModelQualityOperator, CheckModelRegistryOperator
    from tests.integration import mlflow_registry as reg

    uri = registry.tracking_uri
    holdout = reg.data(rows=400, seed=2)
    cases = [
        ("RepointAlias(previous)", faults.RepointAlias(model="m_repoint", tracking_uri=uri),
         CheckModelRegistryOperator(task_id="check", model="m_repoint", approval_tag="quality=passed", tracking_uri=uri)),
        ("RepointAlias(deleted)", faults.RepointAlias(model="m_deleted", to="deleted", tracking_uri=uri),
         CheckModelRegistryOperator(task_id="check", model="m_deleted", tracking_uri=uri)),
        ("StripMetadata", faults.StripMetadata(model="m_strip", tracking_uri=uri),
         CheckModelRegistryOperator(task_id="check", model="m_strip", required_tags=["quality"], require_description=True, tracking_uri=uri)),
        ("ChangeSignature", faults.ChangeSignature(model="m_signature", rename={"a": "amount"}, tracking_uri=uri),
         CheckModelRegistryOperator(task_id="check", model="m_signature", expected_signature={"a": "double", "b": "double", "c": "double"}, tracking_uri=uri)),
        ("BrokenModel(garbage)", faults.BrokenModel(model="m_broken", alias="challenger", tracking_uri=uri),
         CheckModelQualityOperator(task_id="check", model="m_broken", alias="challenger", compare_to="champion", max_drop=0.02, data=holdout, tracking_uri=uri)),
    ]
    rows = []
    for name, fault, check in cases:
        inject_s, _ = timed(lambda f=fault: f.apply(None, fault_ctx(journal)))
        detect_s, _ = timed(lambda c=check: execute(c))
        failed = [d["check"] for d in execute(check) if not d["passed"]]
        restore_s, _ = timed(journal.restore)
        rows.append((name, inject_s, detect_s, restore_s, ", ".join(failed) or "NOT DETECTED"))
    return rows


def table_rows(registry: Any) -> list[tuple[str, float, float, float, str]]:
    from airflow_chaos import faults
    from airflow_chaos.checks.models import prediction_reference
    from airflow_chaos.faults.base import FaultContext
    from airflow_chaos.operators.registry import CheckModelQualityOperator, CheckPredictionsOperator
    from tests.integration import mlflow_registry as reg

    uri = registry.tracking_uri
    rows = []
    train = reg.data(rows=200, seed=1)
    inject_s, flipped = timed(lambda: faults.FlipLabels(column="label", fraction=0.3).apply(train, FaultContext(seed=4)))
    candidate = reg.train_and_log(str(registry.root), uri, registry.experiment_id, flipped)
    gate = CheckModelQualityOperator(task_id="check", model="m_labels", model_uri=candidate, compare_to="champion", max_drop=0.02, data=reg.data(rows=400, seed=2), tracking_uri=uri)
    detect_s, _ = timed(lambda: execute(gate))
    found = execute(gate)[0]
    rows.append(("FlipLabels(0.3), 200 rows", inject_s, detect_s, 0.0, f"model_quality drop {found['observed']['drop']:.3f}" if not found["passed"] else "NOT DETECTED"))

    model = reg.train(reg.data(seed=1))
    reference = prediction_reference(model.predict(reg.data(rows=1000, seed=9)[list(reg.FEATURES)]))
    batch = reg.data(rows=300, seed=6)
    inject_s, shifted = timed(lambda: faults.ShiftDistribution(column="a", mean_shift=1.5).apply(batch, FaultContext(seed=2)))
    check = CheckPredictionsOperator(task_id="check", data=shifted, model="m_labels", alias="champion", reference=reference, target="label", tracking_uri=uri)
    detect_s, _ = timed(lambda: execute(check))
    found = execute(check)[0]
    rows.append(("ShiftDistribution (serving)", inject_s, detect_s, 0.0, f"prediction_drift psi {found['observed']['psi']:.2f}" if not found["passed"] else "NOT DETECTED"))
    return rows


def closed_port() -> tuple[socket.socket, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


def outage_with_our_settings(url: str) -> float:
    from airflow_chaos.operators.registry import CheckModelRegistryOperator

    detections = execute(CheckModelRegistryOperator(task_id="check", model="m", tracking_uri=url))
    return float(next(d for d in detections if d["check"] == "registry_availability")["observed"]["elapsed_s"])


def outage_with_mlflows_defaults(url: str) -> float | None:
    """Seconds a default MLflow client takes to fail on the dead registry; None past the cap."""
    from mlflow import MlflowClient

    for name in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"):
        os.environ.pop(name, None)
    done: list[float] = []

    def call() -> None:
        seconds, _ = timed(lambda: MlflowClient(url).get_registered_model("m"))
        done.append(seconds)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(CAP_S)
    return done[0] if done else None


def main() -> None:
    from airflow_chaos.checks.registry import retry_budget
    from airflow_chaos.experiment.journal import Journal
    from airflow_chaos.faults.registry import load_request_header_plugins
    from tests.integration import mlflow_registry as reg

    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        registry = reg.build(Path(tmp) / "mlflow")
        setup_s, _ = timed(lambda: [
            (reg.register(registry, m, reg.data(seed=11)), reg.register(registry, m, reg.data(seed=1), alias="champion"))
            for m in ("m_repoint", "m_deleted", "m_strip", "m_signature", "m_broken", "m_labels")
        ])
        registry.client().set_registered_model_alias("m_broken", "challenger", "2")
        print(f"registry: 12 versions of 6 models registered in {setup_s:.1f} s (SQLite, local artifacts)")
        load_request_header_plugins()
        journal = Journal(Path(tmp) / "journal")
        rows = registry_rows(registry, journal) + table_rows(registry)
        print(f"\n{'fault':<28} {'inject s':>9} {'detect s':>9} {'restore s':>10}  caught by")
        for name, inject_s, detect_s, restore_s, caught in rows:
            print(f"{name:<28} {inject_s:>9.3f} {detect_s:>9.3f} {restore_s:>10.3f}  {caught}")

        sock, url = closed_port()
        try:
            ours = outage_with_our_settings(url)
            print("\noutage (connections refused), time to detect:")
            print(f"  CheckModelRegistryOperator (0 retries, 3 s timeout): {ours:.3f} s (computed budget {retry_budget({'MLFLOW_HTTP_REQUEST_MAX_RETRIES': '0', 'MLFLOW_HTTP_REQUEST_TIMEOUT': '3'})['refused_s']} s)")
            budget = retry_budget({})
            print(f"  MLflow's defaults, computed: refused {budget['refused_s']} s, hanging server {budget['hanging_s']} s")
            if os.environ.get("SKIP_DEFAULTS"):
                print("  MLflow's defaults, measured: skipped (SKIP_DEFAULTS)")
                return
            measured = outage_with_mlflows_defaults(url)
            text = f"{measured:.1f} s" if measured is not None else f"> {CAP_S:.0f} s (capped)"
            ratio = f", {measured / max(ours, 1e-3):,.0f}x ours" if measured is not None else ""
            print(f"  MLflow's defaults, measured: {text}{ratio}")
        finally:
            sock.close()


if __name__ == "__main__":
    main()
