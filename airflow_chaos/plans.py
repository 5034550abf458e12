"""Chaos plans: a YAML file that arms tasks of existing DAGs, without changing their code.

A plan lists experiments. Each selects tasks (``dag_id`` and ``task_id`` globs, DAG ``tags``, operator
class, run type), names the faults to arm them with, and says how and when to draw them::

    version: 1
    experiments:
      - name: nulls-in-orders          # recorded on each injection as source "plan:<file>#<name>"
        select:
          dag_id: chaos_quickstart     # a glob, or a list of globs (any may match)
          task_id: "extract*"
          tags: [example]              # the DAG carries every tag listed
          operator: "@task"            # class name, dotted path or operator name globs (any may match)
          run_type: [manual]           # checked when the task runs: manual, scheduled, backfill, ...
        faults:
          - kind: inject_nulls         # any fault kind, with its fields (airflow-chaos faults)
            column: qty
            fraction: 0.5
        probability: 1.0
        seed: 7
        window: {start: "09:00", end: "17:00", days: [mon, tue, wed, thu, fri], timezone: UTC}
        max_tasks_per_run: 3           # at most 3 tasks of a DAG armed by this experiment
        max_injections_per_dag_per_day: 10
        environments: [dev, staging]   # only where [chaos] environment is one of these
        enabled: true

Loading is strict: the YAML is read with a safe loader that keeps the line of every key, aliases
are refused, times such as ``17:30`` stay strings (no YAML 1.1 base-60 numbers), every field is
validated by the models below (faults by their own models), and each problem is reported as one
line ``FILE:LINE: field 'PATH': MESSAGE`` (:class:`PlanError`). :func:`plan_json_schema` is the
JSON Schema of the same models, for editors.

Pure: no Airflow import. The cluster policy (:mod:`airflow_chaos.policy`) applies a plan when DAGs are
parsed; :class:`ExperimentGate` carries an experiment's run-time conditions into the armed task.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import hashlib
import os
import re
import time as _time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from airflow_chaos import storage
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults import Fault

#: Airflow's DAG run types (``airflow.utils.types.DagRunType``), as a selector's ``run_type`` names them.
RUN_TYPES = ("manual", "scheduled", "backfill", "operator_triggered", "asset_triggered", "asset_materialization")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_PLAN_BYTES = 1 << 20
_GLOB_CHARS = frozenset("_.-*?[]!@")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class PlanError(ChaosConfigError):
    """A plan that cannot be used: one line per problem, ``FILE:LINE: field 'PATH': MESSAGE``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# ====================================================================== YAML with line numbers
