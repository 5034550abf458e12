"""Feature-store faults on Feast: stale, lagging, corrupted, skewed, dropped and redefined features.

Every fault names a Feast repository (``repo``: the repo directory or its ``feature_store.yaml``,
templated) and a feature view. They act on the real store through Feast's own API, so they work for
any online store Feast supports:

- online rows are read with ``provider.online_read`` and written with ``provider.online_write_batch``;
- registry objects (a feature view's definition and its materialization intervals) are read and
  written as the view's proto through the registry store (file, S3 and GCS registries).

Every mutation goes through the journal first (:meth:`MutationJournal.change_state`), so the same
teardown, ``airflow-chaos restore`` and preflight paths that undo file faults undo these, with the
compare-and-swap rule: restore puts a row back only while it still holds what the fault left; a row
written since (a new materialization) is ``superseded`` and kept. Rows are journaled one entry per
row for up to :data:`MAX_ENTRIES` rows per fault; above that, in at most :data:`MAX_ENTRIES`
entries of consecutive rows (one journal entry costs an fsync or two, and 100k of them would take
minutes): compare-and-swap is then per group, and a group with any row written since is superseded
as a whole (never overwritten, kept faulted). Journal keys are ``<project>/<view>/<JSON entity keys>``
(rows, resource ``feast.online_rows``) and ``<project>/<view>`` (views, resource ``feast.registry_view``);
the entry's context holds the repo location, never a secret.

How each fault meets the pipeline:

- :class:`StaleFeatures` ``mode="skip"|"backdate"|"watermark"`` is armed ``around`` the task that
  calls ``FeatureStore.materialize``/``materialize_incremental``: the call is intercepted for the
  task's duration (a ContextVar, like the HTTP injector). ``mode="overwrite"`` acts ``after`` a task
  or as an ``InjectFaultOperator`` step: it writes the rows a materialization that stopped ``by`` ago
  would have left.
- :class:`FeatureLag` ``when="around"`` intercepts the online writes of the armed task (push,
  ``write_to_online_store``, a stream job): they land ``by`` behind, or the newest ``by`` never lands.
  ``when="after"`` lags the rows already online.
- :class:`CorruptFeatures`, :class:`ServingSkew`, :class:`DropFeature` change served rows;
  :class:`FeatureVersionMismatch` changes the view's definition in the registry. All act ``after``.

Feast is imported only inside the functions that use it (importing it costs about 10 s).
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from airflow_chaos.exceptions import ChaosConfigError, ChaosInjectionError, ChaosRestoreError
from airflow_chaos.faults.base import (
    Fault,
    FaultContext,
    Phase,
    journal_labels,
    journal_of,
    register_state_resource,
)
from airflow_chaos.records import utcnow

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

MAX_ENTRIES = 64
"""At most this many journal entries for the rows one fault changes (see the module docstring)."""

ONLINE_ROWS = "feast.online_rows"
REGISTRY_VIEW = "feast.registry_view"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

Row = dict[str, Any]  # {"ts": ISO-8601 event timestamp, "values": {feature: base64 ValueProto}}
Rows = dict[str, "Row | None"]  # entity JSON -> row (None: no row online)


# ====================================================================== reaching a Feast store
def use_feast_sqlite_codecs() -> None:
    """Put back the process-wide sqlite3 datetime codecs Feast's SQLite online store relies on.

    Feast registers, on import, an adapter writing datetimes as epoch integers and a ``timestamp``
    converter parsing them; pandas' ``to_sql`` on a sqlite3 connection replaces both with ISO
    strings, for the whole process. A worker that ran one afterwards would write rows Feast's reader
    cannot parse (and fail to read the rows Feast wrote). Called before every store we open.
    """
    import sys

    module = sys.modules.get("feast.infra.online_stores.sqlite")
    if module is None:  # not imported yet: importing it registers Feast's own codecs
        return
    import sqlite3
    from datetime import datetime

    sqlite3.register_adapter(datetime, module.adapt_datetime_epoch)
    sqlite3.register_converter("timestamp", module.convert_timestamp)


def open_store(repo: str) -> Any:
    """A ``FeatureStore`` for ``repo``: a repo directory holding ``feature_store.yaml``, or that file."""
    from airflow_chaos.lazy import require_extra

    FeatureStore = require_extra("feast", "feast", needed_by="a Feast feature-store fault or check").FeatureStore

    use_feast_sqlite_codecs()
    path = Path(repo).expanduser().resolve()
    if path.is_file():
        return FeatureStore(repo_path=str(path.parent), fs_yaml_file=path)
    if (path / "feature_store.yaml").is_file():
        return FeatureStore(repo_path=str(path))
    raise ChaosConfigError(f"field 'repo': no feature_store.yaml at {path} (give the repo directory or the yaml file)")


def repo_context(repo: str) -> dict[str, Any]:
    """What a restore in another process needs to reach the store again: its absolute location."""
    return {"repo": str(Path(repo).expanduser().resolve())}


def entity_json(entity: Mapping[str, Any]) -> str:
    """The one text form of an entity key: ``{"driver_id":1001}`` (sorted keys, compact)."""
    return json.dumps(dict(entity), sort_keys=True, separators=(",", ":"), default=str)


def _value_b64(value: Any) -> str:
    return base64.b64encode(value.SerializeToString(deterministic=True)).decode()


def _value_of(b64: str) -> Any:
    from feast.protos.feast.types.Value_pb2 import Value

    return Value.FromString(base64.b64decode(b64))


def _iso(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).isoformat()


def row_state(ts: datetime, values: Mapping[str, Any]) -> Row:
    """A row as journal state: its event timestamp and each feature's ValueProto (base64), JSON-safe."""
    return {"ts": _iso(ts), "values": {name: _value_b64(v) for name, v in sorted(values.items())}}


