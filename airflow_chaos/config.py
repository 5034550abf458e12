"""The ``[chaos]`` configuration section, read through Airflow's config.

``enabled`` is read on every armed call, so it has a fast path: the environment variable is looked
up each time (microseconds) and Airflow's config only once per distinct value of it.

The other settings are read once per armed task into one validated model, :class:`ChaosSettings`,
in the order of DESIGN §5: the environment guard's two settings first (:func:`read_environment`),
then the rest (:func:`read_settings`). An invalid value is a :class:`ChaosConfigError` naming the
setting, e.g. ``[chaos] max_injections_per_run: invalid integer 'ten'``; the chaos wrapper records it
as an INJECTION_ERROR of every armed fault and runs the task untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from airflow_chaos.exceptions import ChaosConfigError
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


# ---------------------------------------------------------------------- the settings, validated
# option -> its default, as Airflow's config holds it (a string)
DEFAULTS: dict[str, str] = {
    "environment": "dev",
    "allowed_environments": ",".join(DEFAULT_ALLOWED_ENVIRONMENTS),
    "max_injections_per_run": "100",
    "seed": "",
    "journal_path": "",
    "allowed_paths": "",
    "plan": "",
}


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return value  # pydantic names the type
    if isinstance(value, int):
        return value
    try:
        return int(value.strip())
    except ValueError:  # not digits, or more digits than Python converts
        raise ValueError(f"invalid integer {_short(value)}") from None


class EnvironmentSettings(BaseModel):
    """The environment guard's settings (DESIGN §5.3), validated before any other setting."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    environment: str = DEFAULTS["environment"]
    allowed_environments: tuple[str, ...] = DEFAULT_ALLOWED_ENVIRONMENTS

    _split = field_validator("allowed_environments", mode="before")(_comma_list)

    @field_validator("environment", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @property
    def environment_allowed(self) -> bool:
        return self.environment in self.allowed_environments


class ChaosSettings(EnvironmentSettings):
    """Every ``[chaos]`` setting but ``enabled``, validated (environment variables ``AIRFLOW__CHAOS__<NAME>``).

    - ``environment`` / ``allowed_environments``: the environment guard (comma-separated list).
    - ``max_injections_per_run``: blast radius, an integer >= 0.
    - ``seed``: the experiment seed of wrappers that give none, an integer; empty means per-run seeds.
    - ``journal_path``: where mutations are journaled (a path or URL); empty means
      ``$AIRFLOW_HOME/chaos/journal`` (:attr:`journal_root`).
    - ``allowed_paths``: comma-separated roots (absolute paths or URLs) that file faults may touch;
      empty (the default) adds no restriction. Path confinement itself is enforced where files are faulted.
    - ``plan``: a plan file (a path or URL) the cluster policy applies to every DAG parsed
      (:mod:`airflow_chaos.policy`); empty (the default) applies none.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_injections_per_run: int = 100
    seed: int | None = None
    journal_path: str = ""
    allowed_paths: tuple[str, ...] = ()
    plan: str = ""

    _max = field_validator("max_injections_per_run", mode="before")(_integer)
    _paths = field_validator("allowed_paths", mode="before")(_comma_list)

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else _integer(value)

    @field_validator("max_injections_per_run")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"must be >= 0, got {value}")
        return value

    @field_validator("journal_path", "plan", mode="before")
    @classmethod
    def _strip_path(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("allowed_paths")
    @classmethod
    def _roots(cls, roots: tuple[str, ...]) -> tuple[str, ...]:
        for root in roots:
            if not (os.path.isabs(root) or "://" in root):
                raise ValueError(f"{_short(root)} is neither an absolute path nor a URL")
        return roots

    @property
    def journal_root(self) -> str:
        """``journal_path``, or ``$AIRFLOW_HOME/chaos/journal`` when it is empty."""
        return _journal_root(self.journal_path)


_Settings = TypeVar("_Settings", bound=EnvironmentSettings)


def _validated(model: type[_Settings], options: dict[str, str]) -> _Settings:
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(
            f"[{SECTION}] {err['loc'][0] if err['loc'] else 'settings'}: {str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ChaosConfigError(f"invalid chaos settings (airflow.cfg or AIRFLOW__CHAOS__*): {problems}") from None


def read_options(names: Iterable[str] = tuple(DEFAULTS)) -> dict[str, str]:
    """The raw ``[chaos]`` options ``names`` from Airflow's config (environment variables included), read once."""
    return {name: get(name, DEFAULTS[name]) for name in names}


def read_environment(options: dict[str, str] | None = None) -> EnvironmentSettings:
    """The environment guard's settings; raises ChaosConfigError naming an invalid one."""
    names = ("environment", "allowed_environments")
    raw = {n: options[n] for n in names} if options is not None else read_options(names)
    return _validated(EnvironmentSettings, raw)


def read_settings(options: dict[str, str] | None = None) -> ChaosSettings:
    """Every setting, validated; raises ChaosConfigError naming each invalid setting."""
    return _validated(ChaosSettings, options if options is not None else read_options())


def _partial(name: str) -> ChaosSettings:
    """The settings with only ``name`` read (the others at their defaults): one accessor, one option."""
    return _validated(ChaosSettings, read_options((name,)))


def environment() -> str:
    return _partial("environment").environment


def allowed_environments() -> tuple[str, ...]:
    return _partial("allowed_environments").allowed_environments


def max_injections_per_run() -> int:
    return _partial("max_injections_per_run").max_injections_per_run


def default_seed() -> int | None:
    """``[chaos] seed``: the experiment seed of wrappers that give none; empty means per-run seeds."""
    return _partial("seed").seed


def allowed_paths() -> tuple[str, ...]:
    """``[chaos] allowed_paths``: the roots file faults may touch; empty (the default) means no extra restriction."""
    return _partial("allowed_paths").allowed_paths


def plan_location() -> str:
    """``[chaos] plan``: the plan file (path or URL) the cluster policy applies; empty means none."""
    return _partial("plan").plan


def journal_root() -> str:
    """``[chaos] journal_path``; defaults to ``$AIRFLOW_HOME/chaos/journal``."""
    return _journal_root(get("journal_path", "").strip())


def _journal_root(configured: str) -> str:
    if configured:
        return configured
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return os.path.join(home, "chaos", "journal")


# ---------------------------------------------------------------------- experiments and scorecards (issue #11)
#: The report options, read apart from the injection settings: a bad one never stops a fault, only a report.
REPORT_DEFAULTS: dict[str, str] = {
    "signal_weights": "",
    "reports_dir": "",
    "sandbox_root": "",
    "mlflow_tracking_uri": "",
    "mlflow_experiment": "",
}


class ReportSettings(BaseModel):
    """How experiments are scored and reported (environment variables ``AIRFLOW__CHAOS__<NAME>``).

    - ``signal_weights``: per-signal weights of the resilience score, ``schema=2,completeness=1.5`` or a
      JSON object; unnamed signals weigh 1. Empty: unweighted.
    - ``reports_dir``: where scorecards are written (``<reports_dir>/<dag_id>/<run_id>/scorecard.*``);
      empty means ``$AIRFLOW_HOME/chaos/reports``.
    - ``sandbox_root``: where ``chaos_matrix`` scenarios get their data directories; empty means
      ``$AIRFLOW_HOME/chaos/sandboxes``.
    - ``mlflow_tracking_uri``: log every experiment as an MLflow run there; empty (default): off.
    - ``mlflow_experiment``: the MLflow experiment of those runs; empty means ``airflow-chaos/<dag_id>``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_weights: dict[str, float] = {}
    reports_dir: str = ""
    sandbox_root: str = ""
    mlflow_tracking_uri: str = ""
    mlflow_experiment: str = ""

    @field_validator("signal_weights", mode="before")
    @classmethod
    def _weights(cls, value: Any) -> Any:
        from airflow_chaos.experiment.verdicts import parse_signal_weights

        try:
            return parse_signal_weights(value, "signal_weights")
        except ChaosConfigError as exc:
            raise ValueError(str(exc).removeprefix("signal_weights: ")) from None

    @field_validator("reports_dir", "sandbox_root", "mlflow_tracking_uri", "mlflow_experiment", mode="before")
    @classmethod
    def _strip_text(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @property
    def reports_root(self) -> str:
        return self.reports_dir or _home_path("chaos", "reports")

    @property
    def sandboxes_root(self) -> str:
        return self.sandbox_root or _home_path("chaos", "sandboxes")


def _home_path(*parts: str) -> str:
    return os.path.join(os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow"), *parts)


def read_report_settings() -> ReportSettings:
    """The report settings, validated; raises ChaosConfigError naming an invalid one."""
    options = {name: get(name, default) for name, default in REPORT_DEFAULTS.items()}
    try:
        return ReportSettings.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(
            f"[{SECTION}] {err['loc'][0] if err['loc'] else 'settings'}: {str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ChaosConfigError(f"invalid chaos report settings (airflow.cfg or AIRFLOW__CHAOS__*): {problems}") from None


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