class _Mapping(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    line = 0
    lines: dict[Any, int]


class _Sequence(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item (1-based)."""

    line = 0
    lines: list[int]


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


class _LineLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` keeping line numbers, refusing aliases, without YAML 1.1 base-60 numbers."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (*name) are not supported in a plan: write the value out",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)


_LineLoader.add_implicit_resolver(
    _INT,
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_LineLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)"
        r"|[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Any:
    data = _Mapping()
    data.line, data.lines = node.start_mark.line + 1, {}
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.MarkedYAMLError(problem="a key must be a plain value", problem_mark=key_node.start_mark) from None
        if key in data.lines:
            raise yaml.MarkedYAMLError(
                problem=f"duplicate key {key!r} (first on line {data.lines[key]})", problem_mark=key_node.start_mark
            )
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> Any:
    data = _Sequence()
    data.line, data.lines = node.start_mark.line + 1, []
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.lines.append(item.start_mark.line + 1)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def _load_yaml(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(str(exc.problem or exc.context or "not YAML").split())
        raise PlanError([f"{name}:{line}: field '<yaml>': not a valid plan file: {problem}"]) from None
    except yaml.YAMLError as exc:
        raise PlanError([f"{name}:1: field '<yaml>': not a valid plan file: {' '.join(str(exc).split())}"]) from None


# ====================================================================== the models
def _one_or_many(value: Any) -> Any:
    """A single value where a list is expected becomes a one-item list."""
    return [value] if isinstance(value, (str, int, float, bool)) else value


def check_glob(pattern: str) -> str:
    """A glob over Airflow ids and operator names: ``*``, ``?``, ``[abc]``, ``[!abc]`` and ``[A-Za-z0-9_.-@]``."""
    if not pattern:
        raise ValueError("empty glob; '*' selects everything")
    bad = sorted({c for c in pattern if not (c.isalnum() or c in _GLOB_CHARS)})
    if bad:
        raise ValueError(
            f"bad glob {pattern!r}: {''.join(bad)!r} cannot occur in a dag id, task id or operator name; "
            "a glob uses * ? [abc] [!abc]"
        )
    i = 0
    while i < len(pattern):
        if pattern[i] == "]":
            raise ValueError(f"bad glob {pattern!r}: ']' at position {i} closes no '['")
        if pattern[i] == "[":
            start = i + 2 if pattern[i + 1 : i + 2] == "!" else i + 1
            end = pattern.find("]", start + 1)
            if end < 0:
                raise ValueError(f"bad glob {pattern!r}: '[' at position {i} is never closed with ']'")
            i = end
        i += 1
    return pattern


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a name: use letters, digits, '_', '.' and '-'")
    return value


Glob = Annotated[
    str, AfterValidator(check_glob), WithJsonSchema({"type": "string", "pattern": r"^[\w.\-*?\[\]!@]+$"})
]
RunType = Literal["manual", "scheduled", "backfill", "operator_triggered", "asset_triggered", "asset_materialization"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Selector(_Model):
    """Which tasks an experiment arms: every criterion given must hold; a list means any of its items."""

    dag_id: list[Glob] = Field(default=["*"], description="DAG id glob(s); any may match")
    task_id: list[Glob] = Field(default=["*"], description="task id glob(s); any may match")
    tags: list[str] = Field(default=[], description="the DAG carries every one of these tags")
    operator: list[Glob] = Field(
        default=[],
        description="operator glob(s) over the class name (BashOperator), its dotted path or its operator "
        "name (@task); any may match; empty: any operator",
    )
    run_type: list[RunType] = Field(default=[], description="DAG run types, checked when the task runs; empty: any")

    _lists = field_validator("dag_id", "task_id", "tags", "operator", "run_type", mode="before")(_one_or_many)


def _clock(value: str) -> str:
    if not _CLOCK.fullmatch(value):
        raise ValueError(f"{value!r} is not a time of day: give 'HH:MM', 00:00 to 23:59, quoted")
    return value


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; give an IANA name such as 'UTC' or 'Europe/Paris'") from None
    return value


Clock = Annotated[str, AfterValidator(_clock), WithJsonSchema({"type": "string", "pattern": _CLOCK.pattern})]


class Window(_Model):
    """Hours when the experiment may inject (checked when the task runs); ``end`` before ``start`` spans midnight."""

    start: Clock = Field(description="'HH:MM', inclusive")
    end: Clock = Field(description="'HH:MM', exclusive")
    days: list[Day] = Field(default=[], description="days of the week (mon..sun) in the time zone; empty: every day")
    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"

    _days = field_validator("days", mode="before")(_one_or_many)

    @model_validator(mode="after")
    def _not_empty(self) -> Window:
        if self.start == self.end:
            raise ValueError(f"field 'end': equals field 'start' ({self.start!r}): the window would be empty")
        return self

    def contains(self, now: datetime) -> bool:
        from zoneinfo import ZoneInfo

        local = now.astimezone(ZoneInfo(self.timezone))
        if self.days and DAYS[local.weekday()] not in self.days:
            return False
        clock = f"{local.hour:02d}:{local.minute:02d}"
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def describe(self) -> str:
        days = f" {','.join(self.days)}" if self.days else ""
        return f"{self.start}-{self.end}{days} {self.timezone}"


_SEP = "\x1f"  # between the problems of one fault, each naming its field: one line each


def _fault(value: Any) -> Fault:
    """A fault from its mapping, validated by its kind's model; every problem names its field."""
    if isinstance(value, Fault):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"a fault is a mapping such as {{kind: drop_column, column: price}}, got {_short(value)}")
    kinds = Fault.kinds()
    kind = value.get("kind")
    if not isinstance(kind, str):
        raise ValueError("field 'kind': give the fault's kind, e.g. kind: drop_column; `airflow-chaos faults` lists them")
    if kind not in kinds:
        close = difflib.get_close_matches(kind, kinds, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"field 'kind': unknown fault kind {kind!r}{hint}; allowed: {', '.join(kinds)}")
    try:
        return Fault.from_dict(value)
    except ChaosConfigError as exc:
        # "invalid K fault: field 'a': ...; field 'b': ..." -> one problem per field, an unknown field first
        text = str(exc).removeprefix(f"invalid {kind} fault: ")
        parts = [_REQUIRED_GOT.sub("Field required", p) for p in re.split(r"; (?=field ')", text)]
        raise ValueError(_SEP.join(sorted(parts, key=lambda p: "unknown field" not in p))) from None


_REQUIRED_GOT = re.compile(r"Field required \(got .*\)$")


# its JSON Schema is filled in by plan_json_schema: every fault kind with its own fields
FaultSpec = Annotated[Fault, PlainValidator(_fault), WithJsonSchema({"type": "object"})]


class Experiment(_Model):
    """One experiment: what to select, which faults to arm, how and when to draw them."""

    name: Annotated[str, AfterValidator(_name)] = Field(description="unique in the plan; recorded on each injection")
    select: Selector
    faults: list[FaultSpec] = Field(min_length=1, description="the faults armed on each selected task, in order")
    enabled: bool = True
    environments: list[str] = Field(
        default=[], description="only where [chaos] environment is one of these; empty: any allowed environment"
    )
    probability: float = Field(default=1.0, ge=0, le=1, allow_inf_nan=False)
    seed: int | None = Field(default=None, description="experiment seed; none: [chaos] seed, else per run")
    dry_run: bool = False
    max_fraction: float = Field(default=1.0, gt=0, le=1, allow_inf_nan=False)
    window: Window | None = None
    max_tasks_per_run: int | None = Field(default=None, ge=1, description="at most this many tasks of a DAG armed")
    max_injections_per_dag_per_day: int | None = Field(
        default=None, ge=0, description="at most this many injections per DAG and UTC day (counted when injecting)"
    )

    _envs = field_validator("environments", mode="before")(_one_or_many)

    def conditions(self) -> str:
        """The drawing settings and run-time conditions, short, for previews."""
        parts = [f"p={self.probability:g}"] if self.probability != 1 else []
        parts += [f"seed={self.seed}"] if self.seed is not None else []
        parts += ["dry_run"] if self.dry_run else []
        parts += [f"max_fraction={self.max_fraction:g}"] if self.max_fraction != 1 else []
        parts += [f"window={self.window.describe()}"] if self.window else []
        parts += [f"run_type={','.join(self.select.run_type)}"] if self.select.run_type else []
        parts += [f"max_tasks_per_run={self.max_tasks_per_run}"] if self.max_tasks_per_run else []
        if self.max_injections_per_dag_per_day is not None:
            parts.append(f"max_injections_per_dag_per_day={self.max_injections_per_dag_per_day}")
        return " ".join(parts) or "-"


class Plan(_Model):
    """A chaos plan file."""

    version: Literal[1] = 1
    experiments: list[Experiment] = Field(min_length=1)


# ====================================================================== errors with file, line and field
def _line_and_path(raw: Any, loc: Sequence[int | str]) -> tuple[int, str]:
    """The line of the deepest node of ``raw`` on the path ``loc``, and the path as text (``a[0].b``)."""
    node, line, path = raw, getattr(raw, "line", 1) or 1, ""
    for part in loc:
        if isinstance(part, int):
            if isinstance(node, _Sequence) and 0 <= part < len(node):
                line, node = node.lines[part], node[part]
                path += f"[{part}]"
            elif not isinstance(node, _Mapping):  # a single value given where a list is allowed
                continue
            else:
                path += f"[{part}]"
            continue
        if isinstance(node, _Mapping) and part in node:
            line, node = node.lines[part], node[part]
        else:
            node = None
        path += f".{part}" if path else str(part)
    return line, path


_FIELD_IN_MESSAGE = re.compile(r"field '([^']*)'")


def _problems(raw: Any, name: str, error: Mapping[str, Any]) -> list[tuple[int, str]]:
    """The problems of one validation error as ``(line, text)``; a fault's own messages name their fields."""
    loc = list(error["loc"])
    messages = str(error["msg"]).removeprefix("Value error, ").split(_SEP)
    if error["type"] == "extra_forbidden":
        messages = ["unknown field" + _allowed_fields(loc)]
    elif error["type"] != "missing" and _scalar(error.get("input")) and len(messages) == 1:
        messages = [messages[0] + f" (got {_short(error['input'])})"]
    return [_located(raw, name, loc, message) for message in messages]


def _located(raw: Any, name: str, loc: list[int | str], message: str) -> tuple[int, str]:
    inner = _FIELD_IN_MESSAGE.search(message)
    if inner:  # a fault's or a window's own check names the field: point at it
        message = (message[: inner.start()] + message[inner.end() :].lstrip(": ")).strip()
        loc = [*loc, *_split_field(inner.group(1))]
    line, path = _line_and_path(raw, loc)
    return line, f"{name}:{line}: field '{path}': {message}"


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _split_field(text: str) -> list[int | str]:
    """``order[2]`` -> ``['order', 2]``."""
    parts: list[int | str] = []
    for piece in re.findall(r"[^.\[\]]+|\[\d+\]", text):
        parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)
    return parts


