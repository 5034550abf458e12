"""Model-registry faults on a real MLflow registry (SQLite backend, local artifacts), without Airflow.

Each fault changes the registry through MLflow's client, journaled first; the journal's restore
(also from another process) puts the registry back as it was: aliases, tags, descriptions,
signatures and input examples compared. A state someone changed since the fault is left alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid

import pytest

from airflow_chaos import faults
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.faults.base import Fault, FaultContext
from tests.integration import mlflow_registry as reg
from tests.unit.faults.test_http import armed

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    built = reg.build(tmp_path_factory.mktemp("mlflow"))
    for name in ("repoint", "superseded", "strip", "signature", "broken", "outage"):
        reg.register(built, name, reg.data(seed=11))  # v1: an older model
        reg.register(built, name, reg.data(seed=1), alias="champion")  # v2: the champion
    reg.register(built, "broken", reg.data(seed=1), alias="challenger")  # v3: the challenger
    return built


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "journal")


def ctx_for(journal, seed=7):
    labels = {"injection_id": uuid.uuid4().hex, "dag_id": "d", "run_id": "r", "task_id": "t", "try_number": 1}
    return FaultContext(seed=seed, journal=journal, labels=labels)


def predict(registry, uri, frame=None):
    import mlflow

    mlflow.set_tracking_uri(registry.tracking_uri)
    frame = reg.data(rows=50, seed=3) if frame is None else frame
    return mlflow.pyfunc.load_model(uri).predict(frame[list(reg.FEATURES)])


# ---------------------------------------------------------------------- the models
@pytest.mark.parametrize(
    "fault",
    [
        faults.RepointAlias(model="m", to="deleted"),
        faults.RepointAlias(model="m", alias="prod", to=3, when="before"),
        faults.StripMetadata(model="m", what=["tags"], version="2"),
        faults.ChangeSignature(model="m", rename={"a": "a2"}, retype={"b": "float"}, drop=["c"]),
        faults.BrokenModel(model="m", mode="slow", latency=0.5),
        faults.RegistryOutage(mode="5xx", first_n=2, first_n_tries=1),
        faults.FlipLabels(column="label", fraction=0.3, classes=[0, 1]),
    ],
    ids=lambda f: f.kind,
)
def test_registry_faults_round_trip(fault):
    assert Fault.from_dict(json.loads(json.dumps(fault.to_dict()))) == fault


def test_signals_phases_and_targets():
    assert faults.RepointAlias.signals == ("registry.version",)
    assert faults.StripMetadata.signals == faults.ChangeSignature.signals == ("registry.metadata",)
    assert faults.RegistryOutage.signals == ("registry.availability",) and faults.RegistryOutage.recoverable
    assert faults.RegistryOutage.phase == "around"
    assert faults.BrokenModel.signals == ("model.quality", "model.predictions")
    assert faults.FlipLabels.signals == ("model.quality",)
    step = faults.RepointAlias(model="churn")
    assert step.active_phase == "after" and step.target() == "mlflow:churn"
    assert faults.RepointAlias(model="churn", when="before").active_phase == "before"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: faults.RepointAlias(model="m", to="latest"), "to"),
        (lambda: faults.RepointAlias(model="m", to=0), "to"),
        (lambda: faults.RepointAlias(model=""), "model"),
        (lambda: faults.StripMetadata(model="m", what=["weights"]), "what[0]"),
        (lambda: faults.StripMetadata(model="m", what=[]), "what"),
        (lambda: faults.StripMetadata(model="m", version="v2"), "version"),
        (lambda: faults.ChangeSignature(model="m"), "drop"),
        (lambda: faults.ChangeSignature(model="m", retype={"a": "decimal"}), "retype"),
        (lambda: faults.BrokenModel(model="m", mode="wrong"), "mode"),
        (lambda: faults.BrokenModel(model="m", latency=0), "latency"),
        (lambda: faults.RegistryOutage(mode="dns"), "mode"),
        (lambda: faults.RegistryOutage(first_n=0), "first_n"),
        (lambda: faults.RegistryOutage(first_n_tries=0), "first_n_tries"),
    ],
)
def test_invalid_parameters_name_the_field(build, field):
    with pytest.raises(ChaosConfigError, match=re.escape(f"field '{field}'")):
        build()


# ---------------------------------------------------------------------- RepointAlias
def test_repoint_to_previous_is_journaled_and_restored(registry, journal):
    before = reg.snapshot(registry, "repoint")
    ctx = ctx_for(journal)
    faults.RepointAlias(model="repoint", tracking_uri=registry.tracking_uri).apply(None, ctx)

    assert registry.client().get_model_version_by_alias("repoint", "champion").version == 1
    assert ctx.changes["from_version"] == "2" and ctx.changes["to_version"] == "1" and ctx.ineffective_reason is None
    [entry] = journal.pending()
    assert entry.resource == "mlflow.alias" and entry.path == "mlflow.alias:repoint/champion"
    assert entry.context == {"tracking_uri": registry.tracking_uri, "registry_uri": registry.tracking_uri}
    assert [r.outcome for r in journal.restore()] == ["restored"]
    assert reg.snapshot(registry, "repoint") == before


def test_repoint_deleted_leaves_the_alias_dangling_and_restorable(registry, journal):
    from mlflow.exceptions import MlflowException

    before = reg.snapshot(registry, "repoint")
    faults.RepointAlias(model="repoint", to="deleted", tracking_uri=registry.tracking_uri).apply(None, ctx_for(journal))
    assert "champion" not in registry.client().get_registered_model("repoint").aliases
    with pytest.raises(MlflowException):
        predict(registry, "models:/repoint@champion")
    assert sorted(registry.client().get_registered_model("repoint").aliases) == []
    journal.restore()
    assert reg.snapshot(registry, "repoint") == before


def test_repoint_to_the_same_version_changes_nothing(registry, journal):
    ctx = ctx_for(journal)
    faults.RepointAlias(model="repoint", to=2, tracking_uri=registry.tracking_uri).apply(None, ctx)
    assert ctx.ineffective_reason == "alias 'champion' already points to version 2 (2)"
    assert journal.pending() == []


def test_repoint_of_a_missing_alias_or_version_names_the_field(registry, journal):
    with pytest.raises(ChaosConfigError, match="field 'alias': model 'repoint' has no alias 'prod'"):
        faults.RepointAlias(model="repoint", alias="prod", tracking_uri=registry.tracking_uri).apply(None, ctx_for(journal))
    with pytest.raises(ChaosConfigError, match="field 'to': model 'repoint' has no version '9'"):
        faults.RepointAlias(model="repoint", to=9, tracking_uri=registry.tracking_uri).apply(None, ctx_for(journal))


def test_an_alias_moved_by_someone_else_since_the_fault_is_left_alone(registry, journal):
    faults.RepointAlias(model="superseded", tracking_uri=registry.tracking_uri).apply(None, ctx_for(journal))
    version = reg.register(registry, "superseded", alias="champion")  # a deployment since the fault
    assert [r.outcome for r in journal.restore()] == ["superseded"]
    assert registry.client().get_model_version_by_alias("superseded", "champion").version == int(version)


def test_restore_from_another_process_finds_the_mlflow_resources(registry, journal):
    before = reg.snapshot(registry, "repoint")
    faults.RepointAlias(model="repoint", tracking_uri=registry.tracking_uri).apply(None, ctx_for(journal))
    code = "import sys; from airflow_chaos.experiment.journal import Journal; print([r.outcome for r in Journal(sys.argv[1]).restore()])"
    done = subprocess.run([sys.executable, "-c", code, str(journal.root)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "['restored']"
    assert reg.snapshot(registry, "repoint") == before


# ---------------------------------------------------------------------- StripMetadata
def test_strip_metadata_removes_all_four_and_the_model_still_predicts(registry, journal):
    from mlflow.models import get_model_info

    before = reg.snapshot(registry, "strip")
    ctx = ctx_for(journal)
    faults.StripMetadata(model="strip", tracking_uri=registry.tracking_uri).apply(None, ctx)

    info = get_model_info("models:/strip@champion")
    version = registry.client().get_model_version("strip", "2")
    assert info.signature is None and info.saved_input_example_info is None
    assert version.tags == {} and version.description == ""
    assert sorted(ctx.changes["stripped"]) == ["description", "input_example", "signature", "tags"]
    assert ctx.changes["journal_entries"] == 2
    assert len(predict(registry, "models:/strip@champion")) == 50
    assert reg.snapshot(registry, "strip")["strip"]["versions"]["1"] == before["strip"]["versions"]["1"]  # v1 untouched

    assert sorted(r.outcome for r in journal.restore()) == ["restored", "restored"]
    assert reg.snapshot(registry, "strip") == before


def test_strip_metadata_with_nothing_to_strip_changes_nothing(registry, journal):
    fault = faults.StripMetadata(model="strip", what=["tags"], tracking_uri=registry.tracking_uri)
    fault.apply(None, ctx_for(journal))
    ctx = ctx_for(journal)
    fault.apply(None, ctx)
    assert ctx.ineffective_reason == "version 2 of 'strip' has none of ['tags'] to strip"
    journal.restore()
    assert registry.client().get_model_version("strip", "2").tags == {"quality": "passed"}


def test_an_mlmodel_rewritten_since_the_fault_is_left_alone(registry, journal):
    from mlflow.models import get_model_info

    faults.StripMetadata(model="strip", what=["signature"], tracking_uri=registry.tracking_uri).apply(None, ctx_for(journal))
    path = os.path.join(registry.client().get_model_version_download_uri("strip", "2"), "MLmodel")
    with open(path, "a") as fh:
        fh.write("metadata:\n  retrained_by: someone\n")  # someone rewrote the file since
    assert [r.outcome for r in journal.restore()] == ["superseded"]
    assert get_model_info("models:/strip/2").signature is None
    with open(path) as fh:
        assert "retrained_by: someone" in fh.read()
    # put the original back for the other tests: from the journal's kept backup
    [entry] = journal.entries()
    backup = json.loads((journal.backups_dir / entry.id).read_bytes())
    with open(path, "w") as fh:
        fh.write(backup["mlmodel"])
    assert get_model_info("models:/strip/2").signature is not None


# ---------------------------------------------------------------------- ChangeSignature
def test_changed_signature_breaks_unchanged_inference_code_until_restored(registry, journal):
    from mlflow.exceptions import MlflowException
    from mlflow.models import get_model_info

    before = reg.snapshot(registry, "signature")
    ctx = ctx_for(journal)
    faults.ChangeSignature(model="signature", rename={"a": "amount"}, tracking_uri=registry.tracking_uri).apply(None, ctx)

    inputs = get_model_info("models:/signature@champion").signature.inputs.input_names()
    assert inputs == ["amount", "b", "c"] and ctx.changes["inputs_after"] == ["amount", "b", "c"]
    with pytest.raises(MlflowException, match="missing inputs"):
        predict(registry, "models:/signature@champion")
    journal.restore()
    assert reg.snapshot(registry, "signature") == before
    assert len(predict(registry, "models:/signature@champion")) == 50


def test_change_signature_drop_and_retype(registry, journal):
    from mlflow.models import get_model_info

    faults.ChangeSignature(model="signature", drop=["c"], retype={"b": "string"}, tracking_uri=registry.tracking_uri).apply(None, ctx_for(journal))
    schema = get_model_info("models:/signature@champion").signature.inputs.to_dict()
    assert [(c["name"], c["type"]) for c in schema] == [("a", "double"), ("b", "string")]
    journal.restore()


def test_change_signature_of_an_unknown_input_names_the_field(registry, journal):
    with pytest.raises(ChaosConfigError, match=r"field 'rename': \['amount'\] not in the signature; inputs: a, b, c"):
        faults.ChangeSignature(model="signature", rename={"amount": "x"}, tracking_uri=registry.tracking_uri).apply(None, ctx_for(journal))
    assert journal.pending() == []


# ---------------------------------------------------------------------- BrokenModel
def test_broken_model_garbage_takes_over_the_alias_and_is_deleted_on_restore(registry, journal):
    import numpy as np

    before = reg.snapshot(registry, "broken")
    holdout = reg.data(rows=200, seed=5)
    good = predict(registry, "models:/broken@challenger", holdout)
    ctx = ctx_for(journal)
    faults.BrokenModel(model="broken", tracking_uri=registry.tracking_uri).apply(None, ctx)

    new = ctx.changes["new_version"]
    assert ctx.changes["wrapped_version"] == "3" and int(new) > 3
    assert registry.client().get_model_version_by_alias("broken", "challenger").version == int(new)
    version = registry.client().get_model_version("broken", new)
    assert version.tags["quality"] == "passed" and version.description == "churn classifier trained on 200 rows"
    bad = predict(registry, "models:/broken@challenger", holdout)
    assert sorted(bad) == sorted(good)  # the same predictions, for other rows
    truth = holdout[reg.LABEL].to_numpy()
    assert np.mean(good == truth) > 0.9 and np.mean(bad == truth) < 0.8

    assert [r.outcome for r in journal.restore()] == ["restored", "restored"]
    assert reg.snapshot(registry, "broken") == before
    assert sorted(int(v.version) for v in registry.client().search_model_versions("name = 'broken'")) == [1, 2, 3]


@pytest.mark.parametrize(("mode", "error"), [("raise", "broken model: inference failed"), ("slow", None)])
def test_broken_model_raise_and_slow(registry, journal, mode, error):
    faults.BrokenModel(model="broken", mode=mode, latency=0.4, tracking_uri=registry.tracking_uri).apply(None, ctx_for(journal))
    try:
        started = time.perf_counter()
        if error:
            with pytest.raises(Exception, match=error):
                predict(registry, "models:/broken@challenger")
        else:
            predict(registry, "models:/broken@challenger")
            assert time.perf_counter() - started >= 0.4
    finally:
        journal.restore()
    assert registry.client().get_model_version_by_alias("broken", "challenger").version == 3


def test_a_rolled_back_alias_is_unchanged_and_the_broken_version_still_goes(registry, journal):
    before = reg.snapshot(registry, "broken")
    faults.BrokenModel(model="broken", tracking_uri=registry.tracking_uri).apply(None, ctx_for(journal))
    registry.client().set_registered_model_alias("broken", "challenger", "3")  # the pipeline rolled back
    assert sorted(r.outcome for r in journal.restore()) == ["restored", "unchanged"]
    assert reg.snapshot(registry, "broken") == before


# ---------------------------------------------------------------------- RegistryOutage on a SQLite store
@pytest.fixture
def fast_mlflow(monkeypatch):
    from airflow_chaos.faults.registry import load_request_header_plugins

    load_request_header_plugins()  # a one-off cost of the process's first REST call, not of the outage
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")


@pytest.mark.parametrize(("mode", "message"), [("refused", "Max retries exceeded"), ("5xx", "503"), ("timeout", "timed out")])
def test_outage_of_a_sqlite_store_fails_every_call_of_the_armed_task_only(registry, fast_mlflow, mode, message):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(registry.tracking_uri)  # made before the task: still redirected
    fault = faults.RegistryOutage(mode=mode, seconds=5, tracking_uri=registry.tracking_uri)
    other: list[object] = []
    with armed(fault) as (ctx,):
        started = time.perf_counter()
        with pytest.raises(MlflowException, match=message):
            client.get_registered_model("outage")
        elapsed = time.perf_counter() - started
        worker = threading.Thread(target=lambda: other.append(MlflowClient(registry.tracking_uri).get_registered_model("outage").name))
        worker.start()
        worker.join(60)
    assert other == ["outage"]  # another thread (another task) still reaches the registry
    assert elapsed < 5
    assert ctx.changes["requests_faulted"] >= 1 and ctx.changes["effective"] is True
    assert ctx.changes["stores"][0].startswith("sqlite store -> 127.0.0.1:")
    assert client.get_registered_model("outage").name == "outage"  # the outage ends with the task


def test_outage_first_n_lets_later_calls_through(registry, fast_mlflow):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(registry.tracking_uri)
    with armed(faults.RegistryOutage(first_n=1, tracking_uri=registry.tracking_uri)) as (ctx,):
        with pytest.raises(MlflowException):
            client.get_registered_model("outage")
        assert client.get_registered_model("outage").name == "outage"
    assert ctx.changes["requests_faulted"] == 1


def test_outage_uses_the_tracking_uri_mlflow_resolves(registry, fast_mlflow, monkeypatch):
    import mlflow
    from mlflow.exceptions import MlflowException

    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry.tracking_uri)
    with armed(faults.RegistryOutage()) as (ctx,), pytest.raises(MlflowException):
        mlflow.pyfunc.load_model("models:/outage@champion")
    assert ctx.changes["effective"] is True


def test_an_outage_no_call_reached_changed_nothing(registry):
    with armed(faults.RegistryOutage(tracking_uri=registry.tracking_uri)) as (ctx,):
        pass
    assert ctx.changes["effective"] is False and ctx.changes["requests_seen"] == 0
