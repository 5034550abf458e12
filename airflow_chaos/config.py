"""The ``[chaos]`` configuration section, read through Airflow's config.

``enabled`` is read on every armed call, so it has a fast path: the environment variable is looked
up each time (microseconds) and Airflow's config only once per distinct value of it.
"""

from __future__ import annotations

import os
from typing import Any

from airflow_chaos.experiment.safety import DEFAULT_ALLOWED_ENVIRONMENTS

SECTION = "chaos"
ENABLED_ENV = "AIRFLOW__CHAOS__ENABLED"
KILL_SWITCH_VARIABLE = "chaos_kill_switch"

_enabled_cache: dict[str | None, bool] = {}


def _conf() -> Any:
    from airflow.sdk.configuration import conf

    return conf


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on", "t", "y"}


def chaos_enabled() -> bool:
    """The master switch ``[chaos] enabled`` (env ``AIRFLOW__CHAOS__ENABLED``), default False."""
    key = os.environ.get(ENABLED_ENV)
    try:
        return _enabled_cache[key]
    except KeyError:
        value = _truthy(key) if key is not None else _truthy(_conf().get(SECTION, "enabled", fallback="False"))
        _enabled_cache[key] = value
        return value


def get(option: str, fallback: str) -> str:
    return str(_conf().get(SECTION, option, fallback=fallback))


def environment() -> str:
    return get("environment", "dev").strip()


def allowed_environments() -> tuple[str, ...]:
    raw = get("allowed_environments", ",".join(DEFAULT_ALLOWED_ENVIRONMENTS))
    return tuple(e.strip() for e in raw.split(",") if e.strip())


def max_injections_per_run() -> int:
    return int(get("max_injections_per_run", "100"))


def default_seed() -> int | None:
    """``[chaos] seed``: the experiment seed of wrappers that give none; empty means per-run seeds."""
    raw = get("seed", "").strip()
    return int(raw) if raw else None


def journal_root() -> str:
    """``[chaos] journal_path``; defaults to ``$AIRFLOW_HOME/chaos/journal``."""
    configured = get("journal_path", "").strip()
    if configured:
        return configured
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return os.path.join(home, "chaos", "journal")


def kill_switch_on() -> bool:
    """The ``chaos_kill_switch`` Variable, read at each injection point (effective on the next one).

    Fails closed: when the Variable cannot be read, the kill switch counts as on.
    """
    from airflow.sdk import Variable

    try:
        value = Variable.get(KILL_SWITCH_VARIABLE, default=None)
        if value is None:
            value = _kill_switch_from_api()
        return _truthy(value)
    except Exception:  # noqa: BLE001 - an unreachable API must not let chaos through
        return True


def _kill_switch_from_api() -> str:
    """Confirm a missing kill switch with the Execution API; raises when the API cannot answer.

    The task SDK's Execution API secrets backend reports any failure to reach the API server as
    "not found", so ``Variable.get`` alone would answer its default while the API is down. Outside a
    task (no supervisor channel) there is no API to ask: a missing Variable is off.
    """
    from airflow.sdk.exceptions import ErrorType
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import ErrorResponse, GetVariable, VariableResult

    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    if comms is None:
        return "false"
    answer = comms.send(GetVariable(key=KILL_SWITCH_VARIABLE))
    if isinstance(answer, VariableResult):
        return str(answer.value)
    if isinstance(answer, ErrorResponse) and answer.error == ErrorType.VARIABLE_NOT_FOUND:
        return "false"
    raise RuntimeError(f"the Execution API did not answer for Variable {KILL_SWITCH_VARIABLE!r}: {answer!r}")