_MODEL_AT: dict[str, type[BaseModel]] = {"select": Selector, "window": Window}


def _allowed_fields(loc: Sequence[int | str]) -> str:
    """``; allowed: ...`` for an unknown key at ``loc``, naming the fields of the model it sits in."""
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    model: type[BaseModel] = Plan
    if parents:
        model = _MODEL_AT.get(parents[-1], Experiment if parents[-1] == "experiments" else Plan)
    close = difflib.get_close_matches(str(loc[-1]), model.model_fields, n=1) if loc else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; allowed: {', '.join(model.model_fields)}"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unique_names(plan: Plan, raw: Any, name: str) -> list[tuple[int, str]]:
    seen: dict[str, int] = {}
    problems = []
    for i, experiment in enumerate(plan.experiments):
        if experiment.name in seen:
            line, path = _line_and_path(raw, ["experiments", i, "name"])
            problems.append(
                (line, f"{name}:{line}: field '{path}': experiment name {experiment.name!r} "
                 f"is already used by experiments[{seen[experiment.name]}]; names are unique in a plan")
            )
        seen.setdefault(experiment.name, i)
    return problems


# ====================================================================== loading
@dataclass(frozen=True)
class LoadedPlan:
    """A validated plan and where it came from (``name``: the file name, used in injection sources)."""

    plan: Plan
    location: str
    name: str
    experiments: tuple[CompiledExperiment, ...] = field(default=(), repr=False)

    @property
    def fault_count(self) -> int:
        return sum(len(e.faults) for e in self.plan.experiments)


