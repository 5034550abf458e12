"""``[chaos]`` config and the kill switch, which must fail closed (DESIGN §5.2).

The kill switch is the Variable ``chaos_kill_switch``, read through the task SDK at each injection
point. When the Variable cannot be read, chaos must stay off: a kill switch nobody can confirm is
off is treated as on.

What is simulated here, and why: a real unreachable API server needs a task process under a real
supervisor (the supervisor catches the ``httpx.ConnectError`` and answers the task with an
``ErrorResponse(API_SERVER_ERROR)`` frame, which the task's comms channel raises as
``AirflowRuntimeError``). Unit tests run without a supervisor, so the tests below install a
stand-in for ``task_runner.SUPERVISOR_COMMS`` whose ``send`` raises exactly that, and let the real
task SDK code (``Variable.get``, the secrets-backend chain, ``ExecutionAPISecretsBackend``) run on
top of it. The SDK's Execution API backend swallows that error and reports the Variable as not
found, so ``Variable.get(default=...)`` alone would answer the default: the kill switch must not
trust a miss it cannot confirm. tests/integration/test_kill_switch_unreachable.py does the same
through ``dag.test``'s in-process supervisor, with the API client's request failing instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_chaos import config


def _api_down_error() -> Exception:
    """What the task's comms channel raises when the supervisor could not reach the API server."""
    from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
    from airflow.sdk.execution_time.comms import ErrorResponse

    return AirflowRuntimeError(
        ErrorResponse(
            error=ErrorType.API_SERVER_ERROR,
            detail={"status_code": None, "message": "[Errno 111] Connection refused", "exception_type": "ConnectError"},
        )
    )


