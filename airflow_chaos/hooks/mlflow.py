"""MlflowHook: an MLflow client from an Airflow connection (tracking URI, token in the password field)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults import registry as mlflow_registry


class MlflowHook(BaseHook):
    """Reach an MLflow tracking server and model registry: from a connection of type ``mlflow``, or from URIs.

    The connection's extra holds ``tracking_uri`` (``http://mlflow:5000``, ``sqlite:////data/mlflow.db``;
    the connection's host is used when it is empty) and optionally ``registry_uri``. Credentials stay out
    of the URIs: the password field is a bearer token (``MLFLOW_TRACKING_TOKEN``), or with a login, basic
    auth (``MLFLOW_TRACKING_USERNAME``/``PASSWORD``). MLflow reads credentials from the environment only,
    so the hook exports them into the task's process and masks them in logs. ``tracking_uri`` given
    directly wins; with neither, the default connection is used when it exists, else what MLflow
    resolves from the environment (``MLFLOW_TRACKING_URI``).

    :param mlflow_conn_id: connection id (type ``mlflow``); None: the environment only.
    :param tracking_uri: a tracking URI, instead of a connection.
    :param registry_uri: a registry URI (default: the tracking URI).
    """

    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "mlflow_default"
    conn_type = "mlflow"
    hook_name = "MLflow"

    def __init__(
        self,
        mlflow_conn_id: str | None = default_conn_name,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
    ) -> None:
        super().__init__()
        self.mlflow_conn_id = mlflow_conn_id
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri

    def _from_connection(self) -> tuple[str | None, str | None]:
        from airflow.sdk.exceptions import AirflowNotFoundException

        assert self.mlflow_conn_id is not None
        try:
            conn = self.get_connection(self.mlflow_conn_id)
        except AirflowNotFoundException:
            if self.mlflow_conn_id == self.default_conn_name:
                return None, None  # no default connection: MLflow's own environment
            raise
        extra = conn.extra_dejson
        tracking = extra.get("tracking_uri") or conn.host
        if not tracking:
            raise ChaosConfigError(f"MlflowHook: connection {self.mlflow_conn_id!r} has no 'tracking_uri' in its extra and no host")
        export_credentials(conn.login, conn.password)
        return str(tracking), extra.get("registry_uri")

    @cached_property
    def uris(self) -> dict[str, str]:
        """The tracking and registry URIs this hook reaches (resolved as MLflow resolves them)."""
        tracking, registry = self.tracking_uri, self.registry_uri
        if not tracking and self.mlflow_conn_id:
            tracking, registry = self._from_connection()
        return mlflow_registry.resolve_uris(tracking, registry or self.registry_uri)

    def get_conn(self) -> Any:
        """An ``mlflow.MlflowClient`` (MLflow is imported here, never at module import)."""
        return self.registry.client

    @cached_property
    def registry(self) -> mlflow_registry.Registry:
        return mlflow_registry.Registry(self.uris)

    # ------------------------------------------------------------------ what the checks read
    def versions(self, model: str) -> list[dict[str, Any]]:
        """``[{"version": "1", "tags": {...}}, ...]``, oldest first."""
        return [{"version": str(v.version), "tags": dict(v.tags or {})} for v in self.registry.model_versions(model)]

    def version_reading(self, model: str, version: str) -> dict[str, Any]:
        """A version's tags, description, signature inputs (None: no signature) and whether it has an input example."""
        found = self.registry.require_version(model, version)
        doc = self.registry.mlmodel_of(model, version)
        return {
            "tags": dict(found.tags or {}),
            "description": found.description or "",
            "inputs": mlflow_registry.signature_inputs(doc),
            "input_example": bool(doc.get("saved_input_example_info")),
        }

    def model_location(self, uri: str) -> tuple[str, str | None]:
        """Where the files of ``uri`` live, and the registered version it names (None: not a registered version).

        ``models:/<name>/<version>`` and ``models:/<name>@<alias>`` are resolved through this hook's
        registry (no process-wide MLflow setting changes), ``models:/<logged model id>`` through its
        tracking server; anything else (a path, ``runs:/``) is returned as it is.
        """
        if not uri.startswith("models:/"):
            return uri, None
        ref = uri.removeprefix("models:/").strip("/")
        name, at, alias = ref.rpartition("@")
        if at:
            version = self.registry.alias_version(name, alias)
            if version is None:
                raise ChaosConfigError(f"model {name!r} has no alias {alias!r} (model_uri {uri!r})")
            return self.registry.artifact_uri(name, version), version
        name, slash, version = ref.rpartition("/")
        if slash and version.isdigit():
            return self.registry.artifact_uri(name, version), version
        return str(self.registry.client.get_logged_model(ref).artifact_location), None

    def load_model(self, uri: str) -> tuple[Any, str | None]:
        """The pyfunc model at ``uri`` and the registered version it is (None: not a registered version)."""
        location, version = self.model_location(uri)
        return mlflow_registry.mlflow_module().pyfunc.load_model(location), version


def export_credentials(login: str | None, password: str | None) -> None:
    """Put a connection's credentials where MLflow reads them (the environment), masked in task logs."""
    if not password:
        return
    from airflow.sdk.log import mask_secret

    mask_secret(password)
    if login:
        os.environ["MLFLOW_TRACKING_USERNAME"] = login
        os.environ["MLFLOW_TRACKING_PASSWORD"] = password
    else:
        os.environ["MLFLOW_TRACKING_TOKEN"] = password


def mlflow_settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``MLFLOW_HTTP_REQUEST_*`` settings in ``env`` (default: this process's environment)."""
    source = os.environ if env is None else env
    return {k: v for k, v in source.items() if k.startswith("MLFLOW_HTTP_REQUEST_")}