def parse_plan(text: str, location: str = "<plan>") -> LoadedPlan:
    """Validate a plan's YAML text; raises :class:`PlanError` with one ``FILE:LINE: field ...`` line per problem."""
    name = os.path.basename(location.rstrip("/")) or location
    raw = _load_yaml(text, location)
    if not isinstance(raw, _Mapping):
        got = "an empty file" if raw is None else "a list" if isinstance(raw, list) else f"the value {_short(raw)}"
        raise PlanError([f"{location}:1: field '<plan>': a plan is a mapping with 'experiments'; got {got}"])
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as exc:
        problems = dict.fromkeys(p for err in exc.errors() for p in _problems(raw, location, err))
        raise PlanError([text for _, text in sorted(problems, key=lambda p: p[0])]) from None
    duplicates = _unique_names(plan, raw, location)
    if duplicates:
        raise PlanError([text for _, text in duplicates])
    compiled = tuple(CompiledExperiment.of(e, f"plan:{name}#{e.name}") for e in plan.experiments)
    return LoadedPlan(plan=plan, location=location, name=name, experiments=compiled)


def read_plan(location: str) -> LoadedPlan:
    """Read and validate the plan at ``location`` (a local path, or a URL read through fsspec)."""
    path = storage.as_path(location)
    try:
        data = path.read_bytes()
    except (OSError, ValueError) as exc:
        raise PlanError([f"{location}: cannot read the plan file: {getattr(exc, 'strerror', None) or exc}"]) from None
    return parse_bytes(data, location)