_KEY_FIELDS = {"INT64": "int64_val", "INT32": "int32_val", "STRING": "string_val"}


@dataclass
class ViewIO:
    """Bulk reads and writes of one feature view's online rows, through Feast's provider API."""

    repo: str
    store: Any
    view: Any
    _keys: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, repo: str, view_name: str) -> ViewIO:
        store = open_store(repo)
        try:
            view = store.get_feature_view(view_name, allow_registry_cache=False)
        except Exception as exc:  # noqa: BLE001 - Feast raises several not-found types
            raise ChaosConfigError(f"field 'feature_view': {view_name!r} is not a feature view of {repo}: {exc}") from None
        return cls(repo_context(repo)["repo"], store, view)

    @property
    def project(self) -> str:
        return str(self.store.project)

    @property
    def name(self) -> str:
        return str(self.view.name)

    @property
    def provider(self) -> Any:
        return self.store._get_provider()

    def join_key_types(self) -> dict[str, Any]:
        return {f.name: f.dtype.to_value_type() for f in self.view.entity_columns}

    def entity_key(self, entity_text: str) -> Any:
        """The ``EntityKey`` proto of an entity given as its JSON text (cached: keys are built once per view)."""
        key = self._keys.get(entity_text)
        if key is None:
            key = self._keys[entity_text] = self._build_key(json.loads(entity_text))
        return key

    def _build_key(self, entity: Mapping[str, Any]) -> Any:
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value
        from feast.type_map import python_values_to_proto_values

        types = self.join_key_types()
        missing = sorted(set(types) - set(entity))
        if missing:
            raise ChaosConfigError(f"entity {dict(entity)} of view {self.name!r} lacks join keys {missing}")
        values = []
        for name, value_type in types.items():
            field_name = _KEY_FIELDS.get(value_type.name)  # the common key types, without Feast's per-value dispatch
            values.append(Value(**{field_name: entity[name]}) if field_name else python_values_to_proto_values([entity[name]], value_type)[0])
        return EntityKey(join_keys=list(types), entity_values=values)

    def read(self, entities: Sequence[str]) -> Rows:
        """The online rows of ``entities`` (entity JSON), in one read."""
        if not entities:
            return {}
        keys = [self.entity_key(e) for e in entities]
        found = self.provider.online_read(self.store.config, self.view, keys, None)
        return {e: (None if ts is None or values is None else row_state(ts, values)) for e, (ts, values) in zip(entities, found, strict=True)}

    def write(self, rows: Mapping[str, Row | None]) -> None:
        """Make each entity hold its row, in one batch; None removes the row."""
        batch = [
            (self.entity_key(e), {n: _value_of(v) for n, v in row["values"].items()}, datetime.fromisoformat(row["ts"]), None)
            for e, row in rows.items()
            if row is not None
        ]
        if batch:
            self._write_batch(batch)
        gone = [e for e, row in rows.items() if row is None]
        if gone:
            self._delete(gone)

    def _write_batch(self, batch: list[Any]) -> None:
        """Write through the provider, never through this module's own interception."""
        from feast.infra.passthrough_provider import PassthroughProvider

        original = _ORIGINALS.get("online_write_batch")
        if original is not None and isinstance(self.provider, PassthroughProvider):
            original(self.provider, self.store.config, self.view, batch, None)
        else:
            self.provider.online_write_batch(self.store.config, self.view, batch, None)

    def _delete(self, entities: Sequence[str]) -> None:
        """Remove rows. Feast's online-store API has no row delete: SQLite is done here, others refuse."""
        online = getattr(self.provider, "online_store", None)
        from feast.infra.online_stores.sqlite import SqliteOnlineStore, _quote_id, _table_id

        if not isinstance(online, SqliteOnlineStore):
            raise ChaosRestoreError(
                f"cannot remove online rows of {self.name!r} from a {type(online).__name__}: Feast has no row delete"
            )
        from feast.infra.key_encoding_utils import serialize_entity_key

        config = self.store.config
        table = _quote_id(_table_id(config.project, self.view, config.registry.enable_online_feature_view_versioning))
        version = config.entity_key_serialization_version
        conn = online._get_conn(config)
        with conn:
            for e in entities:
                key = serialize_entity_key(self.entity_key(e), entity_key_serialization_version=version)
                conn.execute(f"DELETE FROM {table} WHERE entity_key = ?", (key,))

    # ------------------------------------------------------------------ the offline source
    def source_latest(self, start: datetime, end: datetime) -> Rows:
        """The latest source row of each entity with an event timestamp in [start, end], as online rows."""
        table = self._pull_latest(start, end)
        if table.num_rows == 0:
            return {}
        from feast.type_map import feast_value_type_to_python_type
        from feast.utils import _convert_arrow_to_proto

        out: Rows = {}
        for key, values, ts, _created in _convert_arrow_to_proto(table, self.view, self.join_key_types()):
            entity = {k: feast_value_type_to_python_type(v) for k, v in zip(key.join_keys, key.entity_values, strict=True)}
            text = entity_json(entity)
            self._keys.setdefault(text, key)
            out[text] = row_state(ts, values)
        return out

    def _pull_latest(self, start: datetime, end: datetime) -> pa.Table:
        from feast.utils import _get_column_names, _run_pyarrow_field_mapping

        entities = [self.store.get_entity(name, allow_registry_cache=False) for name in self.view.entities]
        join_keys, features, ts_field, created_field = _get_column_names(self.view, entities)
        job = self.provider.offline_store.pull_latest_from_table_or_query(
            config=self.store.config,
            data_source=self.view.batch_source,
            join_key_columns=join_keys,
            feature_name_columns=features,
            timestamp_field=ts_field,
            created_timestamp_column=created_field,
            start_date=start,
            end_date=end,
        )
        table = job.to_arrow()
        if self.view.batch_source.field_mapping:
            table = _run_pyarrow_field_mapping(table, self.view.batch_source.field_mapping)
        return table

    def online_rows(self) -> Rows:
        """Every row online for the entities the view's source knows (Feast cannot list an online store)."""
        entities = list(self.source_latest(EPOCH, utcnow() + timedelta(days=3650)))
        return {e: row for e, row in self.read(entities).items() if row is not None}


