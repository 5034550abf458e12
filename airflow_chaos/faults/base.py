"""Fault base, the registry of fault kinds and the context a fault runs in.

A :class:`Fault` is pure data: a pydantic model validated at construction, JSON round-trippable
through :meth:`Fault.to_dict` / :meth:`Fault.from_dict`, safe to build at DAG-parse time. How a fault
meets the pipeline is given by its ``phase``:

- ``before``: acts before the task runs (sleep, move an input file away);
- ``around``: armed for the duration of the task (HTTP faults);
- ``after``: transforms the task's return value or the files it wrote;
- ``instead``: replaces the task's work (partial output, false success).

No Airflow imports here; numpy is imported only when a random generator is first needed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.records import validate_signals

if TYPE_CHECKING:
    import numpy as np

    from airflow_chaos.experiment.journal import Journal

Phase = Literal["before", "around", "after", "instead"]

def _field_name(loc: tuple[int | str, ...]) -> str:
    """``('value', 'str')`` -> ``value`` (a union branch is not a field); ``('order', 2)`` -> ``order[2]``."""
    if not loc:
        return ""
    return str(loc[0]) + "".join(f"[{p}]" for p in loc[1:] if isinstance(p, int))


def _format_validation_error(kind: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        name = _field_name(err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"field '{name}': {message} (got {err.get('input')!r})" if name else message)
    return f"invalid {kind} fault: " + "; ".join(dict.fromkeys(parts))


class Fault(BaseModel):
    """A declarative, validated description of one failure to inject.

    Subclasses set the class variables ``kind`` (registry key), ``signals`` (evidence a healthy
    pipeline must produce), ``phase``, ``recoverable`` (retries or a fallback may legitimately
    absorb the fault) and ``template_fields`` (string fields the Airflow wrapper renders with Jinja
    against the task's context before injecting, e.g. a file path with ``{{ ds }}``), and
    implement the method matching their phase.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False)

    kind: ClassVar[str] = ""
    signals: ClassVar[tuple[str, ...]] = ()
    phase: ClassVar[Phase] = "after"
    recoverable: ClassVar[bool] = False
    template_fields: ClassVar[tuple[str, ...]] = ()
    _registry: ClassVar[dict[str, type[Fault]]] = {}

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ChaosConfigError(_format_validation_error(type(self).kind or type(self).__name__, exc)) from None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not cls.kind:
            return
        validate_signals(cls.signals, cls.__name__)
        existing = Fault._registry.get(cls.kind)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ChaosConfigError(f"fault kind {cls.kind!r} is registered twice ({existing.__name__}, {cls.__name__})")
        Fault._registry[cls.kind] = cls

    # ------------------------------------------------------------------ registry and round trip
    @classmethod
    def kinds(cls) -> dict[str, type[Fault]]:
        """All registered fault kinds, by name."""
        return dict(sorted(Fault._registry.items()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict including ``kind``; :meth:`from_dict` turns it back into an equal fault."""
        return {"kind": self.kind, **self.model_dump(mode="json")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from ``{"kind": ..., **params}``; unknown kinds name the allowed ones."""
        if not isinstance(data, dict) or "kind" not in data:
            raise ChaosConfigError(f"a fault must be a mapping with a 'kind' key, got {data!r}")
        params = dict(data)
        kind = params.pop("kind")
        fault_cls = Fault._registry.get(kind)
        if fault_cls is None:
            raise ChaosConfigError(f"field 'kind': unknown fault kind {kind!r}; allowed: {', '.join(cls.kinds())}")
        return fault_cls(**params)

    def describe(self) -> str:
        """Short human form, e.g. ``drop_column(column='price')``."""
        params = ", ".join(f"{k}={v!r}" for k, v in self.model_dump(exclude_defaults=True).items())
        return f"{self.kind}({params})"

    @property
    def active_phase(self) -> Phase:
        """The phase this instance acts in: ``phase``, unless the fault lets the user choose (``when=``)."""
        return self.phase

    def target(self) -> str:
        """What this fault acts on, for the injection record."""
        return {"before": "task", "around": "task", "after": "return_value", "instead": "task"}[self.active_phase]

    # ------------------------------------------------------------------ phases
    def before(self, ctx: FaultContext) -> None:
        """Phase ``before``: act on the world before the task runs."""
        raise NotImplementedError(f"{self.kind} has no 'before' phase")

    def around(self, ctx: FaultContext) -> contextlib.AbstractContextManager[None]:
        """Phase ``around``: a context manager active while the task runs."""
        raise NotImplementedError(f"{self.kind} has no 'around' phase")

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        """Phase ``after``: return a faulted copy of ``value``; never mutate the caller's object."""
        raise NotImplementedError(f"{self.kind} has no 'after' phase")

    def instead(self, call: Callable[[], Any], ctx: FaultContext) -> Any:
        """Phase ``instead``: run in place of the task's work (``call`` runs it)."""
        raise NotImplementedError(f"{self.kind} has no 'instead' phase")


# ---------------------------------------------------------------------- seeding
def stable_seed(*parts: Any) -> int:
    """A 63-bit seed from a stable hash of ``parts`` (identical across processes and machines)."""
    payload = json.dumps([str(p) for p in parts], separators=(",", ":")).encode()
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8).digest(), "big") >> 1


def injection_seed(
    experiment_seed: int | None, dag_id: str, run_id: str, task_id: str, fault_index: int, map_index: int = -1
) -> int:
    """Seed of one injection, from a stable hash (DESIGN §6).

    With an explicit experiment seed the hash covers (seed, dag_id, task_id, fault index): the same
    seed corrupts the same rows on every run, so an experiment can be replayed. Without one the
    run_id takes the seed's place: every run differs, and a given run can still be reproduced.
    ``map_index`` is mixed in only for mapped task instances.
    """
    parts: list[Any] = [
        experiment_seed if experiment_seed is not None else f"run:{run_id}",
        dag_id,
        task_id,
        fault_index,
    ]
    if map_index >= 0:
        parts.append(map_index)
    return stable_seed(*parts)


# ---------------------------------------------------------------------- the context a fault runs in
@dataclass
class FaultContext:
    """What a fault gets when it is applied: its seeded RNG, the journal, and a place to record changes."""

    seed: int
    journal: Journal | None = None
    max_fraction: float = 1.0
    changes: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    _rng: np.random.Generator | None = field(default=None, repr=False)

    @property
    def rng(self) -> np.random.Generator:
        """numpy Generator seeded from :attr:`seed` (created on first use)."""
        if self._rng is None:
            import numpy as np

            self._rng = np.random.default_rng(self.seed)
        return self._rng

    def record(self, **changes: Any) -> None:
        """Record what changed (rows, columns, bytes, requests) on the injection."""
        self.changes.update(changes)

    def bounded_fraction(self, fraction: float) -> float:
        """``fraction`` capped by the blast-radius limit ``max_fraction``."""
        return min(fraction, self.max_fraction)
