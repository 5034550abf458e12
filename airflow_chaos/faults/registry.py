"""Model-registry faults on MLflow: an old version behind the alias, stripped metadata, a changed
signature, an unreachable registry, a broken model.

Every fault names a registered model (``model``, templated) and reaches the registry through
MLflow's own client: ``tracking_uri``/``registry_uri`` (templated; default: what MLflow resolves,
``MLFLOW_TRACKING_URI``/``MLFLOW_REGISTRY_URI``). A URI with credentials in it is journaled without
them: tokens stay in the environment MLflow reads (``MLFLOW_TRACKING_TOKEN``), never in a record.

Every mutation goes through the journal first (:meth:`MutationJournal.change_state`) and is undone by
the usual paths (the ``ChaosRestoreOperator`` teardown, ``airflow-chaos restore``, the next run's
preflight) with the compare-and-swap rule: a state someone changed since the fault is left alone
(``superseded``). Journal resources and their states:

========================  ========================  ===================================================
resource                  key                       state
========================  ========================  ===================================================
``mlflow.alias``          ``<model>/<alias>``       ``{"version": "3"}``; None: no such alias
``mlflow.version_meta``   ``<model>/<version>``     ``{"description": ..., "tags": {...}}``
``mlflow.mlmodel``        ``<model>/<version>``     ``{"mlmodel": <the MLmodel file's text>}``
``mlflow.model_version``  ``<model>/<model id>``    ``{"model_id": ..., "source": "models:/<id>"}``: a
                                                    version a fault registered; restore deletes it
========================  ========================  ===================================================

So a champion alias moved by a deployment since the fault is ``superseded`` and kept, an MLmodel
file rewritten since is kept, and a version registered by :class:`BrokenModel` is deleted on restore
(with its logged model) once the alias it took over has been put back.

How each fault meets the pipeline: :class:`RepointAlias`, :class:`StripMetadata`,
:class:`ChangeSignature` and :class:`BrokenModel` change the registry ``after`` the armed task
(``when="before"``: before it), or as an ``InjectFaultOperator`` step. :class:`RegistryOutage` only
exists ``around`` the armed task. MLflow is imported only inside the functions that use it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, field_validator, model_validator

from airflow_chaos import storage
from airflow_chaos.exceptions import ChaosConfigError, ChaosRestoreError
from airflow_chaos.faults.base import (
    Fault,
    FaultContext,
    Phase,
    journal_labels,
    journal_of,
    register_state_resource,
)
from airflow_chaos.faults.http import past_first_tries
from airflow_chaos.faults.http_injector import Effect, Rule, arm

log = logging.getLogger(__name__)

ALIAS = "mlflow.alias"
VERSION_META = "mlflow.version_meta"
MLMODEL = "mlflow.mlmodel"
MODEL_VERSION = "mlflow.model_version"
CHAOS_TAG = "airflow_chaos.injection"
Metadata = Literal["signature", "input_example", "tags", "description"]
METADATA: tuple[Metadata, ...] = ("signature", "input_example", "tags", "description")
SIGNATURE_TYPES = ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime")


# ====================================================================== reaching the registry
def mlflow_module() -> ModuleType:
    """``mlflow``, or :class:`~airflow_chaos.exceptions.ChaosMissingExtra` naming ``airflow-chaos[mlflow]``."""
    from airflow_chaos.lazy import require_extra

    return require_extra("mlflow", "mlflow", needed_by="a model-registry fault or check")


def mlflow_part(name: str) -> Any:
    """A submodule of MLflow (``"tracking._tracking_service.utils"``), typed loosely: MLflow is partly untyped."""
    import importlib

    mlflow_module()
    return importlib.import_module(f"mlflow.{name}")


def load_request_header_plugins() -> None:
    """Load MLflow's request-header plugins now: the first REST call of a process loads them (entry
    points; Feast's alone costs seconds), which a timed call must not pay."""
    mlflow_part("tracking.request_header.registry").resolve_request_headers()


def without_credentials(uri: str) -> str:
    """``uri`` without userinfo (``http://user:token@host`` -> ``http://host``): what a journal may keep."""
    parts = urlsplit(uri)
    if not parts.netloc or "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def resolve_uris(tracking_uri: str | None = None, registry_uri: str | None = None) -> dict[str, str]:
    """The tracking and registry URIs MLflow resolves for these arguments (environment and defaults included)."""
    tracking = str(mlflow_part("tracking._tracking_service.utils")._resolve_tracking_uri(tracking_uri or None))
    registry = str(mlflow_part("tracking._model_registry.utils")._resolve_registry_uri(registry_uri or None, tracking))
    return {"tracking_uri": tracking, "registry_uri": registry}