# ====================================================================== journal resources
def _split_key(key: str) -> tuple[str, str, str]:
    project, view, rest = key.split("/", 2)
    return project, view, rest


def rows_key(project: str, view: str, entities: Sequence[str]) -> str:
    """``<project>/<view>/[<entity JSON>, ...]``."""
    return f"{project}/{view}/[{','.join(entities)}]"


def _entities_of(key: str) -> tuple[str, str, list[str]]:
    project, view, rest = _split_key(key)
    return project, view, [entity_json(e) for e in json.loads(rest)]


@dataclass
class OnlineRowsResource:
    """Journal resource ``feast.online_rows``: the online rows of a group of entities of one view.

    State: ``{entity JSON: {"ts": ..., "values": {...}} or None}``. A fault's instance reads from
    rows it fetched in bulk and buffers its writes until :meth:`flush` (after every intent is
    written); the registered instance (restore, in any process) reads and writes through Feast.
    """

    name: str = ONLINE_ROWS
    io: ViewIO | None = None
    cache: Rows = field(default_factory=dict)
    pending: Rows = field(default_factory=dict)

    def _io(self, key: str, context: dict[str, Any]) -> tuple[ViewIO, list[str]]:
        project, view, entities = _entities_of(key)
        io = self.io if self.io is not None and self.io.name == view else _restore_io(context["repo"], view)
        if io.project != project:
            raise ChaosRestoreError(f"{ONLINE_ROWS}: {context['repo']} is project {io.project!r}, the entry is {project!r}")
        return io, entities

    def read(self, key: str, context: dict[str, Any]) -> Any:
        io, entities = self._io(key, context)
        if self.io is not None and all(e in self.cache for e in entities):
            return {e: self.cache[e] for e in entities}
        return io.read(entities)

    def write(self, key: str, context: dict[str, Any], state: Any) -> None:
        io, entities = self._io(key, context)
        rows = {e: (state or {}).get(e) for e in entities}
        if self.io is not None:
            self.pending.update(rows)
        else:
            io.write(rows)

    def flush(self) -> None:
        if self.io is not None and self.pending:
            self.io.write(self.pending)
            self.pending = {}


_RESTORE_IO: dict[tuple[Any, ...], tuple[float, ViewIO]] = {}
_RESTORE_IO_SECONDS = 30.0


def _restore_io(repo: str, view: str) -> ViewIO:
    """A restore reaches the same view for every entry of a fault: open the store once, for a few seconds.

    Keyed by thread (a store's SQLite connection stays in its thread) and by the identity of the repo's
    ``feature_store.yaml`` (a repo rebuilt at the same path is a new store).
    """
    path = Path(repo)
    yaml = path if path.is_file() else path / "feature_store.yaml"
    try:
        stat = yaml.stat()
    except OSError:
        return ViewIO.open(repo, view)
    key = (repo, view, threading.get_ident(), stat.st_ino, stat.st_mtime_ns)
    now = time.monotonic()
    cached = _RESTORE_IO.get(key)
    if cached is not None and now - cached[0] < _RESTORE_IO_SECONDS:
        return cached[1]
    for old in [k for k, (born, _) in _RESTORE_IO.items() if now - born >= _RESTORE_IO_SECONDS]:
        _RESTORE_IO.pop(old, None)
    io = ViewIO.open(repo, view)
    _RESTORE_IO[key] = (now, io)
    return io


@dataclass
class RegistryViewResource:
    """Journal resource ``feast.registry_view``: one feature view's proto (spec and meta) as JSON.

    Read and written through the registry store (``get_registry_proto``/``update_registry_proto``),
    so a restore puts the very object back, materialization intervals and timestamps included.
    """

    name: str = REGISTRY_VIEW

    def read(self, key: str, context: dict[str, Any]) -> Any:
        from google.protobuf.json_format import MessageToDict

        project, view = key.split("/", 1)
        proto = _registry_store(context).get_registry_proto()
        found = _find_view(proto, project, view)
        return None if found is None else MessageToDict(proto.feature_views[found], preserving_proto_field_name=True)

    def write(self, key: str, context: dict[str, Any], state: Any) -> None:
        from feast.protos.feast.core.FeatureView_pb2 import FeatureView as FeatureViewProto
        from google.protobuf.json_format import ParseDict

        project, view = key.split("/", 1)
        store = _registry_store(context)
        proto = store.get_registry_proto()
        found = _find_view(proto, project, view)
        if state is None:
            if found is not None:
                del proto.feature_views[found]
        else:
            new = ParseDict(state, FeatureViewProto())
            if found is None:
                proto.feature_views.append(new)
            else:
                proto.feature_views[found].CopyFrom(new)
        store.update_registry_proto(proto)