class Comms:
    """Stands in for ``SUPERVISOR_COMMS``: answers each request with ``answer`` (raised when an exception)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.sent: list[Any] = []

    def send(self, msg: Any) -> Any:
        self.sent.append(msg)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


@pytest.fixture
def comms(monkeypatch):
    from airflow.sdk.execution_time import task_runner

    def install(answer: Any) -> Comms:
        fake = Comms(answer)
        monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", fake, raising=False)
        return fake

    monkeypatch.delenv("AIRFLOW_VAR_CHAOS_KILL_SWITCH", raising=False)
    return install


def _variable(value: str) -> Any:
    from airflow.sdk.execution_time.comms import VariableResult

    return VariableResult(key=config.KILL_SWITCH_VARIABLE, value=value)


def _not_found() -> Any:
    from airflow.sdk.exceptions import ErrorType
    from airflow.sdk.execution_time.comms import ErrorResponse

    return ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"key": config.KILL_SWITCH_VARIABLE})


def test_unreachable_api_server_keeps_chaos_off(comms):
    channel = comms(_api_down_error())
    assert config.kill_switch_on() is True
    assert channel.sent, "the Variable was never asked for"


def test_variable_get_raising_keeps_chaos_off(monkeypatch):
    from airflow.sdk import Variable

    def unreachable(*_: Any, **__: Any) -> Any:
        raise _api_down_error()

    monkeypatch.setattr(Variable, "get", unreachable)
    assert config.kill_switch_on() is True


def test_a_variable_the_api_says_is_absent_leaves_chaos_on(comms):
    comms(_not_found())
    assert config.kill_switch_on() is False


@pytest.mark.parametrize(("value", "on"), [("true", True), ("True", True), ("1", True), ("false", False), ("0", False)])
def test_the_variable_value_decides(comms, value, on):
    comms(_variable(value))
    assert config.kill_switch_on() is on


def test_an_environment_variable_kill_switch_needs_no_api(comms, monkeypatch):
    channel = comms(_api_down_error())
    monkeypatch.setenv("AIRFLOW_VAR_CHAOS_KILL_SWITCH", "true")
    assert config.kill_switch_on() is True
    monkeypatch.setenv("AIRFLOW_VAR_CHAOS_KILL_SWITCH", "false")
    assert config.kill_switch_on() is False
    asked = [m for m in channel.sent if type(m).__name__ == "GetVariable"]
    assert asked == [], "a value found in the environment must not wait on the API"


def test_outside_a_task_a_missing_variable_is_off(monkeypatch):
    from airflow.sdk.execution_time import task_runner

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", None, raising=False)
    monkeypatch.delenv("AIRFLOW_VAR_CHAOS_KILL_SWITCH", raising=False)
    assert config.kill_switch_on() is False


# ---------------------------------------------------------------------- the rest of [chaos]
def test_master_switch_reads_the_environment_each_call(monkeypatch):
    monkeypatch.setenv(config.ENABLED_ENV, "true")
    assert config.chaos_enabled() is True
    monkeypatch.setenv(config.ENABLED_ENV, "off")
    assert config.chaos_enabled() is False


def test_allowed_environments_and_limits(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__ALLOWED_ENVIRONMENTS", " dev , qa,,")
    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "3")
    monkeypatch.setenv("AIRFLOW__CHAOS__SEED", " 42 ")
    assert config.allowed_environments() == ("dev", "qa")
    assert config.max_injections_per_run() == 3
    assert config.default_seed() == 42
    monkeypatch.setenv("AIRFLOW__CHAOS__SEED", "")
    assert config.default_seed() is None


# ---------------------------------------------------------------------- issue #8 item 3: settings read and validated once
def test_settings_are_read_once_into_one_validated_model(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__ENVIRONMENT", " staging ")
    monkeypatch.setenv("AIRFLOW__CHAOS__ALLOWED_ENVIRONMENTS", "staging, qa")
    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", " 5 ")
    monkeypatch.setenv("AIRFLOW__CHAOS__SEED", "-3")
    monkeypatch.setenv("AIRFLOW__CHAOS__JOURNAL_PATH", "/srv/chaos/journal")
    monkeypatch.setenv("AIRFLOW__CHAOS__ALLOWED_PATHS", "/data/lake, s3://bucket/staging ,,")
    settings = config.read_settings()
    assert settings == config.ChaosSettings(
        environment="staging",
        allowed_environments=("staging", "qa"),
        max_injections_per_run=5,
        seed=-3,
        journal_path="/srv/chaos/journal",
        allowed_paths=("/data/lake", "s3://bucket/staging"),
    )
    assert settings.environment_allowed and settings.journal_root == "/srv/chaos/journal"
    assert config.allowed_paths() == ("/data/lake", "s3://bucket/staging")


def test_settings_defaults(monkeypatch):
    for name in ("ENVIRONMENT", "ALLOWED_ENVIRONMENTS", "MAX_INJECTIONS_PER_RUN", "SEED", "ALLOWED_PATHS"):
        monkeypatch.delenv(f"AIRFLOW__CHAOS__{name}", raising=False)
    settings = config.read_settings()
    assert (settings.environment, settings.allowed_environments) == ("dev", ("dev", "test", "staging"))
    assert (settings.max_injections_per_run, settings.seed, settings.allowed_paths) == (100, None, ())


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MAX_INJECTIONS_PER_RUN", "ten", "[chaos] max_injections_per_run: invalid integer 'ten'"),
        ("MAX_INJECTIONS_PER_RUN", "1.5", "[chaos] max_injections_per_run: invalid integer '1.5'"),
        ("MAX_INJECTIONS_PER_RUN", "-1", "[chaos] max_injections_per_run: must be >= 0, got -1"),
        ("MAX_INJECTIONS_PER_RUN", "", "[chaos] max_injections_per_run: invalid integer ''"),
        ("SEED", "abc", "[chaos] seed: invalid integer 'abc'"),
        ("SEED", "9" * 5000, "[chaos] seed: invalid integer '999"),
        ("ALLOWED_PATHS", "data/lake", "[chaos] allowed_paths: 'data/lake' is neither an absolute path nor a URL"),
    ],
)
def test_an_invalid_setting_is_a_config_error_naming_it(monkeypatch, name, value, message):
    from airflow_chaos.exceptions import ChaosConfigError

    monkeypatch.setenv(f"AIRFLOW__CHAOS__{name}", value)
    with pytest.raises(ChaosConfigError) as raised:
        config.read_settings()
    assert message in str(raised.value)
    assert len(str(raised.value)) < 400


def test_every_invalid_setting_is_named_at_once(monkeypatch):
    from airflow_chaos.exceptions import ChaosConfigError

    monkeypatch.setenv("AIRFLOW__CHAOS__MAX_INJECTIONS_PER_RUN", "ten")
    monkeypatch.setenv("AIRFLOW__CHAOS__SEED", "abc")
    with pytest.raises(ChaosConfigError, match=r"max_injections_per_run: invalid integer 'ten'.*seed: invalid integer 'abc'"):
        config.read_settings()


def test_the_environment_guard_reads_only_the_environment(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHAOS__ENVIRONMENT", "production")
    monkeypatch.setenv("AIRFLOW__CHAOS__SEED", "abc")
    guard = config.read_environment()
    assert guard.environment == "production" and not guard.environment_allowed
