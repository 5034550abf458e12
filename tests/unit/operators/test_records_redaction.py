"""The Airflow layer's redaction (issue #8, item 1): records, chaos log lines and the task's exception.

The wrapper runs on the fake runtime of ``tests/unit/operators/runtime.py`` (a stand-in for the task
runtime: XCom store and ids); the secrets masker is Airflow's own, fed through ``airflow.sdk.log.mask_secret``
as the runtime feeds it with connection passwords and secret Variables.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import requests
import urllib3

from airflow_chaos import config
from airflow_chaos.faults.base import Fault, FaultContext
from airflow_chaos.operators.records import RedactedLog, push_detections, redacted, redacted_text
from airflow_chaos.records import Detection
from tests.unit.operators.runtime import armed_run, context, run


def _secret(label: str) -> str:
    return f"{label}-{secrets.token_hex(6)}"


def _masked_by_airflow(value: str) -> None:
    from airflow.sdk.log import mask_secret

    mask_secret(value)


@pytest.fixture(autouse=True)
def chaos_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CHAOS__ENABLED", "true")
    monkeypatch.setattr(config, "kill_switch_on", lambda: False)


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)

    warning = info


class LeakyBefore(Fault):
    """Test-only: an engine failure whose message carries a URL with credentials and a masked value."""

    kind = "test_unit_redaction_leaky_before"
    signals = ("freshness",)
    phase = "before"
    message: str

    def before(self, ctx: FaultContext) -> None:
        raise OSError(self.message)


class Noop(Fault):
    kind = "test_unit_redaction_noop"
    signals = ("schema",)

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        return value


def test_an_engine_error_is_recorded_and_logged_without_its_secrets(capfd: pytest.CaptureFixture[str]):
    password, token, masked = _secret("pw"), _secret("tok"), _secret("conn")
    _masked_by_airflow(masked)
    fault = LeakyBefore(message=f"cannot reach https://svc:{password}@store/x?token={token} as {masked}")
    runner = armed_run(fault)
    capfd.readouterr()
    assert runner.run(lambda _: "done") == "done"
    task_log = "".join(capfd.readouterr())  # the task's logger writes to the process's output
    (record,) = runner.context["ti"].store[("produce", "chaos_injections")]
    assert record["status"] == "error"
    assert record["error"] == "OSError: cannot reach https://***@store/x?token=*** as ***"
    (line,) = [line for line in task_log.splitlines() if "failed inside the chaos engine" in line]
    assert "the task runs untouched: OSError: cannot reach https://***@store/x?token=*** as ***" in line
    assert not [s for s in (password, token, masked) if s in task_log or s in repr(record)]


def test_the_tasks_exception_propagates_redacted_with_its_chain_and_is_recorded_redacted():
    key, masked, bearer = _secret("key"), _secret("conn"), _secret("bearer")
    _masked_by_airflow(masked)
    pool = urllib3.HTTPConnectionPool("127.0.0.1", 9)
    inner = requests.ConnectionError(urllib3.exceptions.MaxRetryError(pool, f"/v1?api_key={key}", None))
    outer = RuntimeError(f"login {masked} refused; sent {{'Authorization': 'Bearer {bearer}'}}")

    def task(_: Any) -> Any:
        try:
            raise inner
        except requests.ConnectionError as exc:
            raise outer from exc

    raised, records = run(Noop(), execute=task)
    assert raised is outer and raised.__cause__ is inner  # the same exception, chain kept
    everything = f"{raised} {raised.__cause__} {raised.__cause__.args[0]} {records}"
    assert not [s for s in (key, masked, bearer) if s in everything], everything
    assert str(outer) == "login *** refused; sent {'Authorization': '***'}"
    assert "Max retries exceeded with url: /v1?api_key=***" in str(inner)
    assert records[0]["error"] == "RuntimeError: login *** refused; sent {'Authorization': '***'}"


def test_secrets_found_in_the_tasks_exception_are_taught_to_airflows_masker():
    from airflow.sdk._shared.secrets_masker import redact

    token = _secret("tok")

    def task(_: Any) -> Any:
        raise ValueError(f"GET https://api/x?access_token={token} failed")

    run(Noop(), execute=task)
    assert redact(f"later line with {token}") == "later line with ***"


def test_redacted_log_formats_then_redacts():
    masked = _secret("conn")
    _masked_by_airflow(masked)
    log = RecordingLog()
    RedactedLog(log).warning("chaos: %s at %s", masked, "http://u:p@h/?k=v")
    assert log.lines == ["chaos: *** at http://***@h/?k=***"]


def test_detections_and_any_json_pass_airflows_masker_too():
    masked = _secret("var")
    _masked_by_airflow(masked)
    ctx = context()
    detection = Detection(check="api", signals=["api"], passed=False, observed={"body": f"echo {masked}"})
    (pushed,) = push_detections(ctx, [detection])
    assert ctx["ti"].store[("produce", "chaos_detections")][0]["observed"] == {"body": "echo ***"}
    assert pushed.observed == {"body": "echo ***"} and pushed.task_id == "produce"  # what the task logs and returns
    assert redacted({"a": [f"x {masked}"], "proxy": "http://127.0.0.1:1"}) == {
        "a": ["x ***"],
        "proxy": "http://127.0.0.1:1",  # Airflow's key names are not ours: a proxy URL without userinfo stays
    }
    assert redacted_text(masked) == "***"