def _registry_store(context: Mapping[str, Any]) -> Any:
    registry = open_store(context["repo"]).registry
    store = getattr(registry, "_registry_store", None)
    if store is None:
        raise ChaosInjectionError(
            f"{REGISTRY_VIEW}: a {type(registry).__name__} is not supported (file, S3 and GCS registries are)"
        )
    return store


def _find_view(proto: Any, project: str, view: str) -> int | None:
    for index, fv in enumerate(proto.feature_views):
        if fv.spec.name == view and fv.spec.project == project:
            return index
    return None


register_state_resource(ONLINE_ROWS, OnlineRowsResource)
register_state_resource(REGISTRY_VIEW, RegistryViewResource)


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    size = max(1, math.ceil(len(items) / MAX_ENTRIES))
    return [items[i : i + size] for i in range(0, len(items), size)]


def journal_rows(fault: Fault, ctx: FaultContext, io: ViewIO, new_rows: Mapping[str, Row | None], before: Rows | None = None) -> int:
    """Journal, then write, the rows that change; return how many. One bulk read, one bulk write."""
    current = before if before is not None else io.read(list(new_rows))
    changed = [e for e, row in new_rows.items() if current.get(e) != row]
    if not changed:
        return 0
    journal, labels = journal_of(ctx, fault), journal_labels(ctx)
    resource = OnlineRowsResource(io=io, cache=dict(current))
    entries = []
    for chunk in _chunks(changed):
        after = {e: new_rows[e] for e in chunk}
        key = rows_key(io.project, io.name, chunk)
        entries.append(journal.change_state(resource, key, repo_context(io.repo), _constant(after), **labels).id)
    resource.flush()
    ctx.record(journal_entries=len(entries) + int(ctx.changes.get("journal_entries", 0)))
    return len(changed)


def _constant(state: Any) -> Callable[[Any], Any]:
    return lambda _current: state


def journal_view(fault: Fault, ctx: FaultContext, io: ViewIO, transform: Callable[[dict[str, Any]], dict[str, Any]]) -> str:
    """Journal, then rewrite, the view's registry object with ``transform`` (a dict -> dict on its proto JSON)."""
    resource = RegistryViewResource()
    key = f"{io.project}/{io.name}"

    def change(state: Any) -> Any:
        if state is None:
            raise ChaosConfigError(f"field 'feature_view': {io.name!r} is not in the registry of {io.repo}")
        return canonical_view(transform(json.loads(json.dumps(state))))

    entry = journal_of(ctx, fault).change_state(resource, key, repo_context(io.repo), change, **journal_labels(ctx))
    return entry.id


def canonical_view(state: dict[str, Any]) -> dict[str, Any]:
    """A view-proto dict as the registry gives it back (timestamps in their canonical form), so that the
    journal's checksum of the faulted state is the checksum of what a restore will find."""
    from feast.protos.feast.core.FeatureView_pb2 import FeatureView as FeatureViewProto
    from google.protobuf.json_format import MessageToDict, ParseDict

    return dict(MessageToDict(ParseDict(state, FeatureViewProto()), preserving_proto_field_name=True))