def registry_context(tracking_uri: str | None = None, registry_uri: str | None = None) -> dict[str, str]:
    """What a restore in another process needs to reach the registry again (URIs, never a credential)."""
    return {name: without_credentials(uri) for name, uri in resolve_uris(tracking_uri, registry_uri).items()}


def split_key(key: str) -> tuple[str, str]:
    """``"<model>/<alias or version>"`` -> ``(model, alias or version)`` (the model name may hold slashes)."""
    model, _, item = key.rpartition("/")
    if not model or not item:
        raise ChaosRestoreError(f"mlflow journal key {key!r} is not '<model>/<item>'")
    return model, item


def _local_dir(uri: str) -> Path | None:
    parts = urlsplit(uri)
    if parts.scheme in ("", "file") and not parts.netloc:
        return Path(unquote(parts.path))
    return None


@dataclass
class Registry:
    """Reads and writes of one MLflow registry, through ``MlflowClient`` (context: its URIs)."""

    context: Mapping[str, str]

    @cached_property
    def client(self) -> Any:
        mlflow = mlflow_module()
        return mlflow.MlflowClient(
            tracking_uri=self.context.get("tracking_uri"), registry_uri=self.context.get("registry_uri")
        )

    def alias_version(self, model: str, alias: str) -> str | None:
        """The version ``alias`` points to, None when the alias is not set (aliases of ``get_registered_model``)."""
        version = self.client.get_registered_model(model).aliases.get(alias)
        return None if version is None else str(version)

    def model_versions(self, model: str) -> list[Any]:
        """Every version of ``model``, oldest first."""
        found = self.client.search_model_versions(filter_string=f"name = '{model}'")
        return sorted((v for v in found if v.name == model), key=lambda v: int(v.version))

    def versions(self, model: str) -> list[str]:
        return [str(v.version) for v in self.model_versions(model)]

    def version(self, model: str, version: str) -> Any | None:
        """The ``ModelVersion``, or None when it does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version(model, str(version))
        except MlflowException as exc:
            if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def require_version(self, model: str, version: str, field_name: str = "version") -> Any:
        found = self.version(model, version)
        if found is None:
            raise ChaosConfigError(
                f"field '{field_name}': model {model!r} has no version {version!r}; versions: {', '.join(self.versions(model)) or 'none'}"
            )
        return found

    def artifact_uri(self, model: str, version: str) -> str:
        """Where the version's model files live (a local directory or a store URL)."""
        return str(self.client.get_model_version_download_uri(model, str(version)))

    # ------------------------------------------------------------------ the MLmodel file
    def read_mlmodel(self, artifact_uri: str) -> str | None:
        local = _local_dir(artifact_uri)
        if local is not None:
            path = local / "MLmodel"
            return path.read_text() if path.is_file() else None
        repository = mlflow_part("store.artifact.artifact_repository_registry").get_artifact_repository(artifact_uri)
        with tempfile.TemporaryDirectory(prefix="chaos-mlmodel-") as tmp:
            try:
                path = repository.download_artifacts("MLmodel", dst_path=tmp)
            except Exception:  # noqa: BLE001 - stores raise their own not-found types
                return None
            return Path(path).read_text()

    def write_mlmodel(self, artifact_uri: str, text: str) -> None:
        local = _local_dir(artifact_uri)
        if local is not None:
            storage.write_atomic(local / "MLmodel", text.encode())
            return
        repository = mlflow_part("store.artifact.artifact_repository_registry").get_artifact_repository(artifact_uri)
        with tempfile.TemporaryDirectory(prefix="chaos-mlmodel-") as tmp:
            path = Path(tmp) / "MLmodel"
            path.write_text(text)
            repository.log_artifact(str(path))

    def mlmodel_of(self, model: str, version: str) -> dict[str, Any]:
        """The version's MLmodel file, parsed ({} when it has none)."""
        text = self.read_mlmodel(self.artifact_uri(model, version))
        return parse_mlmodel(text) if text else {}

    def versions_of_logged_model(self, model: str, model_id: str) -> list[Any]:
        source = f"models:/{model_id}"
        return [v for v in self.model_versions(model) if v.source == source or getattr(v, "model_id", None) == model_id]


# ====================================================================== the MLmodel file
def parse_mlmodel(text: str) -> dict[str, Any]:
    import yaml

    doc = yaml.safe_load(text)
    return doc if isinstance(doc, dict) else {}


def dump_mlmodel(doc: Mapping[str, Any]) -> str:
    """YAML the way MLflow writes MLmodel files (block style, keys in their order)."""
    import yaml

    return str(yaml.safe_dump(dict(doc), default_flow_style=False, sort_keys=False))


