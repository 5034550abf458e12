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
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from airflow_chaos import storage
from airflow_chaos.exceptions import ChaosConfigError, ChaosInjectionError
from airflow_chaos.faults.modules import import_fault_modules
from airflow_chaos.records import validate_signals

if TYPE_CHECKING:
    import numpy as np

Phase = Literal["before", "around", "after", "instead"]


def _short_repr(value: Any, limit: int = 120) -> str:
    """``repr(value)``, cut short: a message quotes what it got, not a whole payload."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field_name(loc: tuple[int | str, ...]) -> str:
    """``('value', 'str')`` -> ``value`` (a union branch is not a field); ``('order', 2)`` -> ``order[2]``.

    ``('',)`` -> ``''``: an empty key is still a (wrong) field, named as such.
    """
    return str(loc[0]) + "".join(f"[{p}]" for p in loc[1:] if isinstance(p, int))


def _format_validation_error(fault_cls: type[Fault], exc: ValidationError) -> str:
    """One line per problem, each naming its field; checks of the whole fault name their fields themselves."""
    parts = []
    for err in exc.errors():
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown field; allowed: {', '.join(fault_cls.model_fields) or 'none'}"
        if err["loc"]:
            parts.append(f"field '{_field_name(err['loc'])}': {message} (got {_short_repr(err.get('input'))})")
        else:
            parts.append(_naming_fields(message, fault_cls.model_fields))
    return f"invalid {fault_cls.kind or fault_cls.__name__} fault: " + "; ".join(dict.fromkeys(parts))


def _naming_fields(message: str, fields: Mapping[str, Any]) -> str:
    """A check of the whole fault names the fields it is about: ``give 'a' or 'b'`` -> ``give field 'a' or field 'b'``."""
    if "field '" in message:
        return message
    return re.sub(r"'([^']*)'", lambda m: f"field '{m[1]}'" if m[1] in fields else m[0], message)


def _positional_error(fault_cls: type[Fault], args: tuple[Any, ...], given: dict[str, Any]) -> str:
    """Fields are given by name; name the field the first positional value was most likely meant for."""
    fields = fault_cls.model_fields
    missing = [n for n, info in fields.items() if info.is_required() and n not in given]
    name = (missing or [n for n in fields if n not in given] or ["args[0]"])[0]
    return (
        f"invalid {fault_cls.kind} fault: field '{name}': give fields by name, e.g. {fault_cls.__name__}({name}=...), "
        f"not by position (got {_short_repr(args)}); fields: {', '.join(fields) or 'none'}"
    )


@functools.cache
def _import_fault_modules() -> None:
    """Import the fault modules once, so the registry holds every kind (``airflow_chaos.faults`` is lazy)."""
    import_fault_modules()


class Fault(BaseModel):
    """A declarative, validated description of one failure to inject.

    Subclasses set the class variables ``kind`` (registry key), ``signals`` (evidence a healthy
    pipeline must produce), ``phase``, ``recoverable`` (retries or a fallback may legitimately
    absorb the fault) and ``template_fields`` (string fields the Airflow wrapper renders with Jinja
    against the task's context before injecting, e.g. a file path with ``{{ ds }}``), and
    implement the method matching their phase. ``path_fields`` names the template fields that hold a
    file or object the fault mutates: once rendered, the wrapper confines them
    (:class:`~airflow_chaos.storage.Confinement`) and the fault checks them again before it acts
    (:func:`mutable_target`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False, allow_inf_nan=False)

    kind: ClassVar[str] = ""
    signals: ClassVar[tuple[str, ...]] = ()
    phase: ClassVar[Phase] = "after"
    recoverable: ClassVar[bool] = False
    template_fields: ClassVar[tuple[str, ...]] = ()
    path_fields: ClassVar[tuple[str, ...]] = ()
    _registry: ClassVar[dict[str, type[Fault]]] = {}

    def __init__(self, /, *args: Any, **data: Any) -> None:
        cls = type(self)
        if not cls.kind:
            raise ChaosConfigError(
                f"field 'kind': {cls.__name__} is an abstract base with no kind; build a fault such as "
                f"faults.DropColumn(column='x'); allowed kinds: {', '.join(Fault.kinds())}"
            )
        if args:
            raise ChaosConfigError(_positional_error(cls, args, data))
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ChaosConfigError(_format_validation_error(cls, exc)) from None

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
        """All registered fault kinds, by name (the first call imports every fault module: all are there)."""
        _import_fault_modules()
        return dict(sorted(Fault._registry.items()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict including ``kind``; :meth:`from_dict` turns it back into an equal fault."""
        return {"kind": self.kind, **self.model_dump(mode="json")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from ``{"kind": ..., **params}``; whatever else it gets is a ChaosConfigError naming the field."""
        allowed = ", ".join(cls.kinds())
        if not isinstance(data, Mapping) or "kind" not in data:
            raise ChaosConfigError(
                f"field 'kind': a fault is a mapping with a 'kind' key, e.g. {{'kind': 'drop_column', 'column': 'x'}}; "
                f"got {_short_repr(data)}; allowed kinds: {allowed}"
            )
        params = dict(data)
        kind = params.pop("kind")
        fault_cls = Fault._registry.get(kind) if isinstance(kind, str) else None
        if fault_cls is None:
            raise ChaosConfigError(f"field 'kind': unknown fault kind {_short_repr(kind)}; allowed: {allowed}")
        names = [k for k in params if not isinstance(k, str)]
        if names:
            raise ChaosConfigError(
                f"invalid {kind} fault: field '{names[0]}': field names are strings; "
                f"allowed: {', '.join(fault_cls.model_fields) or 'none'}"
            )
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
# ---------------------------------------------------------------------- the journal faults depend on
@dataclass(frozen=True)
class JournalEntry:
    """One journaled mutation: where, how to undo it, and the checksums a compare-and-swap restore needs.

    ``checksum`` is the SHA-256 of the original (None: the file did not exist), ``checksum_after``
    the SHA-256 the fault left (None: the file was removed), ``mode`` the original's permission bits.
    ``path`` is absolute (or a full URL), so it means the same thing from any working directory.
    For ``op="state"`` (outside state such as an MLflow alias or Feast online rows) ``path`` is
    ``<resource>:<key>``, ``resource`` names the :class:`StateResource` that reads and writes it,
    ``context`` is what that resource needs to reach it again (a repo path, a tracking URI), and the
    checksums are of the state's canonical JSON.
    """

    id: str
    op: str  # "rewrite" | "move" | "state"
    path: str
    checksum: str | None
    checksum_after: str | None = None
    mode: int | None = None
    injection_id: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    created: float = 0.0
    resource: str | None = None
    context: dict[str, Any] | None = None

    _FIELDS: ClassVar[tuple[str, ...]] = (
        "id",
        "op",
        "path",
        "checksum",
        "checksum_after",
        "mode",
        "injection_id",
        "dag_id",
        "run_id",
        "task_id",
        "created",
        "resource",
        "context",
    )

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._FIELDS}

    @classmethod
    def valid_json(cls, data: dict[str, Any]) -> bool:
        """Whether ``data`` carries the fields an entry cannot do without."""
        return all(isinstance(data.get(k), str) for k in ("id", "op", "path")) and "checksum" in data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        return cls(**{k: data[k] for k in cls._FIELDS if k in data})


class StateResource(Protocol):
    """Outside state a fault changes that is not a file: an MLflow alias, Feast online rows, a registry object.

    States are JSON-safe values (None: absent). ``name`` is a registered resource name (see
    :func:`register_state_resource`), so a restore in another process (the CLI, a teardown) can find
    the resource again from the journal entry alone, with the entry's ``context``.
    """

    name: str

    def read(self, key: str, context: dict[str, Any]) -> Any:
        """The current state of ``key`` (JSON-safe; None when absent)."""
        ...

    def write(self, key: str, context: dict[str, Any], state: Any) -> None:
        """Make ``key`` hold ``state`` (None: remove it)."""
        ...


_STATE_RESOURCES: dict[str, Callable[[], StateResource]] = {}
_STATE_RESOURCE_MODULES: dict[str, str] = {}  # resource-name prefix -> module that registers it when imported


def register_state_resource(name: str, factory: Callable[[], StateResource]) -> None:
    """Make the resource ``name`` restorable: ``factory`` builds it (cheaply; clients are made in read/write)."""
    _STATE_RESOURCES[name] = factory


def register_state_module(prefix: str, module: str) -> None:
    """Resources named ``<prefix>...`` are registered by importing ``module`` (imported only on restore)."""
    _STATE_RESOURCE_MODULES[prefix] = module


def state_resource(name: str) -> StateResource:
    """The registered resource ``name``, importing the module that registers it when needed."""
    if name not in _STATE_RESOURCES:
        import importlib

        for prefix, module in _STATE_RESOURCE_MODULES.items():
            if name.startswith(prefix):
                importlib.import_module(module)
    try:
        return _STATE_RESOURCES[name]()
    except KeyError:
        raise ChaosInjectionError(
            f"journal: no state resource {name!r} is registered; known: {', '.join(sorted(_STATE_RESOURCES)) or 'none'}"
        ) from None


register_state_module("feast.", "airflow_chaos.faults.features")  # Feast online rows and registry views
register_state_module(
    "mlflow.", "airflow_chaos.faults.registry"
)  # MLflow aliases, version metadata, MLmodel files, versions


ChunkPatch = Callable[[int, bytes], bytes]
"""``edit(offset, chunk)``: the patched bytes of the file's chunk starting at ``offset``, same length."""


class MutationJournal(Protocol):
    """What faults need of a journal (``experiment.journal.Journal`` implements it): journal first, then mutate."""

    def rewrite(self, path: Any, transform: Callable[[bytes], bytes], **labels: str | None) -> JournalEntry: ...

    def patch(self, path: Any, plan: Callable[[int], ChunkPatch], **labels: str | None) -> JournalEntry:
        """Like ``rewrite`` for in-place byte changes, streamed: ``plan(size)`` returns the chunk editor."""
        ...

    def move_aside(self, path: Any, **labels: str | None) -> JournalEntry: ...

    def change_state(
        self,
        resource: StateResource,
        key: str,
        context: dict[str, Any],
        transform: Callable[[Any], Any],
        **labels: str | None,
    ) -> JournalEntry: ...

    def entries(self, **match: str | None) -> list[JournalEntry]: ...

    def state_of(self, entry_id: str) -> str: ...

    def restore(self, **match: str | None) -> Any: ...


@dataclass
class FaultContext:
    """What a fault gets when it is applied: its seeded RNG, the journal, and a place to record changes.

    ``ineffective_reason`` is set (through :meth:`ineffective`) when the fault went in but changed
    nothing; the wrapper records the injection ``effective=False`` with it, and its verdict is SKIPPED.
    """

    seed: int
    journal: MutationJournal | None = None
    max_fraction: float = 1.0
    changes: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    ineffective_reason: str | None = None
    confinement: storage.Confinement | None = None  # where the fault's ``path`` may resolve (set by the wrapper)
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

    def ineffective(self, reason: str) -> None:
        """Say that the fault changed nothing, and why (e.g. ``"no rows to corrupt: the table is empty"``).

        The first reason given is kept.
        """
        if self.ineffective_reason is None:
            self.ineffective_reason = reason

    def bounded_fraction(self, fraction: float) -> float:
        """``fraction`` capped by the blast-radius limit ``max_fraction``."""
        return min(fraction, self.max_fraction)


def journal_of(ctx: FaultContext, fault: Fault) -> MutationJournal:
    """The injection's journal; a fault never mutates state without one."""
    if ctx.journal is None:
        raise ChaosInjectionError(
            f"{fault.kind}: mutating faults need a journal (FaultContext.journal) to stay restorable"
        )
    return ctx.journal


def journal_labels(ctx: FaultContext) -> dict[str, str | None]:
    """The labels a journal entry carries; an entry always gets its own injection id."""
    labels = ctx.labels
    return {
        "injection_id": str(labels.get("injection_id") or uuid.uuid4().hex),
        "dag_id": labels.get("dag_id"),
        "run_id": labels.get("run_id"),
        "task_id": labels.get("task_id"),
    }


def mutable_target(fault: Fault, ctx: FaultContext, location: str) -> storage.StoragePath:
    """The file a fault is about to mutate, checked just before it acts; every mutating fault goes through it.

    The location must stay inside ``ctx.confinement`` (checked again here: a directory may have
    become a symlink since the wrapper rendered the path) and be a regular file: a directory, FIFO,
    device or socket is refused without being opened. Raises ``ChaosConfigError`` naming the field.
    """
    what = f"{fault.kind}: field 'path'"
    if ctx.confinement is not None:
        ctx.confinement.check(location, what)
    path = storage.as_path(location)
    storage.require_regular_file(storage.real_path(path), what)
    return path


def journaled_rewrite(
    fault: Fault, ctx: FaultContext, location: str, transform: Callable[[bytes], bytes]
) -> JournalEntry:
    """The one way a fault rewrites a file: journal first, then replace it atomically; record what changed.

    Records on ``ctx``: the absolute path, the journal entry id, sizes and SHA-256 before and after.
    A rewrite that leaves the bytes as they were is not effective (``ctx.ineffective``).
    """
    path = mutable_target(fault, ctx, location)
    sizes: dict[str, int] = {}

    def measured(data: bytes) -> bytes:
        out = transform(data)
        sizes.update(bytes_before=len(data), bytes_after=len(out))
        return out

    entry = journal_of(ctx, fault).rewrite(path, measured, **journal_labels(ctx))
    ctx.record(
        path=entry.path,
        journal_entry=entry.id,
        **sizes,
        sha256_before=entry.checksum,
        sha256_after=entry.checksum_after,
    )
    if entry.checksum == entry.checksum_after:
        ctx.ineffective(f"the file's bytes did not change ({sizes.get('bytes_before', 0)} bytes)")
    return entry


def journaled_patch(fault: Fault, ctx: FaultContext, location: str, plan: Callable[[int], ChunkPatch]) -> JournalEntry:
    """Like :func:`journaled_rewrite` for faults that change bytes in place: the file is streamed through
    the journal's :meth:`~MutationJournal.patch`, never held in memory. Records the same on ``ctx``."""
    path = mutable_target(fault, ctx, location)
    sizes: dict[str, int] = {}

    def measured(size: int) -> ChunkPatch:
        edit = plan(size)
        sizes.update(bytes_before=size, bytes_after=size)
        return edit

    entry = journal_of(ctx, fault).patch(path, measured, **journal_labels(ctx))
    ctx.record(
        path=entry.path,
        journal_entry=entry.id,
        **sizes,
        sha256_before=entry.checksum,
        sha256_after=entry.checksum_after,
    )
    if entry.checksum == entry.checksum_after:
        ctx.ineffective(f"the file's bytes did not change ({sizes.get('bytes_before', 0)} bytes)")
    return entry