def add_interval(start: datetime, end: datetime) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A view-proto transform recording the materialization interval [start, end]."""

    def transform(state: dict[str, Any]) -> dict[str, Any]:
        meta = state.setdefault("meta", {})
        meta.setdefault("materialization_intervals", []).append(
            {"start_time": _proto_time(start), "end_time": _proto_time(end)}
        )
        return state

    return transform


def _proto_time(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ====================================================================== values
_INT_FIELDS = frozenset({"int32_val", "int64_val"})
_NUMERIC_FIELDS = _INT_FIELDS | {"float_val", "double_val"}


def number_of(b64: str) -> float | None:
    """The numeric value of a stored ValueProto, or None (null, or not a number)."""
    value = _value_of(b64)
    which = value.WhichOneof("val")
    return float(getattr(value, which)) if which in _NUMERIC_FIELDS else None


def with_number(b64: str, number: float) -> str:
    """The stored ValueProto with its number replaced (same type; integers rounded)."""
    from feast.protos.feast.types.Value_pb2 import Value

    which = _value_of(b64).WhichOneof("val")
    out = Value()
    setattr(out, which, round(number) if which in _INT_FIELDS else float(number))
    return _value_b64(out)


def _with_feature(row: Row, feature: str, b64: str) -> Row:
    return {"ts": row["ts"], "values": {**row["values"], feature: b64}}


# ====================================================================== the faults
class FeatureFault(Fault):
    """A fault on one Feast feature view. Acts ``after`` the armed task, or as an ``InjectFaultOperator`` step."""

    phase: ClassVar[Phase] = "after"
    template_fields = ("repo", "feature_view")

    repo: str = Field(min_length=1, description="The Feast repo directory or its feature_store.yaml (templated).")
    feature_view: str = Field(min_length=1, description="The feature view to fault (templated).")

    def target(self) -> str:
        return f"feast:{self.feature_view}"

    def before(self, ctx: FaultContext) -> None:
        self.mutate(ctx)

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        self.mutate(ctx)
        return value

    def mutate(self, ctx: FaultContext) -> None:
        """Change the store, journaled first."""
        raise NotImplementedError

    def rewrite_rows(self, ctx: FaultContext, change: Callable[[ViewIO, Rows], Rows]) -> None:
        """Journal and write ``change(io, rows online)`` (only the rows that change); record counts."""
        io = ViewIO.open(self.repo, self.feature_view)
        online = io.online_rows()
        ctx.record(feature_view=io.name, project=io.project, entities_online=len(online))
        if not online:
            ctx.ineffective(f"view {io.name!r} has no rows online")
            return
        changed = journal_rows(self, ctx, io, _capped(change(io, online), len(online), ctx), before=online)
        ctx.record(rows_changed=changed)
        if changed == 0:
            ctx.ineffective(f"no online row of {io.name!r} changed")


def _capped(rows: Rows, online: int, ctx: FaultContext) -> Rows:
    """At most ``max_fraction`` of the entities online change (the blast-radius cap): a seeded subset."""
    cap = math.floor(ctx.max_fraction * online)
    if len(rows) <= cap:
        return rows
    keys = sorted(rows)
    kept = sorted(ctx.rng.choice(len(keys), size=cap, replace=False)) if cap else []
    ctx.record(capped_by_max_fraction=len(rows) - cap)
    return {keys[i]: rows[keys[i]] for i in kept}


def _feature_of(fault: FeatureFault, io: ViewIO, feature: str) -> str:
    names = [f.name for f in io.view.features]
    if feature not in names:
        raise ChaosConfigError(f"{fault.kind}: field 'feature': {feature!r} is not in view {io.name!r}; allowed: {', '.join(names)}")
    return feature


def _cutoff_rows(io: ViewIO, online: Rows, cutoff: datetime) -> Rows:
    """For rows newer than ``cutoff``: the latest source row at or before it (what a store stuck at ``cutoff`` serves)."""
    newer = {e for e, row in online.items() if row is not None and datetime.fromisoformat(row["ts"]) > cutoff}
    if not newer:
        return {}
    older = io.source_latest(EPOCH, cutoff)
    return {e: older[e] for e in newer if e in older}


class StaleFeatures(FeatureFault):
    """Materialization fails while the pipeline stays green: the online store keeps serving old values.

    The online store does not enforce the view's TTL, so nothing notices unless a check compares the
    served event timestamps with it (``CheckFeaturesOperator``, ``FeatureFreshnessSensor``).

    - ``mode="skip"``: the armed task's ``materialize``/``materialize_incremental`` for the view does
      not happen, and the task succeeds.
    - ``mode="backdate"``: it runs with an end date ``by`` earlier (rows and recorded interval).
    - ``mode="watermark"``: the interval is recorded (the incremental watermark advances) while no row
      is written: an engine that advances the watermark before its job finishes, or an online store
      that reports success with 0 rows written. The next incremental run starts after the gap.
    - ``mode="overwrite"``: acts after a task or as a step: rows newer than ``now - by`` are replaced
      by the latest source row at or before it (old values with their old event timestamps).

    The first three are armed ``around`` the task that materializes; other views it materializes
    run untouched.

    Examples:
        ``chaos(materialize, faults.StaleFeatures(repo=REPO, feature_view="driver_hourly_stats", mode="skip"))``
    """

    kind = "stale_features"
    signals = ("feature.freshness",)
    phase: ClassVar[Phase] = "around"  # the default mode's; ``overwrite`` acts ``after`` (see ``active_phase``)

    mode: Literal["skip", "backdate", "watermark", "overwrite"] = Field(default="skip", description="How the materialization fails.")
    by: timedelta | None = Field(default=None, description="How far back (backdate, overwrite); e.g. 2 days.")

    @model_validator(mode="after")
    def _needs_by(self) -> StaleFeatures:
        needs = self.mode in ("backdate", "overwrite")
        if needs and (self.by is None or self.by <= timedelta(0)):
            raise ValueError(f"mode {self.mode!r} needs 'by' > 0")
        if not needs and self.by is not None:
            raise ValueError(f"mode {self.mode!r} takes no 'by' (only backdate and overwrite do)")
        return self

    @property
    def active_phase(self) -> Phase:
        return "after" if self.mode == "overwrite" else "around"

    def around(self, ctx: FaultContext) -> contextlib.AbstractContextManager[None]:
        return _armed(_MaterializeInterceptor(fault=self, ctx=ctx))

    def mutate(self, ctx: FaultContext) -> None:
        assert self.by is not None  # validated
        cutoff = utcnow() - self.by
        ctx.record(mode=self.mode, cutoff=cutoff.isoformat())
        self.rewrite_rows(ctx, lambda io, online: _cutoff_rows(io, online, cutoff))


class FeatureLag(FeatureFault):
    """A stream or push source lags by ``by``.

    ``mode="shift"``: rows carry event timestamps ``by`` behind; ``mode="drop"``: the newest ``by``
    worth of rows never arrives (an entity keeps its latest row at or before ``now - by``).
    ``when="around"`` (default) intercepts the online writes the armed task makes (push,
    ``write_to_online_store``, any ``online_write_batch``) for the view; ``when="after"`` lags the
    rows already online (after a task, or as a step).
    """

    kind = "feature_lag"
    signals = ("feature.freshness",)
    phase: ClassVar[Phase] = "around"  # the default ``when``; ``when="after"`` acts after the task

    by: timedelta = Field(description="How far behind the source is.")
    mode: Literal["shift", "drop"] = Field(default="shift", description="Shift timestamps back, or drop the newest rows.")
    when: Literal["around", "after"] = Field(default="around", description="Lag the task's writes, or the rows online.")

    @model_validator(mode="after")
    def _positive(self) -> FeatureLag:
        if self.by <= timedelta(0):
            raise ValueError("'by' must be > 0")
        return self

    @property
    def active_phase(self) -> Phase:
        return self.when

    def around(self, ctx: FaultContext) -> contextlib.AbstractContextManager[None]:
        return _armed(_WriteInterceptor(fault=self, ctx=ctx))

    def lagged(self, io: ViewIO, rows: Rows, now: datetime) -> Rows:
        """The rows as a source ``by`` behind delivers them (only those that differ)."""
        if self.mode == "drop":
            return _cutoff_rows(io, rows, now - self.by)
        out: Rows = {}
        for e, row in rows.items():
            if row is not None:
                out[e] = {"ts": _iso(datetime.fromisoformat(row["ts"]) - self.by), "values": row["values"]}
        return out

    def mutate(self, ctx: FaultContext) -> None:
        ctx.record(mode=self.mode, by_seconds=self.by.total_seconds())
        now = utcnow()
        self.rewrite_rows(ctx, lambda io, online: self.lagged(io, online, now))


class CorruptFeatures(FeatureFault):
    """Out-of-range values served from the online store for a seeded ``fraction`` of entities.

    Give ``value`` (set the feature to it) or ``scale`` (multiply it). Offline data is untouched.
    """

    kind = "corrupt_features"
    signals = ("feature.validity",)

    feature: str = Field(min_length=1, description="The feature to corrupt.")
    fraction: float = Field(gt=0, le=1, description="Fraction of the entities online to corrupt.")
    value: float | None = Field(default=None, description="Set the feature to this value.")
    scale: float | None = Field(default=None, description="Multiply the feature by this factor.")

    @model_validator(mode="after")
    def _one_change(self) -> CorruptFeatures:
        if (self.value is None) == (self.scale is None):
            raise ValueError("give exactly one of 'value' or 'scale'")
        return self

    def corrupt(self, number: float) -> float:
        return self.value if self.value is not None else number * float(self.scale or 1.0)

    def mutate(self, ctx: FaultContext) -> None:
        def change(io: ViewIO, online: Rows) -> Rows:
            feature = _feature_of(self, io, self.feature)
            numeric = sorted(e for e, r in online.items() if r and number_of(r["values"].get(feature, "")) is not None)
            count = round(ctx.bounded_fraction(self.fraction) * len(numeric))
            picked = [numeric[i] for i in sorted(ctx.rng.choice(len(numeric), size=count, replace=False))] if count else []
            ctx.record(feature=feature, entities_corrupted=len(picked))
            out: Rows = {}
            for e in picked:
                row = online[e]
                assert row is not None
                number = number_of(row["values"][feature])
                out[e] = _with_feature(row, feature, with_number(row["values"][feature], self.corrupt(number or 0.0)))
            return out

        self.rewrite_rows(ctx, change)


_TRANSFORMS: dict[str, Callable[[float], float]] = {
    "log1p": lambda x: math.log1p(x) if x > -1 else x,
    "square": lambda x: x * x,
    "negate": lambda x: -x,
    "sqrt": lambda x: math.sqrt(x) if x >= 0 else x,
}


class ServingSkew(FeatureFault):
    """Train/serve skew: serving values go through a transform training never saw; offline data untouched.

    Give one of ``shift`` (add), ``scale`` (multiply) or ``transform`` (``log1p``, ``square``,
    ``negate``, ``sqrt``): every entity online is changed, as a changed serving-side pipeline would.
    """

    kind = "serving_skew"
    signals = ("feature.skew",)

    feature: str = Field(min_length=1, description="The feature whose serving values are skewed.")
    shift: float | None = Field(default=None, description="Add this to every served value.")
    scale: float | None = Field(default=None, description="Multiply every served value by this.")
    transform: Literal["log1p", "square", "negate", "sqrt"] | None = Field(default=None, description="Apply this function.")

    @model_validator(mode="after")
    def _one_change(self) -> ServingSkew:
        if sum(x is not None for x in (self.shift, self.scale, self.transform)) != 1:
            raise ValueError("give exactly one of 'shift', 'scale' or 'transform'")
        return self

    def skewed(self, number: float) -> float:
        if self.shift is not None:
            return number + self.shift
        if self.scale is not None:
            return number * self.scale
        return _TRANSFORMS[str(self.transform)](number)

    def mutate(self, ctx: FaultContext) -> None:
        def change(io: ViewIO, online: Rows) -> Rows:
            feature = _feature_of(self, io, self.feature)
            out: Rows = {}
            for e, row in online.items():
                number = number_of(row["values"].get(feature, "")) if row else None
                if row is not None and number is not None:
                    out[e] = _with_feature(row, feature, with_number(row["values"][feature], self.skewed(number)))
            ctx.record(feature=feature, entities_skewed=len(out))
            return out

        self.rewrite_rows(ctx, change)


class DropFeature(FeatureFault):
    """A feature the model uses disappears from what serving returns (its value is gone for every entity).

    ``get_online_features`` then returns None for it. Recoverable: a pipeline that falls back to a
    default and whose output checks pass has RECOVERED; one that raises has FAILED_LOUDLY.
    """

    kind = "drop_feature"
    signals = ("feature.validity",)
    recoverable = True

    feature: str = Field(min_length=1, description="The feature that disappears.")

    def mutate(self, ctx: FaultContext) -> None:
        from feast.protos.feast.types.Value_pb2 import Value

        empty = _value_b64(Value())

        def change(io: ViewIO, online: Rows) -> Rows:
            feature = _feature_of(self, io, self.feature)
            ctx.record(feature=feature)
            return {e: _with_feature(row, feature, empty) for e, row in online.items() if row is not None}

        self.rewrite_rows(ctx, change)


FEAST_TYPES: dict[str, str] = {
    "Int32": "INT32",
    "Int64": "INT64",
    "Float32": "FLOAT",
    "Float64": "DOUBLE",
    "String": "STRING",
    "Bool": "BOOL",
    "Bytes": "BYTES",
    "UnixTimestamp": "UNIX_TIMESTAMP",
}


class FeatureVersionMismatch(FeatureFault):
    """Serving reads a changed definition of the view: a field renamed or retyped in the registry.

    The model was trained on the old definition; the view's proto in the registry now differs
    (``rename={"conv_rate": "conversion_rate"}``, ``retype={"avg_daily_trips": "String"}``), as after
    an unreviewed ``feast apply``. Online rows are untouched. Types: Int32, Int64, Float32, Float64,
    String, Bool, Bytes, UnixTimestamp.
    """

    kind = "feature_version_mismatch"
    signals = ("feature.schema",)

    rename: dict[str, str] | None = Field(default=None, description="Fields to rename: {old: new}.")
    retype: dict[str, Literal["Int32", "Int64", "Float32", "Float64", "String", "Bool", "Bytes", "UnixTimestamp"]] | None = Field(
        default=None, description="Fields to retype: {field: Feast type}."
    )

    @model_validator(mode="after")
    def _some_change(self) -> FeatureVersionMismatch:
        if not self.rename and not self.retype:
            raise ValueError("give 'rename' or 'retype' (or both)")
        return self

    def redefine(self, state: dict[str, Any]) -> dict[str, Any]:
        features = state.get("spec", {}).get("features", [])
        names = [f.get("name") for f in features]
        for field_name in [*(self.rename or {}), *(self.retype or {})]:
            if field_name not in names:
                raise ChaosConfigError(f"{self.kind}: field {field_name!r} is not in view {self.feature_view!r}; allowed: {', '.join(map(str, names))}")
        for f in features:
            name = f.get("name")
            if self.retype and name in self.retype:
                f["value_type"] = FEAST_TYPES[self.retype[name]]
            if self.rename and name in self.rename:
                f["name"] = self.rename[name]
        return state

    def mutate(self, ctx: FaultContext) -> None:
        io = ViewIO.open(self.repo, self.feature_view)
        entry = journal_view(self, ctx, io, self.redefine)
        ctx.record(feature_view=io.name, project=io.project, renamed=self.rename or {}, retyped=self.retype or {}, journal_entries=1, journal_entry=entry)


# ====================================================================== interception for a task's duration
_ARMED: contextvars.ContextVar[tuple[Any, ...]] = contextvars.ContextVar("airflow_chaos_feast", default=())
_ORIGINALS: dict[str, Any] = {}
_INSTALL_LOCK = threading.Lock()


def _install() -> None:
    """Wrap ``FeatureStore.materialize``, ``materialize_incremental`` and the provider's ``online_write_batch``, once."""
    if _ORIGINALS:
        return
    with _INSTALL_LOCK:
        if _ORIGINALS:
            return
        from feast import FeatureStore
        from feast.infra.passthrough_provider import PassthroughProvider

        originals = {
            "materialize": FeatureStore.materialize,
            "materialize_incremental": FeatureStore.materialize_incremental,
            "online_write_batch": PassthroughProvider.online_write_batch,
        }
        FeatureStore.materialize = _materialize  # type: ignore[method-assign]
        FeatureStore.materialize_incremental = _materialize_incremental  # type: ignore[method-assign]
        PassthroughProvider.online_write_batch = _online_write_batch  # type: ignore[method-assign]
        _ORIGINALS.update(originals)