def signature_inputs(doc: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The column-based input schema of an MLmodel document (``[{"name", "type", ...}]``), None without one."""
    signature = doc.get("signature")
    if not isinstance(signature, Mapping) or not signature.get("inputs"):
        return None
    inputs = signature["inputs"]
    parsed = json.loads(inputs) if isinstance(inputs, str) else inputs
    return list(parsed) if isinstance(parsed, list) else None


def with_inputs(doc: Mapping[str, Any], inputs: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(doc)
    out["signature"] = {**dict(doc.get("signature") or {}), "inputs": json.dumps(inputs)}
    return out


# ====================================================================== journal resources
@dataclass
class AliasResource:
    """Journal resource ``mlflow.alias``: the version an alias points to."""

    name: str = ALIAS

    def read(self, key: str, context: dict[str, Any]) -> Any:
        model, alias = split_key(key)
        version = Registry(context).alias_version(model, alias)
        return None if version is None else {"version": version}

    def write(self, key: str, context: dict[str, Any], state: Any) -> None:
        model, alias = split_key(key)
        client = Registry(context).client
        if state is None:
            from mlflow.exceptions import MlflowException

            with contextlib.suppress(MlflowException):
                client.delete_registered_model_alias(model, alias)
        else:
            client.set_registered_model_alias(model, alias, str(state["version"]))


@dataclass
class VersionMetaResource:
    """Journal resource ``mlflow.version_meta``: a version's description and tags."""

    name: str = VERSION_META

    def read(self, key: str, context: dict[str, Any]) -> Any:
        model, version = split_key(key)
        found = Registry(context).version(model, version)
        if found is None:
            return None
        return {"description": found.description or "", "tags": dict(sorted((found.tags or {}).items()))}

    def write(self, key: str, context: dict[str, Any], state: Any) -> None:
        model, version = split_key(key)
        if state is None:
            raise ChaosRestoreError(f"{VERSION_META}: will not delete version {version} of {model!r}")
        registry = Registry(context)
        current = self.read(key, context) or {"description": "", "tags": {}}
        client = registry.client
        if current["description"] != state["description"]:
            client.update_model_version(model, version, description=state["description"])
        for tag in set(current["tags"]) - set(state["tags"]):
            client.delete_model_version_tag(model, version, tag)
        for tag, value in state["tags"].items():
            if current["tags"].get(tag) != value:
                client.set_model_version_tag(model, version, tag, value)


@dataclass
class MLmodelResource:
    """Journal resource ``mlflow.mlmodel``: the text of a version's MLmodel file (signature, input example).

    The entry's context holds the artifact location (``artifact_uri``): a local directory is written
    atomically, a store through MLflow's artifact repository.
    """

    name: str = MLMODEL

    def read(self, key: str, context: dict[str, Any]) -> Any:
        text = Registry(context).read_mlmodel(context["artifact_uri"])
        return None if text is None else {"mlmodel": text}

    def write(self, key: str, context: dict[str, Any], state: Any) -> None:
        if state is None:
            raise ChaosRestoreError(f"{MLMODEL}: will not delete the MLmodel file of {key}")
        Registry(context).write_mlmodel(context["artifact_uri"], state["mlmodel"])


@dataclass
class ModelVersionResource:
    """Journal resource ``mlflow.model_version``: a version a fault registered from its own logged model.

    Restore (state None) deletes the version and the logged model. A fault's own instance carries the
    tags and description the version is created with (``create``); they are not part of the state,
    so tagging the version later does not keep it from being deleted.
    """

    name: str = MODEL_VERSION
    create: dict[str, Any] = field(default_factory=dict)

    def read(self, key: str, context: dict[str, Any]) -> Any:
        model, model_id = split_key(key)
        found = Registry(context).versions_of_logged_model(model, model_id)
        return {"model_id": model_id, "source": f"models:/{model_id}"} if found else None

    def write(self, key: str, context: dict[str, Any], state: Any) -> None:
        model, model_id = split_key(key)
        registry = Registry(context)
        found = registry.versions_of_logged_model(model, model_id)
        if state is None:
            for version in found:
                registry.client.delete_model_version(model, str(version.version))
            from mlflow.exceptions import MlflowException

            with contextlib.suppress(MlflowException):
                registry.client.delete_logged_model(model_id)
        elif not found:
            registry.client.create_model_version(
                model,
                state["source"],
                model_id=model_id,
                tags=self.create.get("tags") or None,
                description=self.create.get("description") or None,
            )


register_state_resource(ALIAS, AliasResource)
register_state_resource(VERSION_META, VersionMetaResource)
register_state_resource(MLMODEL, MLmodelResource)
register_state_resource(MODEL_VERSION, ModelVersionResource)


def _constant(state: Any) -> Callable[[Any], Any]:
    return lambda _current: state


# ====================================================================== the faults
VersionRef = str | int


def _version_text(value: VersionRef | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"a version is a positive integer, got {value!r}")
    return text


class RegistryFault(Fault):
    """A fault on one registered MLflow model. Acts ``after`` the armed task (``when="before"``: before it),
    or as an ``InjectFaultOperator`` step."""

    phase = "after"
    template_fields = ("model", "tracking_uri", "registry_uri")

    model: str = Field(min_length=1, description="The registered model (templated).")
    tracking_uri: str | None = Field(
        default=None, min_length=1, description="MLflow tracking URI (templated); default: MLFLOW_TRACKING_URI."
    )
    registry_uri: str | None = Field(
        default=None, min_length=1, description="MLflow registry URI (templated); default: the tracking URI."
    )
    when: Literal["before", "after"] = Field(default="after", description="Act before or after the armed task.")

    @property
    def active_phase(self) -> Phase:
        return self.when

    def target(self) -> str:
        return f"mlflow:{self.model}"

    def before(self, ctx: FaultContext) -> None:
        self.mutate(ctx)

    def apply(self, value: Any, ctx: FaultContext) -> Any:
        self.mutate(ctx)
        return value

    def mutate(self, ctx: FaultContext) -> None:
        """Change the registry, journaled first."""
        raise NotImplementedError

    def registry(self) -> tuple[Registry, dict[str, str]]:
        context = registry_context(self.tracking_uri, self.registry_uri)
        return Registry(context), context

    def journal_state(
        self, ctx: FaultContext, resource: Any, key: str, context: dict[str, Any], transform: Callable[[Any], Any]
    ) -> str:
        """Journal, then change, one state; return the entry id and count it on ``ctx``."""
        entry = journal_of(ctx, self).change_state(resource, key, context, transform, **journal_labels(ctx))
        ctx.record(journal_entries=int(ctx.changes.get("journal_entries", 0)) + 1)
        return entry.id


class AliasedFault(RegistryFault):
    """A registry fault on the version behind ``alias`` (or on ``version`` when given)."""

    alias: str = Field(default="champion", min_length=1, description="The alias whose version is faulted.")
    version: VersionRef | None = Field(default=None, description="Fault this version instead of the alias's.")

    @field_validator("version")
    @classmethod
    def _version_ok(cls, value: VersionRef | None) -> VersionRef | None:
        _version_text(value)
        return value

    def target_version(self, registry: Registry) -> str:
        if self.version is not None:
            return str(registry.require_version(self.model, str(self.version)).version)
        found = registry.alias_version(self.model, self.alias)
        if found is None:
            raise ChaosConfigError(f"{self.kind}: field 'alias': model {self.model!r} has no alias {self.alias!r}")
        return found


class RepointAlias(RegistryFault):
    """An old version is redeployed by accident: ``alias`` now points to another version.

    ``to="previous"``: the newest version older than the one behind the alias; ``to=<version>``: that
    version; ``to="deleted"``: the alias dangles as when the version behind it is deleted (MLflow drops
    the alias silently, ``models:/<model>@<alias>`` no longer resolves). A deleted version cannot come
    back under its number, so the version itself is kept and only the alias disappears: restorable.

    Examples:
        ``InjectFaultOperator(task_id="redeploy_old", faults=[faults.RepointAlias(model="churn")])``
    """

    kind = "repoint_alias"
    signals = ("registry.version",)

    alias: str = Field(default="champion", min_length=1, description="The alias that moves.")
    to: VersionRef = Field(default="previous", description='"previous", "deleted" or a version number.')

    @field_validator("to")
    @classmethod
    def _target(cls, value: VersionRef) -> VersionRef:
        if value not in ("previous", "deleted"):
            _version_text(value)
        return value

    def new_version(self, registry: Registry, current: str) -> str | None:
        if self.to == "deleted":
            return None
        if self.to == "previous":
            older = [v for v in registry.versions(self.model) if int(v) < int(current)]
            return older[-1] if older else current
        return str(registry.require_version(self.model, str(self.to), "to").version)

    def mutate(self, ctx: FaultContext) -> None:
        registry, context = self.registry()
        current = registry.alias_version(self.model, self.alias)
        if current is None:
            raise ChaosConfigError(f"{self.kind}: field 'alias': model {self.model!r} has no alias {self.alias!r}")
        target = self.new_version(registry, current)
        ctx.record(model=self.model, alias=self.alias, from_version=current, to_version=target)
        if target == current:
            ctx.ineffective(f"alias {self.alias!r} already points to version {current} ({self.to!r})")
            return
        state = None if target is None else {"version": target}
        entry = self.journal_state(ctx, AliasResource(), f"{self.model}/{self.alias}", context, _constant(state))
        ctx.record(journal_entry=entry)


class StripMetadata(AliasedFault):
    """The version behind an alias loses its metadata, as if registered without it.

    ``what`` is any of ``signature`` and ``input_example`` (the MLmodel file is rewritten), ``tags``
    and ``description`` (the version's registry entry). The model still loads and predicts.
    """

    kind = "strip_metadata"
    signals = ("registry.metadata",)

    what: list[Metadata] = Field(
        default=list(METADATA), min_length=1, description="What to strip."
    )

    def mutate(self, ctx: FaultContext) -> None:
        registry, context = self.registry()
        version = self.target_version(registry)
        ctx.record(model=self.model, version=version, stripped=[])
        if {"tags", "description"} & set(self.what):
            self.strip_meta(ctx, registry, context, version)
        if {"signature", "input_example"} & set(self.what):
            self.strip_mlmodel(ctx, registry, context, version)
        if not ctx.changes["stripped"]:
            ctx.ineffective(f"version {version} of {self.model!r} has none of {self.what} to strip")

    def strip_meta(self, ctx: FaultContext, registry: Registry, context: dict[str, str], version: str) -> None:
        key = f"{self.model}/{version}"
        current = VersionMetaResource().read(key, context) or {"description": "", "tags": {}}
        stripped = {
            "description": "" if "description" in self.what else current["description"],
            "tags": {} if "tags" in self.what else current["tags"],
        }
        gone = [w for w in ("description", "tags") if w in self.what and current[w]]
        if gone:
            self.journal_state(ctx, VersionMetaResource(), key, context, _constant(stripped))
            ctx.record(stripped=[*ctx.changes["stripped"], *gone], tags_removed=sorted(current["tags"]) if "tags" in gone else [])

    def strip_mlmodel(self, ctx: FaultContext, registry: Registry, context: dict[str, str], version: str) -> None:
        keys = {"signature": "signature", "input_example": "saved_input_example_info"}
        artifact_context = {**context, "artifact_uri": registry.artifact_uri(self.model, version)}
        doc = registry.mlmodel_of(self.model, version)
        gone = [w for w, k in keys.items() if w in self.what and doc.get(k)]
        if not gone:
            return
        stripped = {k: v for k, v in doc.items() if k not in {keys[w] for w in gone}}
        state = {"mlmodel": dump_mlmodel(stripped)}
        self.journal_state(ctx, MLmodelResource(), f"{self.model}/{version}", artifact_context, _constant(state))
        ctx.record(stripped=[*ctx.changes["stripped"], *gone])


class ChangeSignature(AliasedFault):
    """The signature of the version behind an alias changes while the inference code does not.

    ``drop`` removes inputs, ``rename`` renames them (``{"amount": "amount_usd"}``), ``retype`` changes
    their MLflow type (boolean, integer, long, float, double, string, binary, datetime). The MLmodel
    file is rewritten; a caller that still sends the old columns fails with "Model is missing inputs".
    Column-based signatures only.
    """

    kind = "change_signature"
    signals = ("registry.metadata",)

    drop: list[str] = Field(default_factory=list, description="Inputs to remove.")
    rename: dict[str, str] = Field(default_factory=dict, description="Inputs to rename: {old: new}.")
    retype: dict[str, Literal["boolean", "integer", "long", "float", "double", "string", "binary", "datetime"]] = Field(
        default_factory=dict, description="Inputs to retype: {input: MLflow type}."
    )

    @model_validator(mode="after")
    def _some_change(self) -> ChangeSignature:
        if not (self.drop or self.rename or self.retype):
            raise ValueError("give field 'drop', field 'rename' or field 'retype' (or several)")
        return self

    def changed(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [str(i.get("name")) for i in inputs]
        for field_name, given in (("drop", self.drop), ("rename", list(self.rename)), ("retype", list(self.retype))):
            unknown = [n for n in given if n not in names]
            if unknown:
                raise ChaosConfigError(f"{self.kind}: field {field_name!r}: {unknown} not in the signature; inputs: {', '.join(names)}")
        out = []
        for item in inputs:
            name = str(item.get("name"))
            if name in self.drop:
                continue
            new = dict(item)
            new["name"] = self.rename.get(name, name)
            if name in self.retype:
                new["type"] = self.retype[name]
            out.append(new)
        return out

    def mutate(self, ctx: FaultContext) -> None:
        registry, context = self.registry()
        version = self.target_version(registry)
        doc = registry.mlmodel_of(self.model, version)
        inputs = signature_inputs(doc)
        ctx.record(model=self.model, version=version)
        if inputs is None:
            ctx.ineffective(f"version {version} of {self.model!r} has no column-based signature to change")
            return
        if any("name" not in i for i in inputs):
            raise ChaosConfigError(f"{self.kind}: version {version} of {self.model!r} has a tensor signature; a column-based one is needed")
        new_inputs = self.changed(inputs)
        ctx.record(inputs_before=[i["name"] for i in inputs], inputs_after=[i["name"] for i in new_inputs])
        if new_inputs == inputs:
            ctx.ineffective("the signature already reads as the change would leave it")
            return
        state = {"mlmodel": dump_mlmodel(with_inputs(doc, new_inputs))}
        artifact_context = {**context, "artifact_uri": registry.artifact_uri(self.model, version)}
        entry = self.journal_state(ctx, MLmodelResource(), f"{self.model}/{version}", artifact_context, _constant(state))
        ctx.record(journal_entry=entry)


class BrokenModel(RegistryFault):
    """A broken model is registered and put behind ``alias``: an inference fault at serving time.

    The new version wraps the one behind the alias (or the newest version when the alias is not set)
    and keeps its signature, tags and description, so registry checks see a well-formed version; only
    what it serves is broken:

    - ``mode="garbage"``: each prediction belongs to another row of the batch (a seeded shuffle): the
      distribution of predictions is unchanged, their quality is gone;
    - ``mode="raise"``: every call raises;
    - ``mode="slow"``: every call takes ``latency`` seconds longer.

    Restore puts the alias back, then deletes the version and its logged model. A rollback that moved
    the alias back already leaves the alias alone (it holds its original version).
    """

    kind = "broken_model"
    signals = ("model.quality", "model.predictions")

    alias: str = Field(default="challenger", min_length=1, description="The alias the broken version takes over.")
    mode: Literal["garbage", "raise", "slow"] = Field(default="garbage", description="How its predictions break.")
    latency: float = Field(default=2.0, gt=0, le=3600, description="Seconds added to every call (mode 'slow').")

    def mutate(self, ctx: FaultContext) -> None:
        registry, context = self.registry()
        wrapped = registry.alias_version(self.model, self.alias)
        if wrapped is None:
            versions = registry.versions(self.model)
            if not versions:
                raise ChaosConfigError(f"{self.kind}: field 'model': {self.model!r} has no version to wrap")
            wrapped = versions[-1]
        inner = registry.require_version(self.model, wrapped)
        model_id = self.log_broken(registry, inner, ctx)
        created = ModelVersionResource(create={"tags": {**(inner.tags or {}), CHAOS_TAG: str(ctx.labels.get("injection_id", ""))}, "description": inner.description or ""})
        state = {"model_id": model_id, "source": f"models:/{model_id}"}
        self.journal_state(ctx, created, f"{self.model}/{model_id}", context, _constant(state))
        new_version = str(registry.versions_of_logged_model(self.model, model_id)[-1].version)
        self.journal_state(ctx, AliasResource(), f"{self.model}/{self.alias}", context, _constant({"version": new_version}))
        ctx.record(model=self.model, alias=self.alias, mode=self.mode, wrapped_version=wrapped, new_version=new_version, model_id=model_id)

    def log_broken(self, registry: Registry, inner: Any, ctx: FaultContext) -> str:
        """Save the broken wrapper as a logged model of the wrapped version's experiment; return its id."""
        mlflow = mlflow_module()
        from mlflow.entities import LoggedModelStatus

        client = registry.client
        inner_dir = registry.artifact_uri(self.model, str(inner.version))
        doc = registry.mlmodel_of(self.model, str(inner.version))
        signature = _signature_of(doc)
        python_model = broken_pyfunc(self.mode, self.latency, ctx.seed)
        logged = client.create_logged_model(
            _experiment_of(client, inner), name=f"chaos-broken-{self.model}", tags={CHAOS_TAG: str(ctx.labels.get("injection_id", ""))}
        )
        with tempfile.TemporaryDirectory(prefix="chaos-broken-") as tmp, _environment(MLFLOW_LOG_UV_FILES="false"):
            path = str(Path(tmp) / "model")  # (no uv files: MLflow would copy the worker's working directory's)
            mlflow.pyfunc.save_model(
                path=path, python_model=python_model, artifacts={"inner": inner_dir}, signature=signature, pip_requirements=["mlflow"]
            )
            client.log_model_artifacts(logged.model_id, path)
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
        return str(logged.model_id)


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Environment variables MLflow reads, set for the calls inside only."""
    import os

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _signature_of(doc: Mapping[str, Any]) -> Any:
    if not doc.get("signature"):
        return None
    from mlflow.models.signature import ModelSignature

    return ModelSignature.from_dict(dict(doc["signature"]))


def _experiment_of(client: Any, version: Any) -> str:
    model_id = getattr(version, "model_id", None) or str(version.source).removeprefix("models:/")
    with contextlib.suppress(Exception):
        return str(client.get_logged_model(model_id).experiment_id)
    if version.run_id:
        return str(client.get_run(version.run_id).info.experiment_id)
    return "0"


def broken_pyfunc(mode: str, latency: float, seed: int) -> Any:
    """A pyfunc ``PythonModel`` wrapping the model in artifact ``inner`` and breaking its predictions.

    The class is built here (MLflow stays lazy) and pickled by value with the model.
    """
    base: Any = mlflow_part("pyfunc").PythonModel

    class BrokenPyfunc(base):
        def __init__(self) -> None:
            self.mode, self.latency, self.seed = mode, latency, seed

        def load_context(self, context: Any) -> None:
            import mlflow.pyfunc as pyfunc

            self.inner = pyfunc.load_model(context.artifacts["inner"])

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]  # no hints: MLflow reads them as a schema
            import time

            import numpy as np

            if self.mode == "raise":
                raise RuntimeError("broken model: inference failed (injected by airflow-chaos)")
            if self.mode == "slow":
                time.sleep(self.latency)
            predictions = np.asarray(self.inner.predict(model_input))
            if self.mode == "garbage" and len(predictions) > 1:
                return predictions[np.random.default_rng(self.seed).permutation(len(predictions))]
            return predictions

    return BrokenPyfunc()


# ====================================================================== the registry unreachable
_OUTAGE_EFFECTS: dict[str, Callable[[float], Effect]] = {
    "refused": lambda _s: Effect("unreachable"),
    "timeout": lambda s: Effect("timeout", wait_s=s),
    "5xx": lambda _s: Effect("respond", statuses=(503,)),
}


class RegistryOutage(Fault):
    """The registry is unreachable while the armed task runs (``around`` only: arm it with ``chaos()``).

    - ``http(s)://`` tracking or registry URIs: the HTTP injector faults every request to the
      server's host and port (``refused``: a connection error; ``timeout``: the request hangs up to
      the client's read timeout or ``seconds``, then times out; ``5xx``: ``503``). ``first_n``
      faults only the first N requests, so MLflow's own retries can absorb the outage.
    - database and file stores (``sqlite://``, ``postgresql://``, a path): every client lookup of the
      store in the task is pointed at a closed port on 127.0.0.1, where the same faults apply. A call
      that started faulted stays faulted through MLflow's retries; with ``first_n``, once N requests
      were faulted the next calls reach the real store.

    ``first_n_tries`` faults only the first N Airflow tries of the task (recovery through Airflow
    retries). How long a call takes to fail is the pipeline's own MLflow retry budget
    (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, ``..._BACKOFF_FACTOR``, ``..._TIMEOUT``): with MLflow's
    defaults about 250 s; ``CheckModelRegistryOperator`` reports it.
    """

    kind = "registry_outage"
    signals = ("registry.availability",)
    phase = "around"
    recoverable = True
    template_fields = ("tracking_uri", "registry_uri")

    mode: Literal["refused", "timeout", "5xx"] = Field(default="refused", description="How the registry fails.")
    first_n: int | None = Field(default=None, ge=1, strict=True, description="Fault only the first N requests.")
    first_n_tries: int | None = Field(default=None, ge=1, strict=True, description="Fault only the first N Airflow tries.")
    seconds: float = Field(default=30.0, gt=0, le=3600, description="Longest hang of a request (mode 'timeout').")
    tracking_uri: str | None = Field(default=None, min_length=1, description="MLflow tracking URI (templated).")
    registry_uri: str | None = Field(default=None, min_length=1, description="MLflow registry URI (templated).")

    def target(self) -> str:
        return "mlflow:registry"

    @contextlib.contextmanager
    def around(self, ctx: FaultContext) -> Iterator[None]:
        if past_first_tries(self.first_n_tries, ctx):
            yield
            return
        uris = sorted(set(resolve_uris(self.tracking_uri, self.registry_uri).values()))
        labels = ctx.labels
        key = (labels.get("dag_id"), labels.get("run_id"), labels.get("task_id"), labels.get("try_number"))
        rules: list[Rule] = []
        with contextlib.ExitStack() as stack:
            stores = self.arm_http([u for u in uris if _is_http(u)], ctx, key, stack, rules)
            stores += self.arm_redirect([u for u in uris if not _is_http(u)], ctx, key, stack, rules)
            try:
                yield
            finally:
                ctx.record(mode=self.mode, stores=stores, **_merged(rules))

    def rule(self, ctx: FaultContext, host: str, first_n: int | None) -> Rule:
        from airflow_chaos.faults.base import stable_seed

        return Rule(
            name=self.describe(),
            effect=_OUTAGE_EFFECTS[self.mode](self.seconds),
            seed=stable_seed(ctx.seed, "registry_outage", host, ctx.labels.get("try_number", 1)),
            host=host,
            first_n=first_n,
        )

    def arm_http(self, uris: list[str], ctx: FaultContext, key: Any, stack: contextlib.ExitStack, rules: list[Rule]) -> list[str]:
        hosts = sorted({_host_port(u) for u in uris})
        for host in hosts:
            rule = self.rule(ctx, host, self.first_n)
            rules.append(rule)
            stack.enter_context(arm(rule, key))
        return [f"http {h}" for h in hosts]

    def arm_redirect(self, uris: list[str], ctx: FaultContext, key: Any, stack: contextlib.ExitStack, rules: list[Rule]) -> list[str]:
        if not uris:
            return []
        port = stack.enter_context(_closed_port())
        rule = self.rule(ctx, f"127.0.0.1:{port}", None)
        rules.append(rule)
        stack.enter_context(arm(rule, key))
        stack.enter_context(_redirected(_Redirect(frozenset(uris), f"http://127.0.0.1:{port}", rule, self.first_n)))
        return [f"{urlsplit(u).scheme or 'file'} store -> 127.0.0.1:{port}" for u in uris]


def _is_http(uri: str) -> bool:
    return urlsplit(uri).scheme in ("http", "https")


def _host_port(uri: str) -> str:
    parts = urlsplit(uri)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def _merged(rules: list[Rule]) -> dict[str, Any]:
    """The rules' counts as one injection record (``effective`` when any request was faulted)."""
    summaries = [r.summary() for r in rules]
    by_kind: dict[str, int] = {}
    for s in summaries:
        for k, n in s["faulted_by_kind"].items():
            by_kind[k] = by_kind.get(k, 0) + n
    seen, faulted = sum(s["requests_seen"] for s in summaries), sum(s["requests_faulted"] for s in summaries)
    return {
        "requests_seen": seen,
        "requests_faulted": faulted,
        "faulted_by_kind": dict(sorted(by_kind.items())),
        "pattern": "".join(s["pattern"] for s in summaries),
        "summary": f"{faulted} of {seen} registry requests faulted",
        "effective": faulted > 0,
    }


@contextlib.contextmanager
def _closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it) but not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@dataclass(eq=False)
class _Redirect:
    """Store lookups of ``stores`` go to ``to`` until ``first_n`` requests there were faulted."""

    stores: frozenset[str]
    to: str
    rule: Rule
    first_n: int | None

    def target(self, uri: str | None) -> str | None:
        if uri not in self.stores:
            return None
        if self.first_n is not None and self.rule.faulted >= self.first_n:
            return None
        return self.to


_REDIRECTS: contextvars.ContextVar[tuple[_Redirect, ...]] = contextvars.ContextVar("airflow_chaos_mlflow", default=())
_PATCHED: dict[str, Any] = {}
_PATCH_LOCK = threading.Lock()


def _redirect_of(uri: str | None) -> str | None:
    for redirect in reversed(_REDIRECTS.get()):
        to = redirect.target(uri)
        if to is not None:
            return to
    return None


@contextlib.contextmanager
def _redirected(redirect: _Redirect) -> Iterator[None]:
    _install_redirect()
    token = _REDIRECTS.set((*_REDIRECTS.get(), redirect))
    try:
        yield
    finally:
        _REDIRECTS.reset(token)


def _install_redirect() -> None:
    """Wrap MLflow's tracking and registry store lookups once; a lookup consults ``_REDIRECTS`` (one ContextVar get)."""
    if _PATCHED:
        return
    with _PATCH_LOCK:
        if _PATCHED:
            return
        tracking_registry: Any = mlflow_part("tracking._tracking_service.registry").TrackingStoreRegistry
        model_registry: Any = mlflow_part("tracking._model_registry.registry").ModelRegistryStoreRegistry
        tracking_utils, registry_utils = mlflow_part("tracking._tracking_service.utils"), mlflow_part("tracking._model_registry.utils")
        tracking_get, registry_get = tracking_registry.get_store, model_registry.get_store

        def tracking_get_store(self: Any, store_uri: str | None = None, artifact_uri: str | None = None) -> Any:
            to = _redirect_of(tracking_utils._resolve_tracking_uri(store_uri)) if _REDIRECTS.get() else None
            return tracking_get(self, store_uri if to is None else to, artifact_uri)

        def registry_get_store(self: Any, store_uri: str | None = None, tracking_uri: str | None = None) -> Any:
            to = _redirect_of(registry_utils._resolve_registry_uri(store_uri, tracking_uri)) if _REDIRECTS.get() else None
            return registry_get(self, store_uri, tracking_uri) if to is None else registry_get(self, to, to)

        tracking_registry.get_store = tracking_get_store
        model_registry.get_store = registry_get_store
        _PATCHED.update(tracking=tracking_get, registry=registry_get)
