"""The records, ground floor: the signal vocabulary, the Injection and Detection records, ``utcnow``.

Injections (what a fault did) and Detections (what a check saw) travel between tasks as JSON XCom
(``to_json``) and are read back with ``model_validate``; verdicts and scorecards are computed from
them. ``to_json`` is the one way out, and it redacts (:mod:`airflow_chaos.redaction`): URL userinfo
and query values, values under sensitive names; the Airflow layer adds Airflow's secrets masker.
Everything above builds on this module, so it imports nothing from ``airflow_chaos`` except
:mod:`airflow_chaos.exceptions` and :mod:`airflow_chaos.redaction`, and never Airflow (DESIGN §2).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.redaction import redact_json

# ---------------------------------------------------------------------- the signal vocabulary (DESIGN §1)
SIGNALS: tuple[str, ...] = (
    "schema",
    "completeness",
    "validity",
    "distribution",
    "volume",
    "freshness",
    "ordering",
    "format",
    "api",
    "feature.freshness",
    "feature.validity",
    "feature.skew",
    "feature.schema",
    "registry.version",
    "registry.metadata",
    "registry.availability",
    "model.quality",
    "model.predictions",
)


def validate_signals(signals: tuple[str, ...] | list[str], owner: str) -> tuple[str, ...]:
    """Return ``signals`` as a tuple, raising ChaosConfigError naming ``owner`` on an unknown one."""
    unknown = [s for s in signals if s not in SIGNALS]
    if unknown:
        raise ChaosConfigError(f"{owner}: unknown signal(s) {unknown}; allowed: {', '.join(SIGNALS)}")
    return tuple(signals)


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------------- the injection record
class InjectionStatus(str, Enum):
    INJECTED = "injected"
    SKIPPED = "skipped"
    DRY_RUN = "dry_run"
    ERROR = "error"


class FaultLike(Protocol):
    """What :meth:`Injection.for_fault` reads from a fault (``airflow_chaos.faults.Fault`` satisfies it)."""

    @property
    def kind(self) -> str: ...

    @property
    def signals(self) -> tuple[str, ...]: ...

    @property
    def recoverable(self) -> bool: ...

    def to_dict(self) -> dict[str, Any]: ...

    def target(self) -> str: ...


class Injection(BaseModel):
    """The receipt of one fault applied (or deliberately not applied).

    ``effective`` is False for a fault that went in but changed nothing (an empty table, an all-null
    column, a fraction that rounds down to 0 rows): ``reason`` then says why, and the verdict is
    SKIPPED, never SILENT. ``reason`` also says why a fault was not injected at all (status SKIPPED).
    """

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    kind: str
    fault: dict[str, Any]
    signals: list[str]
    recoverable: bool = False
    status: InjectionStatus
    effective: bool = True
    reason: str | None = None
    target: str = "task"
    dag_id: str = ""
    run_id: str = ""
    task_id: str = ""
    map_index: int = -1
    try_number: int = 1
    fault_index: int = 0
    # Who armed the fault: "code" (chaos(), @task.chaos, InjectFaultOperator) or "plan:<file>#<experiment>".
    source: str = "code"
    seed: int = 0
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    outcome: Literal["success", "raised"] | None = None
    error: str | None = None

    @classmethod
    def for_fault(cls, fault: FaultLike, status: InjectionStatus, **fields: Any) -> Injection:
        return cls(
            kind=fault.kind,
            fault=fault.to_dict(),
            signals=list(fault.signals),
            recoverable=fault.recoverable,
            status=status,
            target=fields.pop("target", None) or fault.target(),
            **fields,
        )

    @property
    def applied(self) -> bool:
        return self.status is InjectionStatus.INJECTED

    @property
    def changed_nothing(self) -> bool:
        """Injected, but nothing changed: ``effective`` is False, or an armed fault recorded ``effective=False``
        in its changes because it never triggered (an HTTP rule no request matched)."""
        return not self.effective or self.changes.get("effective") is False

    def to_json(self) -> dict[str, Any]:
        """The record as JSON, redacted (:func:`~airflow_chaos.redaction.redact_json`)."""
        return redact_json(self.model_dump(mode="json"))


# ---------------------------------------------------------------------- the detection record
class Detection(BaseModel):
    """Outcome of one check: which signals it covers, whether it passed, what it observed (JSON-safe)."""

    model_config = ConfigDict(extra="ignore")

    check: str
    signals: list[str]
    passed: bool
    observed: dict[str, Any] = Field(default_factory=dict)
    severity: Literal["critical", "warning"] = "critical"
    # The check's task succeeded although its own result said "failed" (a GX provider operator does so by
    # default): ``passed`` stays True (nothing failed), and a fault it should have caught is SILENT, saying so.
    reported_failure: bool = False
    dag_id: str = ""
    run_id: str = ""
    task_id: str = ""
    map_index: int = -1
    at: datetime = Field(default_factory=utcnow)

    @field_validator("signals")
    @classmethod
    def _known_signals(cls, value: list[str]) -> list[str]:
        return list(validate_signals(value, "Detection.signals"))

    def to_json(self) -> dict[str, Any]:
        """The record as JSON, redacted (:func:`~airflow_chaos.redaction.redact_json`)."""
        return redact_json(self.model_dump(mode="json"))