@contextlib.contextmanager
def _armed(interceptor: Any) -> Iterator[None]:
    _install()
    token = _ARMED.set((*_ARMED.get(), interceptor))
    try:
        yield
    finally:
        _ARMED.reset(token)
    interceptor.finish()


def _active(kind: type[Any], project: str) -> list[Any]:
    return [i for i in _ARMED.get() if isinstance(i, kind) and i.project == project]


@dataclass
class _Interceptor:
    """What the patched Feast methods consult while a fault is armed; an error inside it is the engine's."""

    error: BaseException | None = field(default=None, init=False)

    def failed(self, exc: BaseException) -> None:
        """The fault failed mid-call: the task's call runs untouched, and the wrapper records an engine error on exit."""
        log.warning("chaos: %s failed inside the chaos engine; the call runs untouched: %s", type(self).__name__, exc)
        if self.error is None:
            self.error = exc

    def raise_error(self) -> None:
        if self.error is not None:
            raise ChaosInjectionError(f"feature fault failed while the task ran: {self.error}") from self.error


@dataclass
class _MaterializeInterceptor(_Interceptor):
    fault: StaleFeatures = field(kw_only=True)
    ctx: FaultContext = field(kw_only=True)
    calls: int = 0

    def __post_init__(self) -> None:
        self.io = ViewIO.open(self.fault.repo, self.fault.feature_view)
        self.project = self.io.project

    def handle(self, store: Any, start: datetime | None, end: datetime) -> None:
        """The faulted materialization of the armed view from ``start`` (None: incremental) to ``end``."""
        self.calls += 1
        view = store.get_feature_view(self.io.name, allow_registry_cache=False)
        end = _aware(end)
        if start is None:
            start = view.most_recent_end_time or (end - view.ttl if view.ttl else end - timedelta(weeks=52))
        start = _aware(start)
        mode = self.fault.mode
        self.ctx.record(mode=mode, feature_view=self.io.name, calls=self.calls, requested=[start.isoformat(), end.isoformat()])
        if mode == "skip":
            self.ctx.record(rows_written=0, interval=None)
            return
        if mode == "backdate":
            assert self.fault.by is not None
            end = end - self.fault.by
            if end <= start:
                self.ctx.record(rows_written=0, interval=None)
                return
            rows = self.io.source_latest(start, end)
            written = journal_rows(self.fault, self.ctx, self.io, rows)
            self.ctx.record(rows_written=written)
        else:
            self.ctx.record(rows_written=0)
        journal_view(self.fault, self.ctx, self.io, add_interval(start, end))
        self.ctx.record(interval=[start.isoformat(), end.isoformat()])

    def finish(self) -> None:
        self.raise_error()
        if self.calls == 0:
            self.ctx.ineffective(f"the armed task never materialized view {self.io.name!r}")


