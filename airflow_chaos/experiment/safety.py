"""The safety guard: decides, for each armed fault, whether it may be injected and records why not.

Pure: the Airflow layer reads the settings (config, the kill-switch Variable, counts so far) and
passes them in. Order of the rules, first match wins: environment guard, kill switch, max
injections per run, probability, dry run.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.base import stable_seed
from airflow_chaos.records import InjectionStatus

DEFAULT_ALLOWED_ENVIRONMENTS = ("dev", "test", "staging")


@dataclass(frozen=True)
class SafetySettings:
    """The switches of DESIGN §5, as read for one task instance."""

    enabled: bool = False
    environment: str = "dev"
    allowed_environments: tuple[str, ...] = DEFAULT_ALLOWED_ENVIRONMENTS
    kill_switch: bool = False
    max_injections_per_run: int = 100
    injections_so_far: int = 0

    def __post_init__(self) -> None:
        if self.max_injections_per_run < 0:
            raise ChaosConfigError(f"[chaos] max_injections_per_run must be >= 0, got {self.max_injections_per_run}")


@dataclass(frozen=True)
class Decision:
    status: InjectionStatus
    reason: str | None = None

    @property
    def inject(self) -> bool:
        return self.status is InjectionStatus.INJECTED


def gate_draw(seed: int) -> float:
    """The probability gate's uniform draw in [0, 1) for the injection seeded ``seed``.

    ``stable_seed`` gives 63 bits, so dividing by ``2**63`` spans the whole unit interval: a fault
    armed with ``probability=p`` goes in on a fraction ``p`` of seeds.
    """
    return stable_seed(seed, "gate") / 2**63


def decide(
    settings: SafetySettings, *, probability: float, draw: float, dry_run: bool, injected_here: int = 0
) -> Decision:
    """Whether one armed fault goes in. ``draw`` is the fault's seeded uniform draw in [0, 1).

    ``injected_here`` counts the injections this task instance already made, on top of
    ``settings.injections_so_far`` (the rest of the run).
    """
    if settings.environment not in settings.allowed_environments:
        return Decision(
            InjectionStatus.SKIPPED,
            f"environment {settings.environment!r} not in allowed_environments {list(settings.allowed_environments)}",
        )
    if settings.kill_switch:
        return Decision(InjectionStatus.SKIPPED, "kill switch is on (Variable chaos_kill_switch)")
    if settings.injections_so_far + injected_here >= settings.max_injections_per_run:
        return Decision(
            InjectionStatus.SKIPPED,
            f"max_injections_per_run={settings.max_injections_per_run} reached",
        )
    if draw >= probability:
        return Decision(InjectionStatus.SKIPPED, f"probability {probability} not drawn (draw {draw:.3f})")
    if dry_run:
        return Decision(InjectionStatus.DRY_RUN, "dry run: recorded, nothing changed")
    return Decision(InjectionStatus.INJECTED)
