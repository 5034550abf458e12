"""Feature-store faults on a real Feast repository, through real DAG runs (``dag.test()``).

One repository (local provider, SQLite online store, file offline store, Feast's own
``driver_test_data``) is built per module; each test runs on its own copy. One feature view per
fault, so every fault runs in its own branch of one DAG:

    materialize -> (fault) -> check -> assert_detected -> restore (teardown)

Armed faults sit on the task that materializes (or ingests); step faults are
``InjectFaultOperator`` steps after a real materialization. With the relevant checks every
verdict is DETECTED; the same DAG whose branches read the features without checking them gives
SILENT for every fault. After each run the online store (served values with event timestamps)
and the registry's views equal their state before the fault.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration import feast_repo

pytestmark = pytest.mark.integration

DRIVERS = 100
ARMED = {  # view -> fault expression (armed on the task that materializes or ingests)
    "skip_view": 'faults.StaleFeatures(repo=REPO, feature_view="skip_view", mode="skip")',
    "backdate_view": 'faults.StaleFeatures(repo=REPO, feature_view="backdate_view", mode="backdate", by=timedelta(hours=36))',
    "watermark_view": 'faults.StaleFeatures(repo=REPO, feature_view="watermark_view", mode="watermark")',
    "lag_view": 'faults.FeatureLag(repo=REPO, feature_view="lag_view", by=timedelta(days=2))',
}
STEPS = {  # view -> fault expression (an InjectFaultOperator step after a real materialization)
    "overwrite_view": 'faults.StaleFeatures(repo=REPO, feature_view="overwrite_view", mode="overwrite", by=timedelta(days=2))',
    "lagged_view": 'faults.FeatureLag(repo=REPO, feature_view="lagged_view", by=timedelta(days=2), when="after")',
    "corrupt_view": 'faults.CorruptFeatures(repo=REPO, feature_view="corrupt_view", feature="conv_rate", fraction=0.25, value=50.0)',
    "skew_view": 'faults.ServingSkew(repo=REPO, feature_view="skew_view", feature="acc_rate", shift=0.5)',
    "drop_view": 'faults.DropFeature(repo=REPO, feature_view="drop_view", feature="conv_rate")',
    "mismatch_view": 'faults.FeatureVersionMismatch(repo=REPO, feature_view="mismatch_view", retype={"acc_rate": "Float64"})',
}
CHECKS = {  # view -> CheckFeaturesOperator arguments that catch its fault
    "skip_view": "presence=False",
    "backdate_view": "presence=False",
    "watermark_view": "presence=False, materialization=True",
    "lag_view": "presence=False",
    "overwrite_view": "presence=False",
    "lagged_view": "presence=False",
    "corrupt_view": 'freshness=False, presence=False, ranges={"corrupt_view:conv_rate": (0.0, 1.0)}',
    "skew_view": "freshness=False, presence=False, training_stats=STATS",
    "drop_view": 'freshness=False, required=["drop_view:conv_rate"]',
    "mismatch_view": "freshness=False, presence=False, schema=SCHEMA",
}
VIEWS = (*ARMED, *STEPS)

DAG = '''
import json
from datetime import datetime, timedelta, timezone

import pandas as pd
from airflow.sdk import dag, task

from airflow_chaos import faults
from airflow_chaos.operators import AssertDetectedOperator, ChaosRestoreOperator, CheckFeaturesOperator, InjectFaultOperator
from tests.integration import feast_repo

REPO = {repo!r}
STATS = {stats!r}
SCHEMA = {schema!r}
ENTITIES = feast_repo.entity_rows({drivers})


def now():
    return datetime.now(timezone.utc)


def check(view, checked, **kwargs):
    refs = [f"{{view}}:{{f}}" for f in feast_repo.FEATURES]
    if checked:
        return CheckFeaturesOperator(task_id=f"check_{{view}}", repo=REPO, features=refs, entity_rows=ENTITIES, **kwargs)

    @task(task_id=f"check_{{view}}")
    def read_only():  # reads what the model would read, checks nothing
        served = feast_repo.served(REPO, view, {drivers})
        return len(served["driver_id"])

    return read_only()


@dag(dag_id="feature_faults", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    checks = []
{branches}
    verdict = AssertDetectedOperator(task_id="assert_detected")
    checks >> verdict >> ChaosRestoreOperator(task_id="restore").as_teardown()


build()
'''

ARMED_BRANCH = '''
    @task.chaos(task_id="materialize_{view}", faults=[{fault}], seed=5)
    def materialize_{view}():
        feast_repo.store_of(REPO).materialize_incremental(now(), ["{view}"])

    t = materialize_{view}()
    c = check("{view}", {checked}, {check_args})
    t >> c
    checks.append(c)
'''

INGEST_BRANCH = '''
    @task.chaos(task_id="ingest_{view}", faults=[{fault}], seed=5)
    def ingest_{view}():  # a push/stream job: the newest hours of the source go straight online
        df = pd.read_parquet(REPO + "/data/driver_stats.parquet")
        df = df[df["event_timestamp"] >= df["event_timestamp"].max() - pd.Timedelta(hours=2)]
        feast_repo.store_of(REPO).write_to_online_store("{view}", df)

    t = ingest_{view}()
    c = check("{view}", {checked}, {check_args})
    t >> c
    checks.append(c)
'''

STEP_BRANCH = '''
    @task(task_id="materialize_{view}")
    def materialize_{view}():
        feast_repo.store_of(REPO).materialize_incremental(now(), ["{view}"])
        feast_repo.save_snapshot(REPO, "{view}", {drivers})

    step = InjectFaultOperator(task_id="inject_{view}", faults=[{fault}], seed=5)
    c = check("{view}", {checked}, {check_args})
    materialize_{view}() >> step >> c
    checks.append(c)
'''


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return feast_repo.build_repo(tmp_path_factory.mktemp("feast") / "golden", views=VIEWS, drivers=DRIVERS, days=3)


@pytest.fixture
def repo(golden: Path, tmp_path: Path) -> Path:
    return feast_repo.copy_repo(golden, tmp_path / "repo")


def _training_files(repo: Path) -> tuple[str, str]:
    """What training recorded: statistics of the training frame and the schema of the views it read."""
    import pandas as pd

    from airflow_chaos.checks.features import training_statistics
    from airflow_chaos.hooks.feast import FeastHook

    frame = pd.read_parquet(repo / "data" / "driver_stats.parquet")
    stats = training_statistics(frame, ["acc_rate"])
    stats_path, schema_path = repo / "training_stats.json", repo / "training_schema.json"
    stats_path.write_text(json.dumps(stats))
    schema_path.write_text(json.dumps({"mismatch_view": FeastHook(feast_conn_id=None, repo=str(repo)).view_schema("mismatch_view")}))
    return str(stats_path), str(schema_path)


def _dag_source(repo: Path, checked: bool) -> str:
    stats, schema = _training_files(repo)
    branches = []
    for view, fault in {**ARMED, **STEPS}.items():
        template = STEP_BRANCH if view in STEPS else INGEST_BRANCH if view == "lag_view" else ARMED_BRANCH
        branches.append(template.format(view=view, fault=fault, checked=checked, check_args=CHECKS[view], drivers=DRIVERS))
    return DAG.format(repo=str(repo), stats=stats, schema=schema, drivers=DRIVERS, branches="".join(branches))


def _task_of(view: str) -> str:
    return f"inject_{view}" if view in STEPS else f"ingest_{view}" if view == "lag_view" else f"materialize_{view}"


@pytest.mark.parametrize(("checked", "verdict"), [(True, "DETECTED"), (False, "SILENT")])
def test_every_feature_fault_is_detected_by_its_check_and_silent_without_it(dag_runner, chaos_on, repo, checked, verdict):
    before = feast_repo.snapshot(repo, ARMED, DRIVERS)

    result = dag_runner.run(dag_runner.write("feature_faults", _dag_source(repo, checked)), "feature_faults")

    verdicts = result.verdicts()
    assert len(verdicts) == len(VIEWS), verdicts
    assert {key.split(":")[0]: v for key, v in verdicts.items()} == {_task_of(v): verdict for v in VIEWS}, result.report
    assert result.task_states["restore"] == "success"
    for view in VIEWS:
        assert result.task_states[_task_of(view)] == "success", view
        assert result.task_states[f"check_{view}"] == ("failed" if checked else "success"), view
    # restored: the armed views equal their state before the run, the step views their state before the step
    after = feast_repo.snapshot(repo, VIEWS, DRIVERS)
    for view in ARMED:
        assert after["served"][view] == before["served"][view], view
        assert after["registry"][view] == before["registry"][view], view
    for view in STEPS:
        saved = feast_repo.load_snapshot(repo, view)
        assert after["served"][view] == saved["served"][view], view
        assert after["registry"][view] == saved["registry"][view], view


FALLBACK_DAG = '''
from datetime import datetime, timezone

from airflow.sdk import dag, task

from airflow_chaos import faults
from airflow_chaos.operators import AssertDetectedOperator, ChaosRestoreOperator, InjectFaultOperator, ValidateDataOperator
from tests.integration import feast_repo

REPO = {repo!r}
DEFAULT_CONV_RATE = 0.5


@dag(dag_id="drop_feature_fallback", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def build():
    @task
    def materialize():
        feast_repo.store_of(REPO).materialize_incremental(datetime.now(timezone.utc), ["drop_view"])

    drop = InjectFaultOperator(task_id="drop_conv_rate", faults=[faults.DropFeature(repo=REPO, feature_view="drop_view", feature="conv_rate")])

    @task
    def score():
        served = feast_repo.served(REPO, "drop_view", 20)
        out = []
        for driver, conv, acc in zip(served["driver_id"], served["conv_rate"], served["acc_rate"]):
            if {fallback} and conv is None:
                conv = DEFAULT_CONV_RATE  # the pipeline's own fallback
            out.append({{"driver_id": driver, "prediction": 0.7 * float(conv) + 0.3 * acc}})
        return out

    scored = score()
    validate = ValidateDataOperator(task_id="validate_predictions", data=scored, required_columns=["driver_id", "prediction"])
    materialize() >> drop >> scored
    validate >> AssertDetectedOperator(task_id="assert_detected", fail_on=[]) >> ChaosRestoreOperator(task_id="restore").as_teardown()


build()
'''


@pytest.mark.parametrize(("fallback", "verdict"), [(True, "RECOVERED"), (False, "FAILED_LOUDLY")])
def test_drop_feature_is_recovered_by_a_fallback_and_fails_loudly_without(dag_runner, chaos_on, repo, fallback, verdict):
    result = dag_runner.run(dag_runner.write("drop_feature_fallback", FALLBACK_DAG.format(repo=str(repo), fallback=fallback)), "drop_feature_fallback")

    assert result.verdicts() == {"drop_conv_rate:drop_feature": verdict}, result.report
    assert result.task_states["score"] == ("success" if fallback else "failed")
    assert feast_repo.served(repo, "drop_view", 20)["conv_rate"][0] is not None  # restored by the teardown