def _aware(ts: datetime) -> datetime:
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts


def _split_views(store: Any, feature_views: Sequence[str] | None, interceptor: _MaterializeInterceptor) -> list[str] | None:
    """The views to materialize normally; None when the armed view is not part of the call."""
    names = list(feature_views) if feature_views else [fv.name for fv in store.list_feature_views()]
    if interceptor.io.name not in names:
        return None
    return [n for n in names if n != interceptor.io.name]


def _materialize(self: Any, start_date: datetime, end_date: datetime, feature_views: list[str] | None = None, *args: Any, **kwargs: Any) -> None:
    original = _ORIGINALS["materialize"]
    armed = _active(_MaterializeInterceptor, self.project)
    others = _split_views(self, feature_views, armed[0]) if armed else None
    if others is None:
        return original(self, start_date, end_date, feature_views, *args, **kwargs)
    try:
        armed[0].handle(self, start_date, end_date)
    except Exception as exc:  # noqa: BLE001 - an engine error never changes the task's call
        armed[0].failed(exc)
        return original(self, start_date, end_date, feature_views, *args, **kwargs)
    if others:
        original(self, start_date, end_date, others, *args, **kwargs)
    return None


def _materialize_incremental(self: Any, end_date: datetime, feature_views: list[str] | None = None, *args: Any, **kwargs: Any) -> None:
    original = _ORIGINALS["materialize_incremental"]
    armed = _active(_MaterializeInterceptor, self.project)
    others = _split_views(self, feature_views, armed[0]) if armed else None
    if others is None:
        return original(self, end_date, feature_views, *args, **kwargs)
    try:
        armed[0].handle(self, None, end_date)
    except Exception as exc:  # noqa: BLE001 - an engine error never changes the task's call
        armed[0].failed(exc)
        return original(self, end_date, feature_views, *args, **kwargs)
    if others:
        original(self, end_date, others, *args, **kwargs)
    return None


