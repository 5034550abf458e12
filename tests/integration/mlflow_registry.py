"""A real MLflow model registry for tests: SQLite backend, local artifacts, small sklearn models.

``build`` creates one registry (per test module) with an experiment whose artifacts stay under the
registry's directory; ``register`` trains a LogisticRegression on 200 rows and registers it with an
explicit ``pip_requirements`` (logging is slow when MLflow infers them), a signature, an input
example, tags and a description. ``snapshot`` is what "the registry equals its state before" compares:
every version's aliases, tags, description, signature and input example. MLflow is imported inside
functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

FEATURES = ("a", "b", "c")
LABEL = "label"
APPROVAL = ("quality", "passed")


@dataclass(frozen=True)
class Registry:
    root: Path
    tracking_uri: str
    experiment_id: str

    def client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)


def build(root: Path) -> Registry:
    from mlflow import MlflowClient

    root.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    experiment = MlflowClient(uri).create_experiment("chaos", artifact_location=str(root / "artifacts"))
    return Registry(root, uri, str(experiment))


def data(rows: int = 200, seed: int = 1, shift: float = 0.0) -> Any:
    """Three features and a deterministic, imbalanced binary label (about 20% positives)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    frame = pd.DataFrame(x, columns=list(FEATURES))
    frame[LABEL] = ((4 * x[:, 0] - 3 * x[:, 1] + x[:, 2] - 4) > 0).astype("int64")
    if shift:
        frame["a"] = frame["a"] + shift
    return frame


def train(frame: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(frame[list(FEATURES)], frame[LABEL])


def log(registry: Registry, model: Any, frame: Any, input_example: bool = True) -> Any:
    """Log ``model`` in a run of the registry's experiment; returns the ModelInfo."""
    import mlflow
    from mlflow.models import infer_signature

    features = frame[list(FEATURES)]
    signature = infer_signature(features, model.predict(features))
    mlflow.set_tracking_uri(registry.tracking_uri)
    with mlflow.start_run(experiment_id=registry.experiment_id):
        return mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=features.head(3) if input_example else None,
            pip_requirements=["scikit-learn"],
        )


def register(
    registry: Registry,
    name: str,
    frame: Any = None,
    *,
    alias: str | None = None,
    tags: dict[str, str] | None = None,
    description: str = "churn classifier trained on 200 rows",
) -> str:
    """Train on ``frame`` (default: :func:`data`), log, register under ``name``; return the version."""
    frame = data() if frame is None else frame
    info = log(registry, train(frame), frame)
    client = registry.client()
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(
        name, info.model_uri, run_id=info.run_id, model_id=info.model_id, tags={**dict([APPROVAL]), **(tags or {})}, description=description
    )
    if alias:
        client.set_registered_model_alias(name, alias, version.version)
    return str(version.version)


def snapshot(registry: Registry, *names: str) -> dict[str, Any]:
    """Aliases, and per version: tags, description, signature inputs and whether it has an input example."""
    from mlflow.models import get_model_info

    client = registry.client()
    out: dict[str, Any] = {}
    for name in names:
        versions = {}
        for mv in client.search_model_versions(filter_string=f"name = '{name}'"):
            info = get_model_info(f"models:/{name}/{mv.version}")
            versions[str(mv.version)] = {
                "tags": dict(mv.tags),
                "description": mv.description,
                "signature": None if info.signature is None else info.signature.to_dict(),
                "input_example": info.saved_input_example_info is not None,
            }
        out[name] = {"aliases": dict(client.get_registered_model(name).aliases), "versions": versions}
    return out


# ---------------------------------------------------------------------- task bodies of the test DAGs
def promote(uri: str, name: str, alias: str = "champion") -> str:
    """A promotion step: point ``alias`` at the newest approved version (already there: a no-op)."""
    client = Registry(Path("."), uri, "").client()
    approved = [int(v.version) for v in client.search_model_versions(f"name = '{name}'") if v.tags.get(APPROVAL[0]) == APPROVAL[1]]
    version = str(max(approved))
    if str(client.get_registered_model(name).aliases.get(alias)) != version:
        client.set_registered_model_alias(name, alias, version)
    return version


def deploy(uri: str, name: str, alias: str = "champion", cached: str = "2") -> str:
    """A deployment that resolves the alias and, when the registry fails it, silently uses a cached version."""
    from mlflow.exceptions import MlflowException

    client = Registry(Path("."), uri, "").client()
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return cached  # the miss a registry check exists for


def score(uri: str, name: str, alias: str, frame: Any) -> int:
    """Serving: load the model behind the alias and predict; counts the predictions, checks nothing."""
    import mlflow

    client = Registry(Path("."), uri, "").client()
    version = client.get_model_version_by_alias(name, alias).version
    model = mlflow.pyfunc.load_model(client.get_model_version_download_uri(name, str(version)))
    return len(model.predict(frame[list(FEATURES)]))


def train_and_log(registry_root: str, uri: str, experiment_id: str, frame: Any) -> str:
    """Train on ``frame`` and log the model (not registered): its ``models:/<id>`` URI, for a quality gate."""
    info = log(Registry(Path(registry_root), uri, experiment_id), train(frame), frame, input_example=False)
    return f"models:/{info.model_id}"