def parse_bytes(data: bytes, location: str) -> LoadedPlan:
    if len(data) > MAX_PLAN_BYTES:
        raise PlanError([f"{location}: {len(data)} bytes: a plan file is at most {MAX_PLAN_BYTES} bytes"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PlanError([f"{location}:{line}: field '<yaml>': not UTF-8 text"]) from None
    return parse_plan(text, location)


# ====================================================================== selecting tasks
def _any_of(globs: Sequence[str]) -> re.Pattern[str] | None:
    """One compiled pattern matching any of ``globs``; None when every name matches."""
    if not globs or "*" in globs:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs))


@dataclass(frozen=True)
class CompiledExperiment:
    """An experiment with its selector compiled, ready to be matched thousands of times per parse."""

    experiment: Experiment
    source: str
    dag_re: re.Pattern[str] | None
    task_re: re.Pattern[str] | None
    operator_re: re.Pattern[str] | None
    tags: frozenset[str]
    # the run-time conditions armed tasks check; None when the experiment has none
    gate: ExperimentGate | None
    # operator names -> whether the operator selector matches them (a DAG folder has few operator classes)
    _operator_hits: dict[tuple[str, ...], bool] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, experiment: Experiment, source: str) -> CompiledExperiment:
        s = experiment.select
        gate = None
        if experiment.window is not None or s.run_type or experiment.max_injections_per_dag_per_day is not None:
            gate = ExperimentGate(source, experiment.window, tuple(s.run_type), experiment.max_injections_per_dag_per_day)
        return cls(
            experiment, source, _any_of(s.dag_id), _any_of(s.task_id), _any_of(s.operator), frozenset(s.tags), gate
        )

    @property
    def faults(self) -> tuple[Fault, ...]:
        return tuple(self.experiment.faults)

    def applies_in(self, environment: str) -> bool:
        e = self.experiment
        return e.enabled and (not e.environments or environment in e.environments)

    def selects_dag(self, dag_id: str, tags: Iterable[str]) -> bool:
        if self.dag_re is not None and not self.dag_re.match(dag_id):
            return False
        return not self.tags or self.tags.issubset(tags)

    def selects_task(self, task_id: str, operator_names: tuple[str, ...]) -> bool:
        if self.task_re is not None and not self.task_re.match(task_id):
            return False
        if self.operator_re is None:
            return True
        hit = self._operator_hits.get(operator_names)
        if hit is None:
            hit = self._operator_hits[operator_names] = any(self.operator_re.match(n) for n in operator_names)
        return hit

    def capped(self, dag_id: str, task_ids: Sequence[str]) -> list[str]:
        """The selected tasks of one DAG this experiment arms: all, or ``max_tasks_per_run`` of them.

        The pick is a stable hash of (seed, dag id, task id): the same tasks in every process that
        parses the DAG (the DAG processor and each task's runner).
        """
        cap = self.experiment.max_tasks_per_run
        if cap is None or len(task_ids) <= cap:
            return list(task_ids)
        key = str(self.experiment.seed)

        def rank(task_id: str) -> bytes:
            return hashlib.blake2b(f"{key}\0{dag_id}\0{task_id}".encode(), digest_size=8).digest()

        chosen = set(sorted(task_ids, key=rank)[:cap])
        return [t for t in task_ids if t in chosen]