@dataclass
class _WriteInterceptor(_Interceptor):
    fault: FeatureLag = field(kw_only=True)
    ctx: FaultContext = field(kw_only=True)
    rows_seen: int = 0
    rows_written: int = 0

    def __post_init__(self) -> None:
        self.io = ViewIO.open(self.fault.repo, self.fault.feature_view)
        self.project = self.io.project

    def handle(self, data: Sequence[Any]) -> None:
        from feast.type_map import feast_value_type_to_python_type

        rows: Rows = {}
        for key, values, ts, _created in data:
            entity = {k: feast_value_type_to_python_type(v) for k, v in zip(key.join_keys, key.entity_values, strict=True)}
            rows[entity_json(entity)] = row_state(ts, values)
        self.rows_seen += len(rows)
        lagged = self.fault.lagged(self.io, rows, utcnow())
        self.rows_written += journal_rows(self.fault, self.ctx, self.io, lagged)
        self.ctx.record(mode=self.fault.mode, feature_view=self.io.name, rows_seen=self.rows_seen, rows_lagged=self.rows_written, rows_dropped=len(rows) - len(lagged) if self.fault.mode == "drop" else 0)

    def finish(self) -> None:
        self.raise_error()
        if self.rows_seen == 0:
            self.ctx.ineffective(f"the armed task wrote no online rows to view {self.io.name!r}")


def _online_write_batch(self: Any, config: Any, table: Any, data: Any, progress: Any) -> None:
    original = _ORIGINALS["online_write_batch"]
    armed = [i for i in _active(_WriteInterceptor, config.project) if i.io.name == getattr(table, "name", None)]
    if not armed:
        return original(self, config, table, data, progress)
    rows = list(data)
    try:
        armed[0].handle(rows)
    except Exception as exc:  # noqa: BLE001 - an engine error never changes the task's call
        armed[0].failed(exc)
        return original(self, config, table, rows, progress)
    return None
