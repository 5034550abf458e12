"""The Detection record: one check's evidence for one or more signals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airflow_chaos.faults.base import utcnow, validate_signals


class Detection(BaseModel):
    """Outcome of one check: which signals it covers, whether it passed, what it observed (JSON-safe)."""

    model_config = ConfigDict(extra="ignore")

    check: str
    signals: list[str]
    passed: bool
    observed: dict[str, Any] = Field(default_factory=dict)
    severity: Literal["critical", "warning"] = "critical"
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
        return self.model_dump(mode="json")