# ====================================================================== run-time conditions
BUDGET_DIR = "plan-budget"


@dataclass(frozen=True)
class ExperimentGate:
    """An experiment's conditions checked in the armed task: time window, run types, daily cap per DAG.

    The daily cap counts one token object per injection under
    ``<journal root>/plan-budget/<source>/<dag_id>/<UTC day>/``. A task writes its token, then counts
    the tokens it can see, and injects only when the count is within the cap (else it removes its
    token): two tasks racing for the last slot may both step back, but never both go in.
    """

    source: str
    window: Window | None = None
    run_types: tuple[str, ...] = ()
    max_per_dag_per_day: int | None = None

    def refuse(self, *, run_type: str | None, now: datetime) -> str | None:
        """Why the experiment may not inject now, in this run type; None when it may."""
        if self.window is not None and not self.window.contains(now):
            return f"outside the plan's window {self.window.describe()} ({self.source})"
        if self.run_types and run_type not in self.run_types:
            return f"run type {run_type!r} not selected by the plan (run_type: {list(self.run_types)}; {self.source})"
        return None

    def reserve(self, root: str, dag_id: str, now: datetime) -> str | None:
        """Take one slot of today's cap for ``dag_id``; the reason when there is none left."""
        cap = self.max_per_dag_per_day
        if cap is None:
            return None
        day = now.astimezone(timezone.utc).date().isoformat()
        reached = f"max_injections_per_dag_per_day={cap} reached for {dag_id} on {day} ({self.source})"
        if cap == 0:
            return reached
        folder = storage.as_path(root) / BUDGET_DIR / re.sub(r"[^\w.-]", "_", self.source) / dag_id / day
        token = folder / f"{_time.time_ns():020d}-{uuid.uuid4().hex}"
        with contextlib.suppress(OSError, NotImplementedError):
            folder.mkdir(parents=True, exist_ok=True)
        token.write_bytes(b"")
        taken = sum(1 for p in folder.iterdir() if not p.name.startswith("."))
        if taken <= cap:
            return None
        with contextlib.suppress(OSError):
            token.unlink()
        return reached


# ====================================================================== JSON Schema
# fields where one value stands for a one-item list
_ONE_OR_MANY = {
    "Selector": ("dag_id", "task_id", "tags", "operator", "run_type"),
    "Window": ("days",),
    "Experiment": ("environments",),
}


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of a plan file, fault kinds included (each with its own fields), for editors."""
    schema = Plan.model_json_schema()
    defs = schema.setdefault("$defs", {})
    defs["Experiment"]["properties"]["faults"]["items"] = {"$ref": "#/$defs/Fault"}
    for model, names in _ONE_OR_MANY.items():
        for name in names:
            prop = defs[model]["properties"][name]
            prop["anyOf"] = [prop["items"], {"type": "array", "items": prop.pop("items")}]
            del prop["type"]
    variants = []
    for kind, cls in Fault.kinds().items():
        fault_schema = cls.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(fault_schema.pop("$defs", {}))
        fault_schema["properties"] = {"kind": {"const": kind}, **fault_schema.get("properties", {})}
        fault_schema["required"] = ["kind", *fault_schema.get("required", [])]
        fault_schema["additionalProperties"] = False
        defs[f"Fault_{kind}"] = fault_schema
        variants.append({"$ref": f"#/$defs/Fault_{kind}"})
    defs["Fault"] = {
        "description": "a fault: 'kind' and the fields of that kind (airflow-chaos faults)",
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": list(Fault.kinds())}},
        "oneOf": variants,
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "airflow-chaos plan"
    return schema
